/**
 * The ACME certificate manager: loads the stored certificate, obtains one when there is none (or it no longer
 * covers the configured names), renews at two thirds of the lifetime, retries failures with jittered exponential
 * back-off, and warns when renewal keeps failing close to expiry. Every certificate it loads or obtains goes to
 * `onCertificate` (the live-reload manager swaps it into every TLS listener).
 *
 * Time comes from the injected Clock; sleeps are taken in chunks of at most ten minutes and re-checked, so a
 * long wait never overflows a timer and a clock that jumps is noticed.
 */
import { readFile } from "node:fs/promises";
import type { Clock } from "../core/clock.js";
import { checkCertificatePair, coversAll, type CertificateInfo } from "./certificate.js";
import { ChallengeResponder } from "./challenges.js";
import type { AcmeOptions, CertificatePair } from "./options.js";
// order.ts pulls in acme-client (~25 MB resident): loaded on first use, so servers without ACME never pay for it.
const order = (): Promise<typeof import("./order.js")> => import("./order.js");
import { nextOrderAt, renewalDueAt, renewalWarning, retryDelay } from "./schedule.js";
import { loadOrCreateAccountKey, readStatusFile, readStoredPair, writeStatusFile, writeStoredPair } from "./storage.js";

const MAX_SLEEP_CHUNK_MS = 10 * 60_000;

/** What `zion doctor` and the logs read. Times are milliseconds since the epoch. */
export interface AcmeStatus {
  readonly domains: readonly string[];
  readonly challenge: string;
  readonly directoryUrl: string;
  readonly certificate?: {
    readonly serial: string;
    readonly dnsNames: readonly string[];
    readonly notBefore: number;
    readonly notAfter: number;
    readonly issuer: string;
  };
  /** When the current certificate is due for renewal (two thirds of its lifetime). */
  readonly renewAt?: number;
  readonly lastSuccessAt?: number;
  readonly lastAttemptAt?: number;
  readonly lastError?: string;
  readonly consecutiveFailures: number;
  readonly nextAttemptAt?: number;
  /** Set when renewal keeps failing and the certificate expires within `warnDays` (or there is none). */
  readonly warning?: string;
}

export type RenewOutcome =
  | { ok: true; info: CertificateInfo }
  | { ok: false; reason: string };

export class AcmeManager {
  readonly responder = new ChallengeResponder();
  readonly #opts: AcmeOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  #current: { pair: CertificatePair; info: CertificateInfo } | undefined;
  #failures = 0;
  #lastError: string | undefined;
  #lastAttemptAt: number | undefined;
  #lastSuccessAt: number | undefined;
  #nextAttemptAt: number | undefined;
  #running: Promise<RenewOutcome> | undefined;
  #loop: Promise<void> | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #accountKey: string | undefined;
  /** Set when the stored certificate came from another directory (e.g. staging before production). */
  #otherDirectory = false;
  readonly #listeners = new Set<(e: RenewOutcome) => void>();

  constructor(opts: AcmeOptions) {
    if (opts.domains.length === 0) throw new Error("acme: no domains to obtain a certificate for");
    this.#opts = opts;
    this.#clock = opts.clock;
    this.#random = opts.random ?? Math.random;
  }

  /** The certificate being served, if any. */
  current(): CertificatePair | undefined {
    return this.#current?.pair;
  }

  /**
   * Loads the stored certificate (handing it to `onCertificate` when it parses and matches its key) and starts
   * the renewal loop. Resolves once the stored certificate is loaded, not when a new one is issued: listen with
   * `onRenewal` for that.
   */
  async start(): Promise<void> {
    await this.load();
    this.#loop ??= this.#runLoop();
  }

