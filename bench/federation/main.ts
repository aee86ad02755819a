/**
 * The federation benchmark (issue 16, first slice): drives a homeserver only through its client and federation APIs.
 *
 *   npm run bench:federation -- --target zion|synapse|dendrite|all [--quick] [--out DIR]
 *
 * Workload so far: *ingest*. A simulated remote (bench/federation/remote-room.ts) hosts a room; the target's local
 * user joins it over make_join / send_join; the remote then pushes transactions of 50 PDUs signed before the clock
 * starts. Measured: accepted PDUs/s, p50/p90/p99 per transaction, time until the local user's /sync has the last
 * PDU, the target's CPU seconds and peak RSS over its process tree (/proc), and the harness's own CPU.
 * Synapse and Dendrite answer "not yet" (exit 2). The report goes to bench/results/<date>-<machine>.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, hostname, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerName } from "../../src/core/ids/index.js";
import { startDnsmasq } from "../../test/harness/dnsmasq.js";
import { startFederatedZion } from "../../test/harness/federated-zion.js";
import { dnsFederationClient, testHttpsClient } from "../../test/harness/federation-client.js";
import { createTestCa } from "../../test/harness/test-ca.js";
import { RemoteRoomServer } from "./remote-room.js";

const BLOCK = "127.0.29.0/24";
const DNS_IP = "127.0.29.2";
const TARGET_IP = "127.0.29.10";
const REMOTE_IP = "127.0.29.11";
const TARGET = "target.fedbench.test";
const REMOTE = "remote1.fedbench.test";
const TXN_SIZE = 50;

interface Args { targets: string[]; quick: boolean; out: string }

function parseArgs(argv: string[]): Args {
  let target = "";
  let quick = false;
  let out = resolve(fileURLToPath(import.meta.url), "../../../../bench/results");
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--target") target = argv[++i] ?? "";
    else if (argv[i] === "--quick") quick = true;
    else if (argv[i] === "--out") out = resolve(argv[++i] ?? ".");
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  const all = ["zion", "synapse", "dendrite"];
  if (target !== "all" && !all.includes(target)) throw new Error("--target must be zion, synapse, dendrite or all");
  return { targets: target === "all" ? all : [target], quick, out };
}

/** Every pid in the tree under `root` (from /proc/<pid>/stat's ppid). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch { /* gone */ }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** utime+stime in seconds and VmRSS in bytes, summed over the tree. */
function treeUsage(root: number): { cpuS: number; rss: number } {
  const tick = 100; // USER_HZ on Linux
  let cpuS = 0;
  let rss = 0;
  for (const pid of processTree(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      cpuS += (Number(f[11]) + Number(f[12])) / tick;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) rss += Number(m[1]) * 1024;
    } catch { /* gone */ }
  }
  return { cpuS, rss };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

interface IngestResult {
  target: string; pdus: number; txns: number; seconds: number; pdusPerS: number;
  p50: number; p90: number; p99: number; syncMs: number; cpuS: number; peakRss: number; harnessCpuS: number;
}

