export { NodeDns } from "./dns.js";
export type { Dns, DnsResult, SrvAnswer, AddressAnswer, NodeDnsOptions } from "./dns.js";
export { IpRangePolicy, DEFAULT_IP_RANGE_BLACKLIST, ALLOW_ALL_IPS, InvalidIpRangeError, ipv6Groups } from "./ip-ranges.js";
export { orderSrv } from "./srv.js";
export { WellKnownResolver, cachePeriodMs, errorCacheMs, parseWellKnownBody } from "./well-known.js";
export type { WellKnownGet, WellKnownResult, WellKnownResponse } from "./well-known.js";
export { ServerResolver, lookupAddresses, DEFAULT_FEDERATION_PORT } from "./resolve.js";
export type { Resolution, ResolvedTarget, ResolveOutcome, ResolveOptions, ResolutionStep, ResolverDeps } from "./resolve.js";
export { httpsGetVia } from "./https-get.js";
