/**
 * Live certificate reload for every TLS listener. A new certificate and key are swapped in with
 * `server.setSecureContext()`: connections already open keep their session, new handshakes get the new pair,
 * nothing is closed. Sources of a new pair:
 *   - ACME renewal (the AcmeManager's `onCertificate` calls `install`),
 *   - the files behind `tls_certificate_path` / `tls_private_key_path` changing (certbot and friends replace them,
 *     often by swapping symlinks, so their directories are watched and events are debounced),
 *   - SIGHUP (re-read the files).
 * A pair that does not parse or whose key is not the certificate's is refused with a log line; the old pair stays.
 */
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createSecureContext, type SecureContextOptions, type Server } from "node:tls";
import { checkCertificatePair, type CertificateInfo, type PairVerdict } from "../acme/certificate.js";
import type { CertificatePair } from "../acme/options.js";

export interface TlsReloadLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface CertificateReloaderOptions {
  /** `tls_certificate_path` (chain, leaf first) and `tls_private_key_path`; omit both when ACME supplies the pair. */
  readonly certPath?: string;
  readonly keyPath?: string;
  readonly log: TlsReloadLog;
  /** Everything else the listeners' secure context uses (ciphers, minVersion, ...), kept on every swap. */
  readonly baseOptions?: SecureContextOptions;
  /** Quiet time after the last file event before reading the files (default 300 ms). */
  readonly debounceMs?: number;
}

export type ReloadSource = "startup" | "acme" | "file change" | "SIGHUP" | "manual";

export class CertificateReloader {
  readonly #opts: CertificateReloaderOptions;
  readonly #servers = new Set<Server>();
  #current: { pair: CertificatePair; info: CertificateInfo } | undefined;
  #watchers: FSWatcher[] = [];
  #debounce: NodeJS.Timeout | undefined;
  #sighup: (() => void) | undefined;
  #reloading: Promise<PairVerdict> | undefined;
  #reloadAgain = false;
  #swaps = 0;

  constructor(opts: CertificateReloaderOptions) {
    if ((opts.certPath === undefined) !== (opts.keyPath === undefined)) {
      throw new Error("tls_certificate_path and tls_private_key_path must be given together");
    }
    this.#opts = opts;
  }

  /** The pair being served (undefined until one is installed). */
  current(): (CertificatePair & { info: CertificateInfo }) | undefined {
    return this.#current ? { ...this.#current.pair, info: this.#current.info } : undefined;
  }

  /** How many times a new pair replaced the one being served. */
  get swaps(): number {
    return this.#swaps;
  }