async function jsonFetch(url: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const r = await fetch(url, init);
  const body = (await r.json()) as Record<string, unknown>;
  if (!r.ok) throw new Error(`${init.method ?? "GET"} ${url}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

async function ingestZion(quick: boolean): Promise<IngestResult> {
  const total = quick ? 1_000 : 20_000;
  const dir = mkdtempSync(join(tmpdir(), "zion-fedbench-"));
  const ca = await createTestCa(dir);
  const dns = await startDnsmasq({ a: { [TARGET]: [TARGET_IP], [REMOTE]: [REMOTE_IP] } }, { address: DNS_IP });
  const remote = new RemoteRoomServer(REMOTE, REMOTE_IP, ca);
  await remote.start();
  const https = testHttpsClient(ca.caCertPem, { requestTimeoutMs: 120_000 });
  const zion = await startFederatedZion(ca, dns, TARGET, TARGET_IP, { enable_registration: true, enable_registration_without_verification: true }, { ipRangeWhitelist: [BLOCK], timeoutMs: 30_000 });
  try {
    const base = zion.clientUrl!;
    const reg = await jsonFetch(`${base}/_matrix/client/v3/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "bench", password: "bench password 1", auth: { type: "m.login.dummy" } }) });
    const auth = { authorization: `Bearer ${String(reg["access_token"])}`, "content-type": "application/json" };
    await jsonFetch(`${base}/_matrix/client/v3/join/${encodeURIComponent(remote.roomId)}?server_name=${REMOTE}`, { method: "POST", headers: auth, body: "{}" });
    let since = String((await jsonFetch(`${base}/_matrix/client/v3/sync?timeout=0`, { headers: auth }))["next_batch"]);
    const pdus = remote.prepareMessages(total);
    const txns: (typeof pdus)[] = [];
    for (let i = 0; i < pdus.length; i += TXN_SIZE) txns.push(pdus.slice(i, i + TXN_SIZE));
    const fed = dnsFederationClient(https, REMOTE, remote.key, dns.server, [BLOCK]);
    const lastId = pdus.at(-1)!.eventId;
    const pid = zion.child!.pid!;
    const before = treeUsage(pid);
    let peakRss = before.rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, treeUsage(pid).rss)), 100);
    const harness0 = process.cpuUsage();
    const t0 = performance.now();
    // A local client long-polling /sync from before the first transaction until it sees the last PDU.
    const synced = (async () => {
      for (;;) {
        const s = await jsonFetch(`${base}/_matrix/client/v3/sync?timeout=30000&since=${encodeURIComponent(since)}`, { headers: auth });
        since = String(s["next_batch"]);
        if (JSON.stringify((s["rooms"] as Record<string, unknown> | undefined)?.["join"] ?? {}).includes(lastId)) return performance.now() - t0;
      }
    })();
    const lat: number[] = [];
    let accepted = 0;
    let n = 0;
    for (const t of txns) {
      const s = performance.now();
      const res = await fed.request({ destination: TARGET as ServerName, method: "PUT", path: `/_matrix/federation/v1/send/b${++n}`, body: { origin: REMOTE, origin_server_ts: Date.now(), pdus: t.map((p) => p.raw) } });
      lat.push(performance.now() - s);
      const results = (res.body as { pdus: Record<string, { error?: string }> }).pdus;
      accepted += t.filter((p) => results[p.eventId] && !results[p.eventId]!.error).length;
    }
    const seconds = (performance.now() - t0) / 1000;
    const syncMs = await synced;
    const harness = process.cpuUsage(harness0);
    clearInterval(sampler);
    const after = treeUsage(pid);
    peakRss = Math.max(peakRss, after.rss);
    if (accepted !== total) throw new Error(`the target accepted ${accepted} of ${total} PDUs`);
    lat.sort((a, b) => a - b);
    return {
      target: "zion", pdus: total, txns: txns.length, seconds, pdusPerS: accepted / seconds, p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99),
      syncMs, cpuS: after.cpuS - before.cpuS, peakRss, harnessCpuS: (harness.user + harness.system) / 1e6,
    };
  } finally {
    await zion.stop();
    await https.close();
    await remote.stop();
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(results: IngestResult[], notYet: string[], quick: boolean, load: number[]): string {
  const mb = (b: number) => (b / 1048576).toFixed(0);
  const lines = [
    `# Federation benchmark ${new Date().toISOString()}`, "",
    "## Machine", "",
    `- host: ${hostname()}`, `- cores: ${cpus().length} (${cpus()[0]?.model ?? "unknown"})`,
    `- load average before the run (1, 5, 15 min): ${load.map((l) => l.toFixed(2)).join(", ")}`,
    `- node: ${process.version}`, `- mode: ${quick ? "quick" : "full"}`, "",
    "## Ingest", "",
    `A simulated remote hosts a room the target's user joined over make_join / send_join, then pushes transactions of ${TXN_SIZE} PDUs signed beforehand.`, "",
    "| target | PDUs | txns | PDUs/s | p50 ms | p90 ms | p99 ms | last PDU in /sync ms | target CPU s | target peak RSS MB | harness CPU s |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...results.map((r) => `| ${r.target} | ${r.pdus} | ${r.txns} | ${r.pdusPerS.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p90.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.syncMs.toFixed(0)} | ${r.cpuS.toFixed(2)} | ${mb(r.peakRss)} | ${r.harnessCpuS.toFixed(2)} |`),
    ...notYet.map((t) => `| ${t} | not yet measured | | | | | | | | | |`), "",
    "## Not yet", "",
    "Fan-out, big join, state conflicts, client load, idle, Synapse and Dendrite targets, ratios, chart, --profile, PostgreSQL (issue 16).", "",
  ];
  return lines.join("\n");
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nusage: npm run bench:federation -- --target zion|synapse|dendrite|all [--quick] [--out DIR]\n`);
    return 2;
  }
  const notYet = args.targets.filter((t) => t !== "zion");
  if (notYet.length) process.stderr.write(`target ${notYet.join(", ")}: not yet (only zion is driven so far)\n`);
  if (!args.targets.includes("zion")) return 2;
  const load = loadavg();
  const results = [await ingestZion(args.quick)];
  mkdirSync(args.out, { recursive: true });
  const path = join(args.out, `${new Date().toISOString().slice(0, 10)}-${hostname()}.md`);
  writeFileSync(path, report(results, notYet, args.quick, load));
  process.stdout.write(`${report(results, notYet, args.quick, load)}\nwritten to ${path}\n`);
  return notYet.length ? 2 : 0;
}

process.exitCode = await main();
