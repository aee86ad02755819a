/**
 * Start-up to GET /health 200, and idle RSS after start, for `zion start -c`
 * on SQLite (the targets: < 1.5 s and < 90 MB). Each run spawns the
 * real CLI on a prepared config (key and certificate exist, as after
 * generate-config) and polls /health every 5 ms; RSS is read from
 * /proc/<pid>/status after 2 s idle. Printed, never asserted.
 *
 *   npm run bench -- startup
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { generateSelfSignedCertificate, newSigningKey, writeSigningKeyFile } from "../src/app/index.js";
import { ZION_MAIN } from "../test/harness/server.js";

const RUNS = 7;
const HOST = "127.0.1.9";

function health(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: HOST, port, path: "/health", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
    });
    req.on("error", () => resolve(false));
    req.end();
  });
}

/** user + system CPU seconds the process has used (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function oneRun(dir: string, port: number, fresh: boolean, idleMs = 2000): Promise<{ ms: number; cpu: number; rss: number }> {
  const db = join(dir, "homeserver.db");
  if (fresh) for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [ZION_MAIN, "start", "-c", join(dir, "homeserver.yaml")], { stdio: "ignore" });
  try {
    while (!(await health(port))) {
      if (child.exitCode !== null) throw new Error(`zion exited with ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = cpuMs(child.pid!);
    await new Promise((r) => setTimeout(r, idleMs));
    return { ms, cpu, rss: rssMb(child.pid!) };
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)]!;
  return `median ${median.toFixed(0)}, min ${s[0]!.toFixed(0)}, max ${s[s.length - 1]!.toFixed(0)}`;
}

const dir = mkdtempSync(join(tmpdir(), "zion-bench-startup-"));
try {
  const port = 18_000 + (process.pid % 1000);
  generateSelfSignedCertificate("bench.test", join(dir, "tls.crt"), join(dir, "tls.key"), 30);
  writeSigningKeyFile(join(dir, "signing.key"), [newSigningKey()]);
  writeFileSync(
    join(dir, "homeserver.yaml"),
    stringify({
      server_name: "bench.test",
      listeners: [
        { port, bind_addresses: [HOST], type: "http", resources: [{ names: ["client"] }] },
        { port: port + 1, bind_addresses: [HOST], type: "http", tls: true, resources: [{ names: ["federation"] }] },
      ],
      tls_certificate_path: join(dir, "tls.crt"),
      tls_private_key_path: join(dir, "tls.key"),
      signing_key_path: join(dir, "signing.key"),
      database: { name: "sqlite3", args: { database: join(dir, "homeserver.db") } },
      log_level: "warn",
      trusted_key_servers: [],
    }),
  );
  console.log(`machine: ${cpus().length} CPU (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  console.log(`load average now: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")} (wall-clock figures grow with it; CPU time does not)`);
  for (const fresh of [true, false]) {
    const times: number[] = [];
    const cpu: number[] = [];
    const rss: number[] = [];
    await oneRun(dir, port, fresh); // warm the OS file cache
    for (let i = 0; i < RUNS; i++) {
      const r = await oneRun(dir, port, fresh);
      times.push(r.ms);
      cpu.push(r.cpu);
      rss.push(r.rss);
    }
    const label = fresh ? "new SQLite database (migrations run)" : "existing SQLite database";
    console.log(`${label}, ${RUNS} runs:`);
    console.log(`  spawn to /health 200, wall clock: ${stats(times)} ms (target < 1500 ms)`);
    console.log(`  CPU time (user + system) until then: ${stats(cpu)} ms`);
    console.log(`  RSS 2 s after start: ${stats(rss)} MB`);
  }
  // V8's memory reducer compacts the heap after about 30 s without activity (later on a loaded machine): the settled
  // idle figure is read a minute after start.
  const settled = await oneRun(dir, port, false, 60_000);
  console.log(`idle RSS 60 s after start (settled): ${settled.rss.toFixed(0)} MB (target < 90 MB)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
