/**
 * The federation benchmark (issue 16): Zion, Synapse and Dendrite side by side on the same workloads, in the same
 * run, driven only through their client and federation APIs.
 *
 *   npm run bench:federation -- --target zion|synapse|dendrite|all [--quick] [--profile] [--out DIR] [--net 127.0.34]
 *     [--workload ingest,fanout,client-load,conflicts,big-join,idle] [--keep] [--postgres | --postgres-only]
 *
 * 20 simulated remote homeservers (bench/federation/remote-room.ts) on 127.0.34.11-30 (the targets on .2-.4; `--net`
 * moves the whole run to another loopback /24, so two runs on one machine do not collide), trusted through the test CA,
 * share one room hosted by the first of them. For each target in turn: start it (bench/federation/targets.ts), let
 * a local user join that room, then run ingest, fan-out and client load (bench/federation/workloads.ts), state
 * conflicts and the big joins (bench/federation/state-workloads.ts; the big rooms are signed once, before the first
 * target starts) and idle, reading the target's CPU seconds and peak RSS over its process tree from /proc, and stop it. The Markdown report and its
 * chart (SVG, vega-lite) go to bench/results/<date>-<machine>.md/.svg. `--profile` runs Zion under `--cpu-prof` and
 * saves the profile beside the report. `--target` also takes a comma-separated list. Exit code 0 when every
 * workload ran on every target, 1 when one failed (the report says which), 2 on bad arguments. `--workload` runs only
 * the named workloads (comma-separated; idle needs big-join; the report leaves the others out); `--keep` leaves the
 * run's folder (each target's data and log, e.g. <tmp>/zion-fedbench-XXXX/dendrite/dendrite.log) in place and names it.
 * `--postgres` then runs each target again on PostgreSQL (a fresh database of one private server,
 * test/harness/postgres.ts), ingest and fan-out only (issue 16's "scale"), reported beside the SQLite rows;
 * `--postgres-only` makes only those PostgreSQL runs (to run beside, or after, a full SQLite run).
 */
import { execSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { testHttpsClient } from "../../test/harness/federation-client.js";
import { createTestCa } from "../../test/harness/test-ca.js";
import { renderChart, type ChartRow } from "./chart.js";
import { meter, treeUsage } from "./measure.js";
import { RemoteRoom, RemoteServer } from "./remote-room.js";
import { renderReport, runLabel, type TargetRun } from "./report.js";
import { startTarget, TARGET_NAMES, type DatabaseKind, type Target, type TargetName } from "./targets.js";
import { startTestPostgres, type TestPostgres } from "../../test/harness/postgres.js";
import { bigJoin, buildBigRoom, buildConflictRoom, conflictShape, stateConflicts } from "./state-workloads.js";
import { clientLoad, fanout, FULL, ingest, joinRemoteRoom, QUICK } from "./workloads.js";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");
const REMOTES = 20;
const TARGET_HOST: Record<TargetName, number> = { zion: 2, synapse: 3, dendrite: 4 };

/** The workloads `--workload` may name; without it every one runs. */
export const WORKLOADS = ["ingest", "fanout", "client-load", "conflicts", "big-join", "idle"] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

interface Args { targets: TargetName[]; quick: boolean; profile: boolean; out: string; net: string; workloads: ReadonlySet<WorkloadName>; keep: boolean; postgres: boolean; sqlite: boolean }

/** The workloads a PostgreSQL run takes (issue 16: "the same ingest and fan-out on PostgreSQL"). */
const POSTGRES_WORKLOADS: readonly WorkloadName[] = ["ingest", "fanout"];

export function parseArgs(argv: readonly string[]): Args {
  let target = "";
  let quick = false;
  let profile = false;
  let out = join(ROOT, "bench/results");
  let net = "127.0.34";
  let workload = "";
  let keep = false;
  let postgres = false;
  let sqlite = true;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--target") target = argv[++i] ?? "";
    else if (argv[i] === "--quick") quick = true;
    else if (argv[i] === "--profile") profile = true;
    else if (argv[i] === "--out") out = resolve(argv[++i] ?? ".");
    else if (argv[i] === "--net") net = argv[++i] ?? "";
    else if (argv[i] === "--workload") workload = argv[++i] ?? "";
    else if (argv[i] === "--keep") keep = true;
    else if (argv[i] === "--postgres") postgres = true;
    else if (argv[i] === "--postgres-only") (postgres = true), (sqlite = false);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  const names = target === "all" ? [...TARGET_NAMES] : target.split(",");
  if (!target || names.some((t) => !TARGET_NAMES.includes(t as TargetName))) throw new Error("--target must be zion, synapse, dendrite or all");
  if (profile && !names.includes("zion")) throw new Error("--profile profiles the Zion target: include zion in --target");
  if (!/^127\.\d{1,3}\.\d{1,3}$/.test(net)) throw new Error("--net must be the first three parts of a loopback /24, for example 127.0.34");
  const chosen = workload ? workload.split(",") : [...WORKLOADS];
  if (chosen.some((w) => !WORKLOADS.includes(w as WorkloadName))) throw new Error(`--workload must be a comma-separated list of ${WORKLOADS.join(", ")}`);
  if (chosen.includes("idle") && !chosen.includes("big-join")) throw new Error("--workload idle waits after the big join: include big-join");
  if (postgres && !POSTGRES_WORKLOADS.some((w) => chosen.includes(w))) throw new Error(`--postgres runs ${POSTGRES_WORKLOADS.join(" and ")}: include one of them in --workload`);
  return { targets: names as TargetName[], quick, profile, out, net, workloads: new Set(chosen as WorkloadName[]), keep, postgres, sqlite };
}

const log = (s: string) => process.stderr.write(`[fedbench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nusage: npm run bench:federation -- --target zion|synapse|dendrite|all [--quick] [--profile] [--out DIR] [--net 127.0.34] [--workload ${WORKLOADS.join(",")}] [--keep] [--postgres | --postgres-only]\n`);
    return 2;
  }
  const BLOCK = `${args.net}.0/24`;
  const remoteIp = (i: number) => `${args.net}.${11 + i}`;
  const startedAt = new Date();
  const load = loadavg();
  const sizes = args.quick ? QUICK : FULL;
  const work = mkdtempSync(join(tmpdir(), "zion-fedbench-"));
  const profDir = join(work, "profile");
  const commit = (() => {
    try {
      const head = execSync("git rev-parse --short HEAD", { cwd: ROOT, encoding: "utf8" }).trim();
      const dirty = execSync("git status --porcelain --untracked-files=no", { cwd: ROOT, encoding: "utf8" }).trim() ? " with local changes" : "";
      return `${head}${dirty}`;
    } catch { return "unknown commit"; }
  })();
  const ca = await createTestCa(join(work, "ca"));
  const https = testHttpsClient(ca.caCertPem, { requestTimeoutMs: 120_000 });
  const servers = Array.from({ length: REMOTES }, (_, i) => new RemoteServer(remoteIp(i), ca));
  const runs: TargetRun[] = [];
  const rooms: RemoteRoom[] = [];
  let pg: TestPostgres | undefined;
  const plan: { name: TargetName; database: DatabaseKind }[] = [
    ...(args.sqlite ? args.targets.map((name) => ({ name, database: "sqlite" as const })) : []),
    ...(args.postgres ? args.targets.map((name) => ({ name, database: "postgres" as const })) : []),
  ];
  try {
    await Promise.all(servers.map((s) => s.start()));
    // The big rooms are built and signed once, before any clock starts; each target joins them afresh (resetJoin).
    const bigRooms = (args.workloads.has("big-join") ? sizes.bigJoins : []).map((n) => {
      log(`building and signing a room of ${n} state events`);
      return { n, ...buildBigRoom(servers, n) };
    });
    for (const { name, database } of plan) {
      const run: TargetRun = { target: name, database, errors: [], unserved: [] };
      runs.push(run);
      for (const s of servers) s.unserved.clear();
      const room = new RemoteRoom(servers);
      rooms.push(room);
      let target: Target | undefined;
      const who = database === "postgres" ? `${name} on PostgreSQL` : name;
      const step = async (what: string, f: () => Promise<void>) => {
        log(`${who}: ${what}`);
        try {
          await f();
        } catch (e) {
          run.errors.push(`${what}: ${String((e as Error).message ?? e)}`);
          log(`${who}: ${what} failed: ${String((e as Error).stack ?? e)}`);
        }
      };
      try {
        await step("start", async () => {
          let postgres;
          if (database === "postgres") {
            pg ??= await startTestPostgres();
            postgres = await pg.createDatabase(`fedbench_${name}`);
          }
          const profiled = args.profile && name === "zion" && database === "sqlite";
          target = await startTarget(name, { ca, ip: `${args.net}.${TARGET_HOST[name]}`, allowRange: BLOCK, dir: work, ...(profiled ? { cpuProfileDir: profDir } : {}), ...(postgres ? { postgres } : {}) });
          run.version = target.version;
          run.startRss = treeUsage(target.pid).rss;
        });
        const t = target;
        if (!t) continue;
        let joined = false;
        let user: Awaited<ReturnType<Target["registerUser"]>> | undefined;
        await step("join the remote room", async () => {
          user = await t.registerUser("bench");
          await joinRemoteRoom(t, user, room);
          joined = true;
        });
        const on = (w: WorkloadName) => args.workloads.has(w) && (database === "sqlite" || POSTGRES_WORKLOADS.includes(w));
        if (joined && user) {
          const u = user;
          if (on("ingest")) await step(`ingest ${sizes.ingestPdus} PDUs`, async () => void (run.ingest = await ingest(t, u, room, https, BLOCK, sizes.ingestPdus, sizes.deadlinesS.ingestSync * 1000)));
          if (on("fanout")) await step(`fan-out ${sizes.fanoutMessages} messages to ${REMOTES} remotes`, async () => void (run.fanout = await fanout(t, u, room, sizes.fanoutMessages, sizes.deadlinesS.fanout * 1000)));
          if (run.fanout && run.fanout.complete < run.fanout.messages) run.errors.push(`fan-out: only ${run.fanout.complete} of ${run.fanout.messages} messages reached every remote within the deadline`);
        }
        if (on("client-load")) await step(`client load, ${sizes.clients} clients`, async () => void (run.clientLoad = await clientLoad(t, sizes.clients, sizes.clientRounds)));
        if (user && on("conflicts")) {
          const u = user;
          const shape = conflictShape(sizes.conflicts);
          const conflictRoom = buildConflictRoom(servers, shape.members);
          await step(`state conflicts, ${sizes.conflicts} events on two forks`, async () => {
            await joinRemoteRoom(t, u, conflictRoom);
            run.conflicts = await stateConflicts(t, u, conflictRoom, shape, https, BLOCK, sizes.deadlinesS.conflicts * 1000);
            if (run.conflicts.firstError && Number.isFinite(run.conflicts.convergedMs)) run.errors.push(`state conflicts: converged, but ${run.conflicts.rejected} PDUs were answered with an error, first ${run.conflicts.firstError}`);
            if (!Number.isFinite(run.conflicts.convergedMs)) run.errors.push(`state conflicts: /state had ${run.conflicts.keysRight} of ${run.conflicts.keys} keys resolved as expected at the deadline (${run.conflicts.endState.a} at fork a's events, ${run.conflicts.endState.b} at fork b's, ${run.conflicts.endState.neither} at neither)${run.conflicts.firstError ? `; ${run.conflicts.rejected} PDUs rejected, first ${run.conflicts.firstError}` : ""}`);
          });
          conflictRoom.close();
        }
        if (user && on("big-join")) {
          const u = user;
          run.bigJoins = [];
          let joinedBig = false;
          for (const { n, room: big, prepareS } of bigRooms) {
            await step(`big join, ${n} state events`, async () => {
              const r = await bigJoin(t, u, big, prepareS, sizes.deadlinesS.bigJoin * 1000);
              run.bigJoins!.push(r);
              joinedBig = true;
              if (!Number.isFinite(r.syncMs)) run.errors.push(`big join of ${r.stateEvents}: the room was not in /sync within the deadline`);
              if (!Number.isFinite(r.fullStateMs)) run.errors.push(`big join of ${r.stateEvents}: /joined_members counted ${r.joinedSeen} of ${r.members + 1} at the deadline`);
            });
          }
          if (joinedBig && on("idle")) {
            await step(`idle ${sizes.idleWaitS} s after the big join`, async () => {
              const m = meter(t.pid);
              await new Promise((r) => setTimeout(r, sizes.idleWaitS * 1000));
              const usage = m.stop();
              run.idle = { waitS: sizes.idleWaitS, rss: treeUsage(t.pid).rss, cpuS: usage.cpuS };
            });
          }
        }
      } finally {
        if (target) await target.stop();
        const unserved = new Map<string, number>();
        for (const s of servers) for (const [k, n] of s.unserved) unserved.set(k, (unserved.get(k) ?? 0) + n);
        run.unserved = [...unserved].map(([k, n]) => `${k} (${n}×)`);
      }
    }
  } finally {
    for (const r of rooms) r.close();
    await Promise.all(servers.map((s) => s.stop()));
    await pg?.stop();
    await https.close();
  }

  mkdirSync(args.out, { recursive: true });
  const base = `${startedAt.toISOString().slice(0, 10)}-${hostname()}`;
  const throughput: ChartRow[] = runs.flatMap((r) => (r.ingest ? [{ target: runLabel(r), workload: "ingest", measure: "PDUs/s", value: r.ingest.pdusPerS }] : []));
  const latency: ChartRow[] = runs.flatMap((r) =>
    ([["ingest (per txn of 50)", r.ingest], ["fan-out (per message)", r.fanout], ["client load (per client)", r.clientLoad]] as const).flatMap(([w, x]) =>
      x ? (["p50", "p90", "p99"] as const).map((p) => ({ target: runLabel(r), workload: w, measure: p, value: x[p] })) : []));
  const times: ChartRow[] = runs.flatMap((r) => [
    ...(r.bigJoins ?? []).flatMap((j) => [
      { target: r.target, workload: `big join of ${j.stateEvents}`, measure: "in /sync", value: j.syncMs / 1000 },
      { target: r.target, workload: `big join of ${j.stateEvents}`, measure: "full state", value: j.fullStateMs / 1000 },
    ]),
    ...(r.conflicts ? [{ target: r.target, workload: `state conflicts (${r.conflicts.events})`, measure: "converged", value: r.conflicts.convergedMs / 1000 }] : []),
  ]);
  let chartFile: string | undefined;
  try {
    writeFileSync(join(args.out, `${base}.svg`), await renderChart(throughput, latency, `Federation benchmark ${startedAt.toISOString().slice(0, 16)}Z${args.quick ? " (quick)" : ""}, load ${load[0]!.toFixed(2)}`, times));
    chartFile = `${base}.svg`;
  } catch (e) {
    log(`chart failed: ${String(e)}`);
  }
  let profile: { file: string; summary: string } | undefined;
  if (args.profile) {
    const found = existsSync(profDir) ? readdirSync(profDir, { withFileTypes: true }).filter((d) => d.name.endsWith(".cpuprofile")) : [];
    if (found.length) {
      const file = `${base}-zion.cpuprofile`;
      renameSync(join(profDir, found[0]!.name), join(args.out, file));
      const s = spawnSync(process.execPath, [join(ROOT, "scripts/cpu-profile-summary.mjs"), join(args.out, file), "15"], { encoding: "utf8" });
      profile = { file, summary: s.stdout || s.stderr };
    } else {
      runs.find((r) => r.target === "zion" && r.database === "sqlite")?.errors.push("--profile: Zion wrote no .cpuprofile");
    }
  }
  const md = renderReport({ startedAt, load, quick: args.quick, postgres: args.postgres, sqlite: args.sqlite, sizes, ...(args.workloads.size < WORKLOADS.length ? { workloads: WORKLOADS.filter((w) => args.workloads.has(w)) } : {}), node: process.version, commit, runs, wallS: (Date.now() - startedAt.getTime()) / 1000, ...(chartFile ? { chartFile } : {}), ...(profile ? { profile } : {}) });
  const path = join(args.out, `${base}.md`);
  writeFileSync(path, md);
  process.stdout.write(`${md}\nwritten to ${path}\n`);
  if (args.keep) log(`kept the run's folder (each target's data and log): ${work}`);
  else rmSync(work, { recursive: true, force: true });
  return runs.some((r) => r.errors.length) ? 1 : 0;
}

process.exitCode = await main();
// Anything still holding the event loop a while after the report is a leak worth naming (the run is over).
setTimeout(() => process.stderr.write(`still running 10 s after the report: ${process.getActiveResourcesInfo().join(", ")}\n`), 10_000).unref();
