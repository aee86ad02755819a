/**
 * A FederationClient for tests that talk to servers named by IP literal (no DNS: the resolver's DNS points at a
 * closed port), trusting the test CA, with `allowedRanges` let through the IP-range policy.
 */
import type { Clock } from "../../src/core/clock.js";
import type { SigningKey } from "../../src/core/crypto/index.js";
import type { ServerName } from "../../src/core/ids/index.js";
import { DEFAULT_IP_RANGE_BLACKLIST, IpRangePolicy, NodeDns, ServerResolver, WellKnownResolver, httpsGetVia } from "../../src/federation/discovery/index.js";
import { HttpsClient } from "../../src/federation/tls/https-client.js";
import { TlsPolicy } from "../../src/federation/tls/policy.js";
import { FederationClient, type FederationClientOptions } from "../../src/federation/transport/client.js";

const clock: Clock = { now: () => Date.now(), sleep: async () => {} };

/** The HTTPS client trusting `caPem` (close it after the test). */
export function testHttpsClient(caPem: string, opts: { requestTimeoutMs?: number } = {}): HttpsClient {
  return new HttpsClient(new TlsPolicy({ customCaPems: [caPem] }), { connectTimeoutMs: 2000, requestTimeoutMs: opts.requestTimeoutMs ?? 3000 });
}

export function ipLiteralFederationClient(
  https: HttpsClient, serverName: string, signingKey: SigningKey, allowedRanges: readonly string[],
  extra: Partial<Pick<FederationClientOptions, "federationEnabled" | "domainWhitelist">> = {},
): FederationClient {
  const ipPolicy = new IpRangePolicy(DEFAULT_IP_RANGE_BLACKLIST, [...allowedRanges]);
  const dns = new NodeDns({ servers: ["127.0.0.1:1"], timeoutMs: 200, tries: 1 });
  const resolver = new ServerResolver({ dns, wellKnown: new WellKnownResolver(httpsGetVia(dns, ipPolicy, https), clock), clock, ipPolicy });
  return new FederationClient({ serverName: serverName as ServerName, signingKey, resolver, https, ...extra });
}

/** A FederationClient for tests that resolve server names through a test DNS server (e.g. dnsmasq's `server`). */
export function dnsFederationClient(https: HttpsClient, serverName: string, signingKey: SigningKey, dnsServer: string, allowedRanges: readonly string[]): FederationClient {
  const ipPolicy = new IpRangePolicy(DEFAULT_IP_RANGE_BLACKLIST, [...allowedRanges]);
  const dns = new NodeDns({ servers: [dnsServer], timeoutMs: 1000, tries: 1 });
  const resolver = new ServerResolver({ dns, wellKnown: new WellKnownResolver(httpsGetVia(dns, ipPolicy, https), clock), clock, ipPolicy });
  return new FederationClient({ serverName: serverName as ServerName, signingKey, resolver, https });
}
