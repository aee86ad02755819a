/**
 * Certificates for the TLS listeners, from files or from ACME, swapped live (see tls-reload.ts and
 * docs/certificates.md). The composition root calls, in order:
 *
 *   const certs = await prepareCertificates(config, { logger, clock });   // before binding: loads what exists
 *   ... bind listeners with certs.tlsOptions() ...
 *   await certs.attach(homeserver.tlsServers());                         // live swaps, ACME starts, SIGHUP
 *   ... certs.acmeStatus() for `zion doctor` ...
 *   await certs.stop();
 */
import { isIP } from "node:net";
import { join } from "node:path";
import type { SecureContextOptions, Server as TlsServer } from "node:tls";
import {
  AcmeManager, CERTIFICATE_FILE, PRIVATE_KEY_FILE, attachTlsAlpnChallenges, checkCertificatePair, readStatusFile,
  readStoredPair, renewalWarning, startHttpChallengeServer, type AcmeStatus, type HttpChallengeServer, type TlsAlpnRouter,
} from "../acme/index.js";
import type { Clock } from "../core/clock.js";
import type { HomeserverConfig } from "../config/index.js";
import { CertificateReloader, type TlsReloadLog } from "./tls-reload.js";

/** The TLS settings every listener shares; the certificate and key come on top. */
export const BASE_TLS_OPTIONS: SecureContextOptions = { minVersion: "TLSv1.2" };

function hostOf(hostPort: string): string {
  if (hostPort.startsWith("[")) return hostPort.slice(1, hostPort.indexOf("]"));
  return hostPort.split(":")[0]!;
}

/**
 * The names an ACME certificate covers when `acme.domains` is not given:
 *   - the federation host: the delegated host of `well_known_server` when delegation is configured, else the
 *     server name's host (what remote servers connect to and check the certificate against);
 *   - the server name's host as well when Zion itself serves /.well-known/matrix/server there;
 *   - the host of `public_baseurl` (what clients connect to).
 * IP literals are left out: ACME issues for DNS names.
 */
export function defaultAcmeDomains(config: Pick<HomeserverConfig, "server_name" | "public_baseurl" | "well_known_server" | "serve_server_wellknown">): string[] {
  const names: string[] = [];
  const serverHost = hostOf(config.server_name);
  if (config.well_known_server) names.push(hostOf(config.well_known_server));
  if (!config.well_known_server || config.serve_server_wellknown) names.push(serverHost);
  names.push(new URL(config.public_baseurl).hostname);
  return [...new Set(names.map((n) => n.toLowerCase().replace(/\.$/, "")))].filter((n) => n !== "" && isIP(n) === 0);
}

export interface CertificateOptions {
  readonly logger: TlsReloadLog;
  readonly clock: Clock;
  /** The HTTP-01 listener's address and port (default "::" and 80). */
  readonly httpChallengeHost?: string;
  readonly httpChallengePort?: number;
  /** Where the HTTP-01 listener redirects other requests (default: public_baseurl's port, else 443). */
  readonly httpsPort?: number;
}

export interface Certificates {
  /** Options to create the TLS listeners with (no certificate yet when ACME has not issued one). */
  tlsOptions(): SecureContextOptions;
  /**
   * Registers the bound TLS listeners for live swaps, then starts ACME renewals and file/SIGHUP reloads. Stops by
   * itself once every one of these listeners has closed.
   */
  attach(servers: readonly TlsServer[]): Promise<void>;
  /** ACME's state for `zion doctor` (undefined without ACME). */
  acmeStatus(): AcmeStatus | undefined;
  /** The reloader, for tests and for `zion debug`. */
  readonly reloader: CertificateReloader;
  readonly acme: AcmeManager | undefined;
  /** The HTTP-01 listener's port once attached (tests bind port 0). */
  httpChallengePort(): number | undefined;
  stop(): Promise<void>;
}