  /**
   * Reads the account key (creating it) and the stored certificate, handing a good one to `onCertificate`, without
   * starting the renewal loop: the app loads before binding its listeners and starts once they are bound (a
   * TLS-ALPN-01 validation needs the TLS listener up). Idempotent.
   */
  async load(): Promise<void> {
    if (this.#accountKey !== undefined) return;
    const caPem = this.#opts.caBundlePem ?? (this.#opts.caBundlePath ? await readFile(this.#opts.caBundlePath, "utf8") : undefined);
    if (caPem) (await order()).trustForDirectory(this.#opts.directoryUrl, caPem);
    this.#accountKey = await loadOrCreateAccountKey(this.#opts.accountKeyPath, this.#opts.log);
    const stored = await readStoredPair(this.#opts.storageDir, this.#opts.log);
    if (stored) {
      const verdict = checkCertificatePair(stored.certPem, stored.keyPem);
      if (!verdict.ok) {
        this.#opts.log.warn({ storageDir: this.#opts.storageDir, reason: verdict.reason }, "acme: stored certificate refused; ordering a new one");
      } else {
        this.#install(stored, verdict.info, "stored");
        const previous = (await readStatusFile(this.#opts.storageDir)) as { directoryUrl?: unknown } | undefined;
        if (typeof previous?.directoryUrl === "string" && previous.directoryUrl !== this.#opts.directoryUrl) {
          this.#otherDirectory = true;
          this.#opts.log.info({ was: previous.directoryUrl, now: this.#opts.directoryUrl }, "acme: the stored certificate is from another ACME directory; ordering a new one");
        }
      }
    }
  }

  /** Stops the renewal loop (an order already under way finishes). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    await this.#running?.catch(() => undefined);
  }

  /** Subscribes to the outcome of every renewal attempt; returns the unsubscribe function. */
  onRenewal(fn: (e: RenewOutcome) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Orders a certificate now (one at a time: a second call while one runs gets the same outcome). */
  renewNow(): Promise<RenewOutcome> {
    this.#running ??= this.#attempt().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  status(): AcmeStatus {
    const now = this.#clock.now();
    const info = this.#current?.info;
    const warn = renewalWarning(now, info?.notAfter, this.#failures, this.#opts.warnDays ?? 14);
    return {
      domains: this.#opts.domains,
      challenge: this.#opts.challenge,
      directoryUrl: this.#opts.directoryUrl,
      ...(info
        ? {
            certificate: { serial: info.serial, dnsNames: info.dnsNames, notBefore: info.notBefore, notAfter: info.notAfter, issuer: info.issuer },
            renewAt: renewalDueAt(info.notBefore, info.notAfter),
          }
        : {}),
      ...(this.#lastSuccessAt !== undefined ? { lastSuccessAt: this.#lastSuccessAt } : {}),
      ...(this.#lastAttemptAt !== undefined ? { lastAttemptAt: this.#lastAttemptAt } : {}),
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      consecutiveFailures: this.#failures,
      ...(this.#nextAttemptAt !== undefined ? { nextAttemptAt: this.#nextAttemptAt } : {}),
      ...(warn ? { warning: this.#warningText(now, info?.notAfter) } : {}),
    };
  }

  #warningText(now: number, notAfter: number | undefined): string {
    const why = this.#lastError ?? "unknown error";
    if (notAfter === undefined) return `no certificate yet for ${this.#opts.domains.join(", ")}: ${this.#failures} attempt(s) failed, last: ${why}`;
    const days = Math.max(0, (notAfter - now) / 86_400_000);
    const when = notAfter <= now ? "has expired" : `expires in ${days.toFixed(1)} days`;
    return `certificate renewal has failed ${this.#failures} time(s) and the certificate ${when}: ${why}`;
  }

  /** Best effort: the doctor reads it; a full disk must not stop renewals. */
  async #saveStatus(): Promise<void> {
    try {
      await writeStatusFile(this.#opts.storageDir, { ...this.status(), writtenAt: this.#clock.now() });
    } catch (err) {
      this.#opts.log.warn({ storageDir: this.#opts.storageDir, err: err instanceof Error ? err.message : String(err) }, "acme: cannot write status.json");
    }
  }

  #install(pair: CertificatePair, info: CertificateInfo, source: "stored" | "issued"): void {
    this.#current = { pair, info };
    const verdict = this.#opts.onCertificate?.(pair);
    if (verdict && typeof verdict === "object" && (verdict as { ok?: unknown }).ok === false) {
      this.#opts.log.error({ source, serial: info.serial, reason: (verdict as { reason?: unknown }).reason }, "acme: the listeners refused the certificate");
    }
    this.#opts.log.info(
      { source, serial: info.serial, dnsNames: info.dnsNames, notAfter: new Date(info.notAfter).toISOString(), renewAt: new Date(renewalDueAt(info.notBefore, info.notAfter)).toISOString() },
      source === "stored" ? "acme: loaded the stored certificate" : "acme: obtained a new certificate",
    );
  }

  async #attempt(): Promise<RenewOutcome> {
    const o = this.#opts;
    this.#lastAttemptAt = this.#clock.now();
    let outcome: RenewOutcome;
    try {
      o.log.info({ domains: o.domains, challenge: o.challenge, directoryUrl: o.directoryUrl }, "acme: ordering a certificate");
      const pair = await (await order()).orderCertificate({
        directoryUrl: o.directoryUrl,
        accountKeyPem: this.#accountKey ?? (await loadOrCreateAccountKey(o.accountKeyPath, o.log)),
        ...(o.contactEmail ? { contactEmail: o.contactEmail } : {}),
        domains: o.domains,
        challenge: o.challenge,
        responder: this.responder,
        log: o.log,
        pollMinMs: o.pollMinMs ?? 1000,
        pollMaxMs: o.pollMaxMs ?? 10_000,
      });
      const verdict = checkCertificatePair(pair.certPem, pair.keyPem);
      if (!verdict.ok) throw new Error(`the CA's certificate is unusable: ${verdict.reason}`);
      if (!coversAll(verdict.info.dnsNames, o.domains)) {
        throw new Error(`the CA's certificate names ${verdict.info.dnsNames.join(", ")} do not cover ${o.domains.join(", ")}`);
      }
      await writeStoredPair(o.storageDir, pair);
      this.#failures = 0;
      this.#otherDirectory = false;
      this.#lastError = undefined;
      this.#lastSuccessAt = this.#clock.now();
      this.#install(pair, verdict.info, "issued");
      outcome = { ok: true, info: verdict.info };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.#failures++;
      this.#lastError = reason;
      const notAfter = this.#current?.info.notAfter;
      o.log.error(
        { domains: o.domains, failures: this.#failures, reason, keptSerial: this.#current?.info.serial },
        this.#current ? "acme: certificate renewal failed; the current certificate stays in service" : "acme: obtaining a certificate failed",
      );
      if (renewalWarning(this.#clock.now(), notAfter, this.#failures, o.warnDays ?? 14)) {
        o.log.warn({ domains: o.domains, failures: this.#failures }, `acme: ${this.#warningText(this.#clock.now(), notAfter)}`);
      }
      outcome = { ok: false, reason };
    }
    await this.#saveStatus();
    for (const fn of this.#listeners) fn(outcome);
    return outcome;
  }

  /** The loop: sleep until due (or until the retry time after a failure), attempt, repeat. */
  async #runLoop(): Promise<void> {
    while (!this.#stopped) {
      const info = this.#current?.info;
      const keep = info && coversAll(info.dnsNames, this.#opts.domains) && !this.#otherDirectory;
      const retryMinMs = this.#opts.retryMinMs ?? 60_000;
      const retryAt =
        this.#failures > 0 && this.#lastAttemptAt !== undefined
          ? this.#lastAttemptAt + retryDelay(this.#failures, this.#random, retryMinMs, this.#opts.retryMaxMs ?? 6 * 3_600_000)
          : undefined;
      const at = nextOrderAt({
        dueAt: keep ? renewalDueAt(info.notBefore, info.notAfter) : this.#clock.now(),
        retryAt,
        lastSuccessAt: this.#lastSuccessAt,
        minIntervalMs: retryMinMs,
        keepCurrent: keep === true,
      });
      this.#nextAttemptAt = at;
      await this.#saveStatus();
      while (!this.#stopped && this.#clock.now() < at) {
        await this.#sleep(Math.min(at - this.#clock.now(), MAX_SLEEP_CHUNK_MS));
      }
      if (this.#stopped) break;
      await this.renewNow();
    }
    this.#nextAttemptAt = undefined;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      void this.#clock.sleep(ms).then(resolve, resolve);
    }).finally(() => {
      this.#wake = undefined;
    });
  }
}
