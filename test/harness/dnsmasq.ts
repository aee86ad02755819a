/**
 * A real DNS server for tests: Debian's dnsmasq (`/usr/sbin/dnsmasq`, package dnsmasq-base) on a loopback address
 * in 127.0.3.x and an unprivileged port, answering only from the records a test gives it.
 *
 * Everything under `.test` is local: names without records get NXDOMAIN, names with some records but not the type
 * asked get NODATA. Domains listed in `refused` answer REFUSED (a DNS error that is not "not found").
 *
 *   const dns = await startDnsmasq({ a: { "hs1.test": ["127.0.2.1"] },
 *                                    srv: [{ name: "_matrix-fed._tcp.hs1.test", target: "hs1.test", port: 8448 }] });
 *   resolver.setServers([dns.server]);        // or dns_servers: [dns.server] in a homeserver config
 *   await dns.setRecords({ ... });            // restarts dnsmasq on the same address and port
 *   await dns.stop();                         // in after()
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Resolver } from "node:dns/promises";

export interface SrvRecord {
  /** Full owner name, e.g. "_matrix-fed._tcp.hs1.test". */
  readonly name: string;
  readonly target: string;
  readonly port: number;
  readonly priority?: number;
  readonly weight?: number;
}

export interface DnsRecords {
  /** name -> IPv4 addresses. */
  readonly a?: Readonly<Record<string, readonly string[]>>;
  /** name -> IPv6 addresses. */
  readonly aaaa?: Readonly<Record<string, readonly string[]>>;
  readonly srv?: readonly SrvRecord[];
  /** alias -> target (the target must itself have records here). */
  readonly cname?: Readonly<Record<string, string>>;
  /** Domains (and their subdomains) that answer REFUSED. */
  readonly refused?: readonly string[];
  /** Domains answered locally besides `.test` (dnsmasq's `local=/domain/`): NXDOMAIN/NODATA, never forwarded. */
  readonly local?: readonly string[];
}

export interface Dnsmasq {
  readonly address: string;
  readonly port: number;
  /** "address:port", the form `Resolver.setServers` and `dns_servers` take. */
  readonly server: string;
  /** Replaces every record (restarts the process on the same address and port). */
  setRecords(records: DnsRecords): Promise<void>;
  /** A resolver aimed at this server (for checks in tests). */
  resolver(): Resolver;
  stop(): Promise<void>;
}

const DNSMASQ = "/usr/sbin/dnsmasq";

function renderConfig(r: DnsRecords): string {
  const lines: string[] = [];
  for (const [name, ips] of Object.entries(r.a ?? {})) for (const ip of ips) lines.push(`host-record=${name},${ip}`);
  for (const [name, ips] of Object.entries(r.aaaa ?? {})) for (const ip of ips) lines.push(`host-record=${name},${ip}`);
  for (const s of r.srv ?? []) {
    lines.push(`srv-host=${s.name},${s.target},${s.port},${s.priority ?? 0},${s.weight ?? 0}`);
  }
  for (const [alias, target] of Object.entries(r.cname ?? {})) lines.push(`cname=${alias},${target}`);
  for (const d of r.refused ?? []) lines.push(`server=/${d}/#`);
  for (const d of r.local ?? []) lines.push(`local=/${d}/`);
  return lines.join("\n") + "\n";
}

interface Running { child: ChildProcess; exited: Promise<void> }

// Every dnsmasq still running when this process exits (a test that forgot stop(), or an uncaught error) is
// killed then, so none outlives its test file. kill() is synchronous, as an "exit" handler needs.
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

async function launch(confPath: string, address: string, port: number): Promise<Running> {
  const child = spawn(DNSMASQ, [
    "-k", "--conf-file=/dev/null", `--conf-file=${confPath}`, `--port=${port}`, `--listen-address=${address}`,
    "--bind-interfaces", "--no-resolv", "--no-hosts", "--local=/test/", "--cache-size=0", "--log-facility=-",
    "--pid-file=",
    // As root dnsmasq would switch to "nobody"; stay as we are so it can be stopped and its files removed.
    ...(process.getuid?.() === 0 ? ["--user=root"] : []),
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => { live.delete(child); resolve(); }));
  // dnsmasq prints "started" once it is listening; a bind failure makes it exit.
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    const onData = () => {
      if (stderr.includes("started")) { clearTimeout(timer); resolve(true); }
    };
    child.stderr?.on("data", onData);
    void exited.then(() => { clearTimeout(timer); resolve(false); });
  });
  if (!ready || child.exitCode !== null) {
    child.kill("SIGKILL");
    await exited;
    throw new Error(`dnsmasq did not start on ${address}:${port}: ${stderr.trim()}`);
  }
  return { child, exited };
}

async function halt(r: Running): Promise<void> {
  if (r.child.exitCode === null && r.child.signalCode === null) {
    r.child.kill("SIGTERM");
    const t = setTimeout(() => r.child.kill("SIGKILL"), 2000);
    await r.exited;
    clearTimeout(t);
  }
}

/**
 * Starts dnsmasq. `address` defaults to a random 127.0.3.x; the port is random in 20000-59999 and retried on a
 * bind failure, so two test files running at once do not collide.
 */
export async function startDnsmasq(records: DnsRecords = {}, opts: { address?: string; port?: number } = {}): Promise<Dnsmasq> {
  const dir = await mkdtemp(join(tmpdir(), "zion-dnsmasq-"));
  const confPath = join(dir, "records.conf");
  await writeFile(confPath, renderConfig(records));
  let running: Running | undefined;
  let address = "";
  let port = 0;
  let lastErr: unknown;
  for (let attempt = 0; attempt < 10 && !running; attempt++) {
    address = opts.address ?? `127.0.3.${2 + Math.floor(Math.random() * 250)}`;
    port = opts.port ?? 20000 + Math.floor(Math.random() * 40000); // a fixed port: 53 for resolvers that cannot take another
    try {
      running = await launch(confPath, address, port);
    } catch (err) {
      lastErr = err;
    }
  }
  if (!running) {
    await rm(dir, { recursive: true, force: true });
    throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
  }
  let current: Running | undefined = running;
  const server = `${address}:${port}`;
  return {
    address,
    port,
    server,
    async setRecords(r) {
      await writeFile(confPath, renderConfig(r));
      if (current) await halt(current);
      current = undefined;
      // The port was ours a moment ago; retry briefly in case the kernel has not released it yet.
      for (let i = 0; ; i++) {
        try {
          current = await launch(confPath, address, port);
          return;
        } catch (err) {
          if (i >= 20) throw err;
          await new Promise((res) => setTimeout(res, 50));
        }
      }
    },
    resolver() {
      const res = new Resolver({ timeout: 1000, tries: 1 });
      res.setServers([server]);
      return res;
    },
    async stop() {
      if (current) await halt(current);
      current = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