/** Loads the certificate to bind with: the configured files, or what ACME stored. Throws when files are bad. */
export async function prepareCertificates(config: HomeserverConfig, opts: CertificateOptions): Promise<Certificates> {
  const acmeConfig = config.acme?.enabled ? config.acme : undefined;
  const log = opts.logger;
  let reloader: CertificateReloader;
  let acme: AcmeManager | undefined;
  if (acmeConfig) {
    if (config.tls_certificate_path || config.tls_private_key_path) {
      log.warn({}, "acme.enabled: tls_certificate_path and tls_private_key_path are ignored; ACME provides the certificate");
    }
    const storageDir = acmeConfig.storage_dir ?? join(config.config_dir, "acme");
    reloader = new CertificateReloader({
      certPath: join(storageDir, CERTIFICATE_FILE), keyPath: join(storageDir, PRIVATE_KEY_FILE), log, baseOptions: BASE_TLS_OPTIONS,
    });
    const domains = acmeConfig.domains && acmeConfig.domains.length > 0 ? acmeConfig.domains : defaultAcmeDomains(config);
    const r = reloader;
    acme = new AcmeManager({
      directoryUrl: acmeConfig.directory_url,
      ...(acmeConfig.contact_email ? { contactEmail: acmeConfig.contact_email } : {}),
      domains,
      challenge: acmeConfig.challenge,
      accountKeyPath: acmeConfig.account_key_path ?? join(storageDir, "account.key"),
      storageDir,
      ...(acmeConfig.ca_bundle ? { caBundlePath: acmeConfig.ca_bundle } : {}),
      clock: {
        now: () => opts.clock.now(),
        // Real sleeps of at most a minute that never keep a stopped server's process alive; the manager re-reads
        // now() after each, so an injected clock that jumps is noticed within a minute.
        sleep: (ms) => new Promise<void>((resolve) => { setTimeout(resolve, Math.min(ms, 60_000)).unref(); }),
      },
      log,
      onCertificate: (pair) => r.install(pair, "acme"),
    });
    await acme.load();
    if (!reloader.current()) log.warn({ domains }, "acme: no certificate yet; TLS handshakes fail until the first one is issued");
  } else {
    if (!config.tls_certificate_path || !config.tls_private_key_path) {
      return withoutTls();
    }
    reloader = new CertificateReloader({
      certPath: config.tls_certificate_path, keyPath: config.tls_private_key_path, log, baseOptions: BASE_TLS_OPTIONS,
    });
    const first = await reloader.reloadFromFiles("startup");
    if (!first.ok) throw new Error(`tls_certificate_path / tls_private_key_path: ${first.reason}`);
  }

  let http: HttpChallengeServer | undefined;
  const routers: TlsAlpnRouter[] = [];
  const manager = acme;
  const rl = reloader;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await manager?.stop();
    await http?.close();
    for (const r of routers) r.detach();
    rl.close();
  };
  return {
    reloader,
    acme,
    tlsOptions: () => rl.secureContextOptions(),
    async attach(servers) {
      for (const s of servers) rl.attach(s);
      // When every listener has closed (the server stopped), stop renewals, the HTTP-01 listener and the watchers.
      let open = servers.length;
      for (const s of servers) s.once("close", () => { if (--open === 0) void stop(); });
      rl.watchFiles();
      rl.reloadOnSighup();
      if (!manager || !acmeConfig) return;
      if (acmeConfig.challenge === "tls-alpn-01") {
        for (const s of servers) routers.push(attachTlsAlpnChallenges(s, manager.responder));
      } else {
        const base = new URL(config.public_baseurl);
        const listen = (host: string) => startHttpChallengeServer({
          host,
          port: opts.httpChallengePort ?? 80,
          responder: manager.responder,
          httpsPort: opts.httpsPort ?? (base.port ? Number(base.port) : 443),
        });
        // "::" is dual-stack; on a host without IPv6 fall back to IPv4 only.
        http = opts.httpChallengeHost !== undefined
          ? await listen(opts.httpChallengeHost)
          : await listen("::").catch((err: NodeJS.ErrnoException) => {
              if (err.code === "EAFNOSUPPORT" || err.code === "EADDRNOTAVAIL") return listen("0.0.0.0");
              throw err;
            });
        log.info({ port: http.port }, "acme: HTTP-01 listener up (challenges and a redirect to HTTPS only)");
      }
      await manager.start();
    },
    acmeStatus: () => manager?.status(),
    httpChallengePort: () => http?.port,
    stop,
  };

  function withoutTls(): Certificates {
    const idle = new CertificateReloader({ log, baseOptions: BASE_TLS_OPTIONS });
    return {
      reloader: idle,
      acme: undefined,
      tlsOptions: () => idle.secureContextOptions(),
      attach: async () => undefined,
      acmeStatus: () => undefined,
      httpChallengePort: () => undefined,
      stop: async () => idle.close(),
    };
  }
}

/** What `zion doctor` shows about ACME, read from storage_dir (the server writes status.json after each attempt). */
export interface AcmeDoctorView {
  readonly storageDir: string;
  readonly certificate?: { readonly serial: string; readonly dnsNames: readonly string[]; readonly notAfter: number };
  readonly consecutiveFailures: number;
  readonly lastError?: string;
  readonly nextAttemptAt?: number;
  /** Set when renewal keeps failing with fewer than 14 days left, when there is no certificate, or when it expired. */
  readonly warning?: string;
}

/** Reads the ACME state of a configured server from disk (undefined when ACME is off). Never throws. */
export async function readAcmeDoctorView(config: HomeserverConfig, now: number): Promise<AcmeDoctorView | undefined> {
  if (!config.acme?.enabled) return undefined;
  const storageDir = config.acme.storage_dir ?? join(config.config_dir, "acme");
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const pair = await readStoredPair(storageDir, quiet).catch(() => undefined);
  const verdict = pair ? checkCertificatePair(pair.certPem, pair.keyPem) : undefined;
  const info = verdict?.ok ? verdict.info : undefined;
  const raw = (await readStatusFile(storageDir)) as Partial<AcmeStatus> | undefined;
  const failures = typeof raw?.consecutiveFailures === "number" ? raw.consecutiveFailures : 0;
  const lastError = typeof raw?.lastError === "string" ? raw.lastError : undefined;
  let warning: string | undefined;
  if (!info) {
    warning = verdict && !verdict.ok ? `the stored certificate is unusable: ${verdict.reason}` : "no certificate has been obtained yet";
    if (lastError) warning += `; last attempt: ${lastError}`;
  } else if (info.notAfter <= now) {
    warning = `the certificate expired on ${new Date(info.notAfter).toISOString()}${lastError ? `; last renewal error: ${lastError}` : ""}`;
  } else if (renewalWarning(now, info.notAfter, failures, 14)) {
    const days = ((info.notAfter - now) / 86_400_000).toFixed(1);
    warning = `certificate renewal has failed ${failures} time(s) and the certificate expires in ${days} days${lastError ? `: ${lastError}` : ""}`;
  }
  return {
    storageDir,
    ...(info ? { certificate: { serial: info.serial, dnsNames: info.dnsNames, notAfter: info.notAfter } } : {}),
    consecutiveFailures: failures,
    ...(lastError ? { lastError } : {}),
    ...(typeof raw?.nextAttemptAt === "number" ? { nextAttemptAt: raw.nextAttemptAt } : {}),
    ...(warning ? { warning } : {}),
  };
}
