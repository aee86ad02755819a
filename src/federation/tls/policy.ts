/**
 * The TLS policy for outbound federation, from homeserver.yaml:
 *   federation_verify_certificates                  (default true)
 *   federation_certificate_verification_whitelist   (Synapse glob syntax: '*' any run of characters, '?' one)
 *   federation_custom_ca_list                       (PEM files whose CAs replace the system's trust store)
 *   federation_client_minimum_tls_version           ("1", "1.1", "1.2" or "1.3"; default "1")
 */
import type { SecureVersion } from "node:tls";

export type MinimumTlsVersion = "1" | "1.1" | "1.2" | "1.3";

export interface TlsPolicyOptions {
  readonly verifyCertificates?: boolean;
  readonly verificationWhitelist?: readonly string[];
  /** PEM texts of the CA certificates to trust instead of the system's (each may hold several certificates). */
  readonly customCaPems?: readonly string[];
  readonly minimumTlsVersion?: MinimumTlsVersion;
}

const VERSIONS: Record<MinimumTlsVersion, SecureVersion> = { "1": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2", "1.3": "TLSv1.3" };

export function isMinimumTlsVersion(v: unknown): v is MinimumTlsVersion {
  return typeof v === "string" && Object.hasOwn(VERSIONS, v);
}

/** Synapse's glob_to_regex without word boundaries: '*' is any run (dots included), '?' one character. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (const ch of glob) {
    if (ch === "*") re += ".*?";
    else if (ch === "?") re += ".";
    else re += ch.replace(/[.+^${}()|[\]\\/-]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "i");
}

export class TlsPolicy {
  readonly verify: boolean;
  readonly minVersion: SecureVersion;
  /** Undefined: the system's (node's bundled) CAs. */
  readonly ca: readonly string[] | undefined;
  private readonly whitelist: readonly RegExp[];
  readonly whitelistGlobs: readonly string[];

  constructor(opts: TlsPolicyOptions = {}) {
    this.verify = opts.verifyCertificates ?? true;
    this.minVersion = VERSIONS[opts.minimumTlsVersion ?? "1"];
    this.ca = opts.customCaPems && opts.customCaPems.length > 0 ? [...opts.customCaPems] : undefined;
    this.whitelistGlobs = [...(opts.verificationWhitelist ?? [])];
    this.whitelist = this.whitelistGlobs.map(globToRegExp);
  }

  /** Whether certificates presented for `tlsName` are checked (chain, validity and name). */
  verifies(tlsName: string): boolean {
    if (!this.verify) return false;
    return !this.whitelist.some((re) => re.test(tlsName));
  }
}
