/**
 * Federation wiring: homeserver.yaml -> discovery, TLS, keys and transport (src/federation/), so the server, the
 * `zion debug resolve` / `keys` commands and the tests run the same code with the same settings.
 *
 *   dns_servers                                    -> NodeDns (the system's resolvers when absent)
 *   ip_range_blacklist / ip_range_whitelist        -> IpRangePolicy (Synapse's default blacklist when absent)
 *   federation_verify_certificates, federation_certificate_verification_whitelist,
 *   federation_custom_ca_list, federation_client_minimum_tls_version -> TlsPolicy
 *   federation_enabled, federation_domain_whitelist -> FederationClient (outbound) and the authenticator (inbound)
 *   trusted_key_servers                            -> KeyRing notaries
 *   signing key, old_signing_keys, key_refresh_interval -> our key response (also served as a notary)
 */
import { readFileSync } from "node:fs";
import type { FederationAuth } from "../api/http/index.js";
import { buildServerKeys } from "../api/index.js";
import type { HomeserverConfig } from "../config/index.js";
import type { Clock } from "../core/clock.js";
import type { Metrics } from "../core/metrics.js";
import type { SigningKey } from "../core/crypto/index.js";
import type { ServerName } from "../core/ids/index.js";
import { DEFAULT_IP_RANGE_BLACKLIST, IpRangePolicy, NodeDns, ServerResolver, WellKnownResolver, httpsGetVia } from "../federation/discovery/index.js";
import { KeyRing, type TrustedKeyServer } from "../federation/keys/key-ring.js";
import { KeyNotary } from "../federation/keys/notary.js";
import { HttpsClient } from "../federation/tls/https-client.js";
import { TlsPolicy, isMinimumTlsVersion, type MinimumTlsVersion } from "../federation/tls/policy.js";
import { createAuthenticator } from "../federation/transport/authenticate.js";
import { FederationClient } from "../federation/transport/client.js";
import type { KeyStore } from "../storage/ports.js";

/** The config keys discovery and TLS read (a slice, so tools can pass a partial config). */
export type DiscoveryConfig = Partial<Pick<
  HomeserverConfig,
  | "dns_servers" | "ip_range_blacklist" | "ip_range_whitelist" | "federation_verify_certificates"
  | "federation_certificate_verification_whitelist" | "federation_custom_ca_list" | "federation_client_minimum_tls_version"
>>;

export interface Discovery {
  readonly dns: NodeDns;
  readonly ipPolicy: IpRangePolicy;
  readonly tlsPolicy: TlsPolicy;
  readonly https: HttpsClient;
  readonly wellKnown: WellKnownResolver;
  readonly resolver: ServerResolver;
}

function minimumTls(v: string | undefined): MinimumTlsVersion | undefined {
  if (v === "1.0") return "1";
  return isMinimumTlsVersion(v) ? v : undefined;
}

/** Resolution and HTTPS exactly as the server configures them. */
export function createDiscovery(config: DiscoveryConfig, clock: Clock, opts: { timeoutMs?: number } = {}): Discovery {
  const dns = new NodeDns(config.dns_servers && config.dns_servers.length > 0 ? { servers: config.dns_servers } : {});
  const ipPolicy = new IpRangePolicy(config.ip_range_blacklist ?? DEFAULT_IP_RANGE_BLACKLIST, config.ip_range_whitelist ?? []);
  const caPems = (config.federation_custom_ca_list ?? []).map((p) => readFileSync(p, "utf8"));
  const min = minimumTls(config.federation_client_minimum_tls_version);
  const tlsPolicy = new TlsPolicy({
    verifyCertificates: config.federation_verify_certificates ?? true,
    verificationWhitelist: config.federation_certificate_verification_whitelist ?? [],
    ...(caPems.length > 0 ? { customCaPems: caPems } : {}),
    ...(min ? { minimumTlsVersion: min } : {}),
  });
  const https = new HttpsClient(tlsPolicy, opts.timeoutMs !== undefined ? { connectTimeoutMs: opts.timeoutMs, requestTimeoutMs: opts.timeoutMs } : {});
  const wellKnown = new WellKnownResolver(httpsGetVia(dns, ipPolicy, https), clock, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {});
  const resolver = new ServerResolver({ dns, wellKnown, clock, ipPolicy });
  return { dns, ipPolicy, tlsPolicy, https, wellKnown, resolver };
}

