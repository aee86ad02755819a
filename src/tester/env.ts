/**
 * Builds the tester's environment. Without a configuration: the system's DNS
 * and CAs, no IP-range policy (the operator asked for this server), and
 * certificate verification on. With `-c homeserver.yaml`: exactly what that
 * server would use: its dns_servers, federation_custom_ca_list,
 * federation_verify_certificates and its whitelist, minimum TLS version,
 * ip_range_blacklist/whitelist and federation_domain_whitelist.
 */
import { readFileSync } from "node:fs";
import type { HomeserverConfig } from "../config/index.js";
import type { Clock } from "../core/clock.js";
import { ALLOW_ALL_IPS, DEFAULT_IP_RANGE_BLACKLIST, IpRangePolicy, NodeDns } from "../federation/discovery/index.js";
import { TlsPolicy, isMinimumTlsVersion } from "../federation/tls/policy.js";
import { parseSigningKeyFile } from "../core/crypto/index.js";
import type { FederationTestEnv, TesterIdentity } from "./federation-test.js";
import { reachBackVia } from "./reach-back.js";

export interface StandaloneOptions {
  /** "ip:port" DNS servers (default: the system's). */
  readonly dnsServers?: readonly string[];
  /** Extra CA PEM texts to trust instead of the system's. */
  readonly caPems?: readonly string[];
  readonly timeoutMs?: number;
}

export function standaloneEnv(clock: Clock, opts: StandaloneOptions = {}): FederationTestEnv {
  return {
    dns: new NodeDns(opts.dnsServers ? { servers: opts.dnsServers } : {}),
    ipPolicy: ALLOW_ALL_IPS,
    tlsPolicy: new TlsPolicy(opts.caPems && opts.caPems.length ? { customCaPems: opts.caPems } : {}),
    clock,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  };
}

export function envFromConfig(
  config: HomeserverConfig, clock: Clock, extra: { reachBack?: TesterIdentity["reachBack"]; timeoutMs?: number } = {},
): FederationTestEnv {
  const base = baseFromConfig(config, clock, extra.timeoutMs);
  // Our identity: the signing key the server signs with, for the signed request to the target.
  let reachBack = extra.reachBack;
  if (!reachBack) {
    try {
      const [signingKey] = parseSigningKeyFile(readFileSync(config.signing_key_path, "utf8"));
      if (!signingKey) throw new Error(`${config.signing_key_path} holds no key`);
      reachBack = reachBackVia(base, {
        ourName: config.server_name, signingKey, federationEnabled: config.federation_enabled,
        ...(config.federation_domain_whitelist !== undefined ? { whitelist: config.federation_domain_whitelist } : {}),
      });
    } catch (err) {
      const reason = (err as Error).message;
      reachBack = async () => ({ ok: false, detail: `cannot sign a request: our signing key is unusable (${reason})`, fix: "Fix signing_key_path (see `zion doctor`)." });
    }
  }
  const identity: TesterIdentity = {
    serverName: config.server_name,
    publicBaseUrl: config.public_baseurl,
    ...(config.federation_domain_whitelist !== undefined ? { whitelist: config.federation_domain_whitelist } : {}),
    reachBack,
  };
  return { ...base, identity };
}

/** The DNS the server uses: its dns_servers, or the system's resolvers. */
export function dnsFromConfig(config: HomeserverConfig): NodeDns {
  return new NodeDns(config.dns_servers && config.dns_servers.length ? { servers: config.dns_servers } : {});
}

function baseFromConfig(config: HomeserverConfig, clock: Clock, timeoutMs: number | undefined): FederationTestEnv {
  const caPems = (config.federation_custom_ca_list ?? []).map((p) => readFileSync(p, "utf8"));
  const minimumTlsVersion = isMinimumTlsVersion(config.federation_client_minimum_tls_version)
    ? config.federation_client_minimum_tls_version
    : config.federation_client_minimum_tls_version === "1.0" ? "1" : undefined;
  return {
    dns: dnsFromConfig(config),
    ipPolicy: new IpRangePolicy(config.ip_range_blacklist ?? DEFAULT_IP_RANGE_BLACKLIST, config.ip_range_whitelist),
    tlsPolicy: new TlsPolicy({
      verifyCertificates: config.federation_verify_certificates,
      verificationWhitelist: config.federation_certificate_verification_whitelist,
      ...(caPems.length ? { customCaPems: caPems } : {}),
      ...(minimumTlsVersion ? { minimumTlsVersion } : {}),
    }),
    clock,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
}
