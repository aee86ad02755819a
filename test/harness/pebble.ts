/**
 * Pebble, Let's Encrypt's ACME test server (Debian package `pebble`, /usr/bin/pebble), on loopback in 127.0.5.x.
 *
 * Its HTTPS API runs on a certificate from the test CA (test/harness/test-ca.ts): give `pebble.apiCaPem` to the
 * ACME client as its `ca_bundle`. Validation requests go to the names' addresses as answered by the DNS server
 * given (the test dnsmasq), on `httpPort` (HTTP-01) and `tlsPort` (TLS-ALPN-01): start the challenge listeners
 * first, on ephemeral ports, and pass their ports here. Certificates it issues chain to a root made fresh at each
 * start: `await pebble.issuingRootPem()` fetches it from the management API (`/roots/0`).
 *
 *   const pebble = await startPebble({ dnsServer: dns.server, httpPort, tlsPort, validitySeconds: 30 });
 *   ... pebble.directoryUrl ...
 *   await pebble.stop();   // in after()
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import type { Clock } from "../../src/core/clock.js";
import { createTestCa } from "./test-ca.js";

const PEBBLE = "/usr/bin/pebble";

export interface PebbleOptions {
  /** "address:port" of the DNS server Pebble resolves names with (`-dnsserver`). */
  readonly dnsServer: string;
  /** Port Pebble sends HTTP-01 validations to. */
  readonly httpPort: number;
  /** Port Pebble sends TLS-ALPN-01 validations to. */
  readonly tlsPort: number;
  /** Loopback address for Pebble's API (default: a random 127.0.5.x, 200-250). */
  readonly address?: string;
  /** Lifetime of issued certificates, in seconds (Pebble's default is five years). */
  readonly validitySeconds?: number;
  /** Names Pebble refuses to issue for (its `domainBlocklist`): orders naming them are rejected. */
  readonly domainBlocklist?: readonly string[];
}