export interface FederationServices extends Discovery {
  readonly client: FederationClient;
  readonly keyRing: KeyRing;
  readonly notary: KeyNotary;
  /** What `startHomeserver` hands the HTTP layer for `auth: "x-matrix"` routes. */
  readonly auth: FederationAuth;
  /** Route dependencies: the notary endpoints' `keyNotary`, and `federationClient` for handlers that call out. */
  readonly deps: { readonly keyNotary: KeyNotary; readonly federationClient: FederationClient };
  close(): Promise<void>;
}

export interface FederationInputs {
  readonly keys: KeyStore;
  readonly signingKeys: readonly SigningKey[];
  readonly clock: Clock;
  /** An inbound request from `origin` was verified (the sender's early wake-up). */
  readonly onVerified?: (origin: ServerName) => void;
  /** Outbound request and key-fetch counters (app/metrics.ts); none when metrics are off. */
  readonly metrics?: Metrics;
  /** The time one remote key request may take (default the key ring's KEY_FETCH_TIMEOUT_MS; tests shorten it). */
  readonly keyFetchTimeoutMs?: number;
}

export function trustedKeyServers(config: Pick<HomeserverConfig, "trusted_key_servers">): TrustedKeyServer[] {
  return config.trusted_key_servers.map((t) => ({
    serverName: t.server_name as ServerName,
    ...(t.verify_keys && Object.keys(t.verify_keys).length > 0 ? { verifyKeys: t.verify_keys } : {}),
  }));
}

export function createFederation(config: HomeserverConfig, inputs: FederationInputs): FederationServices {
  const discovery = createDiscovery(config, inputs.clock);
  const signingKey = inputs.signingKeys[0];
  if (!signingKey) throw new Error("federation needs at least one signing key");
  const serverName = config.server_name;
  const client = new FederationClient({
    serverName, signingKey, resolver: discovery.resolver, https: discovery.https,
    federationEnabled: config.federation_enabled,
    ...(config.federation_domain_whitelist !== undefined ? { domainWhitelist: config.federation_domain_whitelist } : {}),
    ...(inputs.metrics ? { metrics: inputs.metrics } : {}),
  });
  const keyRing = new KeyRing({
    store: inputs.keys, client, clock: inputs.clock,
    own: { serverName, signingKeys: inputs.signingKeys, oldVerifyKeys: config.old_signing_keys },
    trustedKeyServers: trustedKeyServers(config),
    ...(inputs.metrics ? { metrics: inputs.metrics } : {}),
    ...(inputs.keyFetchTimeoutMs !== undefined ? { fetchTimeoutMs: inputs.keyFetchTimeoutMs } : {}),
  });
  const identity = {
    serverName, signingKeys: inputs.signingKeys, oldVerifyKeys: config.old_signing_keys, keyRefreshIntervalMs: config.key_refresh_interval,
  };
  const notary = new KeyNotary({
    keyRing, clock: inputs.clock, serverName, signingKeys: inputs.signingKeys, ownServerKeys: (now) => buildServerKeys(identity, now),
  });
  const whitelist = config.federation_domain_whitelist ? new Set(config.federation_domain_whitelist.map((d) => d.toLowerCase())) : undefined;
  const authenticate = createAuthenticator({
    serverName, keyRing, federationEnabled: config.federation_enabled,
    ...(whitelist ? { originAllowed: (o: ServerName) => whitelist.has(o.toLowerCase()) } : {}),
    ...(inputs.onVerified ? { onVerified: inputs.onVerified } : {}),
  });
  return {
    ...discovery,
    client,
    keyRing,
    notary,
    auth: { authenticate: (r) => authenticate({ method: r.method, uri: r.uri, authorization: r.authorization, body: r.body }) },
    deps: { keyNotary: notary, federationClient: client },
    close: () => discovery.https.close(),
  };
}

/** For tools (`zion debug resolve` / `keys`): the trace that keeps every step, and a throwaway key cache. */
export { RecordingTrace } from "../federation/trace.js";
export type { TraceStep } from "../federation/trace.js";
export { MemoryKeyStore } from "../federation/keys/memory-key-store.js";
