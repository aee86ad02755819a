/**
 * The plain options the ACME layer takes. The app maps the `acme:` section of homeserver.yaml onto these
 * (enabled, directory_url, contact_email, domains, challenge, account_key_path, storage_dir, ca_bundle).
 */
import type { Clock } from "../core/clock.js";

export type AcmeChallengeType = "http-01" | "tls-alpn-01";

/** The slice of a pino logger the ACME layer writes to (a pino logger satisfies it). */
export interface AcmeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A certificate chain (leaf first) and its private key, both PEM. */
export interface CertificatePair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface AcmeOptions {
  /** RFC 8555 directory URL (config `directory_url`), e.g. Let's Encrypt's production directory. */
  readonly directoryUrl: string;
  /** Account contact (config `contact_email`); sent as a `mailto:` URL. */
  readonly contactEmail?: string;
  /** Names the certificate must cover (config `domains`); the first is the subject common name. */
  readonly domains: readonly string[];
  /** Config `challenge`. */
  readonly challenge: AcmeChallengeType;
  /** Config `account_key_path`: the account's private key, created (mode 0600) when missing. */
  readonly accountKeyPath: string;
  /** Config `storage_dir`: where the issued certificate and its key are kept (mode 0600). */
  readonly storageDir: string;
  /** Config `ca_bundle`: extra trusted roots (PEM file) for talking to a private ACME server. */
  readonly caBundlePath?: string;
  /** The same as PEM text, when the caller already read it. */
  readonly caBundlePem?: string;
  readonly clock: Clock;
  /** Uniform [0, 1) source for retry jitter; Math.random when omitted. */
  readonly random?: () => number;
  readonly log: AcmeLog;
  /**
   * Receives every certificate this manager loads or obtains (the live-reload manager installs it on every TLS
   * listener). Returning `{ ok: false, reason }` means the pair was refused; the manager logs it.
   */
  readonly onCertificate?: (pair: CertificatePair) => unknown;
  /** First retry delay after a failed renewal (default 60 s); doubles per failure up to `retryMaxMs`. */
  readonly retryMinMs?: number;
  /** Longest retry delay (default 6 h). */
  readonly retryMaxMs?: number;
  /** Warn when renewal keeps failing and the certificate expires within this many days (default 14). */
  readonly warnDays?: number;
  /** Polling of order/challenge status at the ACME server: first delay (default 1000 ms) and cap (default 10 s). */
  readonly pollMinMs?: number;
  readonly pollMaxMs?: number;
}