export interface Pebble {
  readonly directoryUrl: string;
  readonly managementUrl: string;
  /** The test CA root that signed Pebble's API certificate (the ACME client's `ca_bundle`). */
  readonly apiCaPem: string;
  readonly apiCaPath: string;
  /** Root of the certificates Pebble issues (fetched from `/roots/0`). */
  issuingRootPem(): Promise<string>;
  /** Everything Pebble wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

function getText(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => { body += d; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout fetching ${url}`)));
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function halt(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(t);
  }
}

export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const dir = await mkdtemp(join(tmpdir(), "zion-pebble-"));
  try {
    const ca = await createTestCa(join(dir, "ca"));
    let lastErr = "";
    for (let attempt = 0; attempt < 8; attempt++) {
      const address = opts.address ?? `127.0.5.${200 + Math.floor(Math.random() * 50)}`;
      const port = 20000 + Math.floor(Math.random() * 39000);
      const mgmtPort = port + 1;
      const api = await ca.issue({ ip: [address], dns: ["pebble.test"], name: `pebble-api-${attempt}` });
      const config = {
        pebble: {
          listenAddress: `${address}:${port}`,
          managementListenAddress: `${address}:${mgmtPort}`,
          certificate: api.certPath,
          privateKey: api.keyPath,
          httpPort: opts.httpPort,
          tlsPort: opts.tlsPort,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
          ...(opts.validitySeconds !== undefined ? { certificateValidityPeriod: opts.validitySeconds } : {}),
          ...(opts.domainBlocklist ? { domainBlocklist: [...opts.domainBlocklist] } : {}),
        },
      };
      const configPath = join(dir, `pebble-config-${attempt}.json`);
      await writeFile(configPath, JSON.stringify(config, null, 2));
      const child = spawn(PEBBLE, ["-config", configPath, "-dnsserver", opts.dnsServer, "-strict=false"], {
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          PEBBLE_VA_NOSLEEP: "1",
          PEBBLE_VA_ALWAYS_VALID: "0",
          PEBBLE_WFE_NONCEREJECT: "0",
          // Renewals must prove control again, as they would at a real CA after authorizations expire.
          PEBBLE_AUTHZREUSE: "0",
        },
      });
      let out = "";
      child.stdout?.on("data", (d: Buffer) => { out += d.toString(); });
      child.stderr?.on("data", (d: Buffer) => { out += d.toString(); });
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const directoryUrl = `https://${address}:${port}/dir`;
      const managementUrl = `https://${address}:${mgmtPort}`;
      let ready = false;
      // Up to 30 s for a slow start on a loaded machine; a Pebble that cannot bind exits at once and ends the wait.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && child.exitCode === null) {
        try {
          const r = await getText(directoryUrl, ca.caCertPem);
          if (r.status === 200) { ready = true; break; }
        } catch { /* not listening yet */ }
        await sleep(50);
      }
      if (!ready) {
        await halt(child, exited);
        lastErr = out.trim();
        continue; // most likely a port in use: try another
      }
      return {
        directoryUrl,
        managementUrl,
        apiCaPem: ca.caCertPem,
        apiCaPath: ca.caCertPath,
        async issuingRootPem() {
          const r = await getText(`${managementUrl}/roots/0`, ca.caCertPem);
          if (r.status !== 200) throw new Error(`pebble /roots/0 answered ${r.status}: ${r.body}`);
          return r.body;
        },
        output: () => out,
        async stop() {
          await halt(child, exited);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    throw new Error(`pebble did not start: ${lastErr}`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers the ACME and TLS-reload tests share.


/**
 * Polls `fn` until it returns a value, 25 ms apart, for up to 30 s: generous, so that a loaded machine only makes a
 * test slower, never fails it. Throws naming `what` when it gives up.
 */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Replaces `link` with a symlink to `target` atomically (new link, then rename over the old one), as certbot does. */
export async function swapLink(link: string, target: string): Promise<void> {
  const tmp = `${link}.new`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, link);
}

/** A log that keeps every line, for assertions on what was said and why. */
export interface CollectedLine { level: "info" | "warn" | "error"; msg: string; obj: Record<string, unknown>; at: number }
export function collectingLog(echo = false) {
  const lines: CollectedLine[] = [];
  const at = (level: CollectedLine["level"]) => (obj: object, msg: string) => {
    lines.push({ level, msg, obj: obj as Record<string, unknown>, at: Date.now() });
    if (echo) console.log(level, msg, JSON.stringify(obj));
  };
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

/** The wall clock, with sleeps that do not keep a finished test process alive. */
export function unrefClock(): Clock {
  return {
    now: () => Date.now(),
    sleep: (ms) => new Promise<void>((resolve) => { setTimeout(resolve, ms).unref(); }),
  };
}

export interface PeerView {
  /** Upper-case hex, as openssl prints it. */
  readonly serial: string;
  readonly subjectaltname: string;
  readonly issuerCN: string;
  /** Subjects' CNs from the leaf up, as the client built the chain. */
  readonly chainCNs: readonly string[];
  readonly alpnProtocol: string | false;
}

/**
 * Connects with a verifying TLS client (only `ca` trusted, `servername` checked against the certificate names)
 * and returns what it saw. Rejects on any TLS or connection error.
 */
export function tlsPeer(host: string, port: number, servername: string, ca: string, alpn?: string[]): Promise<PeerView> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername, ca, ...(alpn ? { ALPNProtocols: alpn } : {}), timeout: 5000 }, () => {
      const leaf = socket.getPeerCertificate(true);
      const chainCNs: string[] = [];
      let c: PeerCertificate | undefined = leaf;
      const seen = new Set<string>();
      while (c && c.fingerprint256 && !seen.has(c.fingerprint256)) {
        seen.add(c.fingerprint256);
        chainCNs.push(String(c.subject?.CN ?? ""));
        c = (c as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
      }
      const view: PeerView = {
        serial: leaf.serialNumber.toUpperCase(),
        subjectaltname: leaf.subjectaltname ?? "",
        issuerCN: String(leaf.issuer?.CN ?? ""),
        chainCNs,
        alpnProtocol: socket.alpnProtocol ?? false,
      };
      socket.end();
      resolve(view);
    });
    socket.on("timeout", () => socket.destroy(new Error("TLS connect timed out")));
    socket.on("error", reject);
  });
}

/** A clock that moves only when told to: sleeps resolve when `advance` passes their end. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  /** How many sleeps are waiting. */
  pending(): number;
}
export function manualClock(start: number): ManualClock {
  let t = start;
  let sleepers: Array<{ at: number; resolve: () => void }> = [];
  return {
    now: () => t,
    sleep: (ms) => new Promise<void>((resolve) => { sleepers.push({ at: t + ms, resolve }); }),
    advance(ms) {
      t += ms;
      const due = sleepers.filter((s) => s.at <= t);
      sleepers = sleepers.filter((s) => s.at > t);
      for (const s of due) s.resolve();
    },
    pending: () => sleepers.length,
  };
}