  /** Options for `tls.createServer` / `https.createServer`: the base options plus the current pair (if any). */
  secureContextOptions(): SecureContextOptions {
    return { ...this.#opts.baseOptions, ...(this.#current ? { cert: this.#current.pair.certPem, key: this.#current.pair.keyPem } : {}) };
  }

  /** Registers a listener: it gets the current pair now and every later one. Returns the function to unregister. */
  attach(server: Server): () => void {
    this.#servers.add(server);
    if (this.#current) server.setSecureContext(this.secureContextOptions());
    return () => this.#servers.delete(server);
  }

  /**
   * Checks a pair and, when good, swaps it into every attached listener. Refusal leaves the old pair in place and
   * is logged with the reason.
   */
  install(pair: CertificatePair, source: ReloadSource): PairVerdict {
    const verdict = checkCertificatePair(pair.certPem, pair.keyPem);
    if (!verdict.ok) {
      this.#opts.log.error({ source, reason: verdict.reason, keptSerial: this.#current?.info.serial }, "tls: new certificate refused; keeping the current one");
      return verdict;
    }
    const options = { ...this.#opts.baseOptions, cert: pair.certPem, key: pair.keyPem };
    try {
      createSecureContext(options); // what the listeners will do; fails on e.g. an unsupported key type
    } catch (err) {
      const reason = `TLS refused the pair: ${err instanceof Error ? err.message : String(err)}`;
      this.#opts.log.error({ source, reason, keptSerial: this.#current?.info.serial }, "tls: new certificate refused; keeping the current one");
      return { ok: false, reason };
    }
    const previous = this.#current?.info;
    if (previous && previous.fingerprint256 === verdict.info.fingerprint256 && this.#current?.pair.keyPem === pair.keyPem) {
      return verdict; // nothing changed (e.g. a touch, or a second event for the same swap)
    }
    this.#current = { pair, info: verdict.info };
    for (const server of this.#servers) server.setSecureContext(options);
    if (previous) this.#swaps++;
    this.#opts.log.info(
      {
        source, serial: verdict.info.serial, previousSerial: previous?.serial, dnsNames: verdict.info.dnsNames,
        notAfter: new Date(verdict.info.notAfter).toISOString(), listeners: this.#servers.size,
      },
      previous ? "tls: certificate swapped on every listener" : "tls: certificate installed",
    );
    return verdict;
  }

  /** Reads the configured files and installs them (refusing a bad pair). Concurrent calls are coalesced. */
  reloadFromFiles(source: ReloadSource): Promise<PairVerdict> {
    if (this.#reloading) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      let verdict: PairVerdict;
      do {
        this.#reloadAgain = false;
        verdict = await this.#readAndInstall(source);
      } while (this.#reloadAgain);
      return verdict;
    })().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #readAndInstall(source: ReloadSource): Promise<PairVerdict> {
    const { certPath, keyPath } = this.#opts;
    if (certPath === undefined || keyPath === undefined) return { ok: false, reason: "no certificate files configured" };
    let pair: CertificatePair;
    try {
      const [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
      pair = { certPem, keyPem };
    } catch (err) {
      const reason = `cannot read the certificate files: ${err instanceof Error ? err.message : String(err)}`;
      this.#opts.log.error({ source, certPath, keyPath, reason, keptSerial: this.#current?.info.serial }, "tls: new certificate refused; keeping the current one");
      return { ok: false, reason };
    }
    // The watched directory often holds other files too (a SQLite database beside the certificate writes on every
    // commit): files that read back the same as the pair being served change nothing, so they are not parsed again.
    const current = this.#current;
    if (current && current.pair.certPem === pair.certPem && current.pair.keyPem === pair.keyPem) return { ok: true, info: current.info };
    return this.install(pair, source);
  }

  /**
   * Watches the directories holding the certificate and key (not the files: certbot swaps symlinks, editors and
   * `mv` replace inodes) and reloads after `debounceMs` of quiet.
   */
  watchFiles(): void {
    const { certPath, keyPath } = this.#opts;
    if (certPath === undefined || keyPath === undefined || this.#watchers.length > 0) return;
    const dirs = new Set([dirname(resolve(certPath)), dirname(resolve(keyPath))]);
    for (const dir of dirs) {
      const w = watch(dir, { persistent: false }, () => this.#scheduleReload());
      w.on("error", (err) => this.#opts.log.warn({ dir, err: err.message }, "tls: watching the certificate directory failed"));
      this.#watchers.push(w);
    }
  }

  #scheduleReload(): void {
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.reloadFromFiles("file change");
    }, this.#opts.debounceMs ?? 300);
    this.#debounce.unref();
  }

  /** Re-reads the files on SIGHUP. */
  reloadOnSighup(): void {
    if (this.#sighup) return;
    this.#sighup = () => {
      this.#opts.log.info({}, "tls: SIGHUP received; re-reading the certificate files");
      void this.reloadFromFiles("SIGHUP");
    };
    process.on("SIGHUP", this.#sighup);
  }

  close(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = undefined;
    if (this.#sighup) process.removeListener("SIGHUP", this.#sighup);
    this.#sighup = undefined;
    this.#servers.clear();
  }
}
