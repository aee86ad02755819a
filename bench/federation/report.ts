/**
 * The federation benchmark's Markdown report: the machine (cores, load average before the run), each target's
 * version, one table per workload with every target's figures and the harness's own CPU, the ratios between Zion and
 * each other target with issue 16's targets and whether Zion meets them (it says so plainly when it does not), the
 * chart, and what is not measured yet. Workloads: ingest, fan-out, client load, state conflicts, big join, idle.
 */
import { cpus, hostname, totalmem } from "node:os";
import type { DatabaseKind, TargetName } from "./targets.js";
import type { BigJoinResult, ConflictResult } from "./state-workloads.js";
import { TXN_SIZE, type ClientLoadResult, type FanoutResult, type IngestResult, type Sizes } from "./workloads.js";

export interface TargetRun {
  readonly target: TargetName;
  /** Where the target kept its data: SQLite (every workload) or PostgreSQL (`--postgres`: ingest and fan-out). */
  readonly database: DatabaseKind;
  version?: string;
  /** RSS of the process tree right after start-up (ready, before any workload). */
  startRss?: number;
  ingest?: IngestResult;
  fanout?: FanoutResult;
  clientLoad?: ClientLoadResult;
  conflicts?: ConflictResult;
  /** One per size of Sizes.bigJoins that ran. */
  bigJoins?: BigJoinResult[];
  /** RSS of the tree `waitS` seconds after the last big join, and the CPU it used while idle. */
  idle?: { readonly waitS: number; readonly rss: number; readonly cpuS: number };
  readonly errors: string[];
  /** Federation requests the target made that the simulated remotes do not serve. */
  unserved: string[];
}

export interface ReportInput {
  readonly startedAt: Date;
  readonly load: readonly number[];
  readonly quick: boolean;
  /** Whether `--postgres` asked for the PostgreSQL runs. */
  readonly postgres: boolean;
  /** False for `--postgres-only`: no SQLite runs. */
  readonly sqlite: boolean;
  readonly sizes: Sizes;
  /** The workloads `--workload` chose, in order; absent when every workload ran. */
  readonly workloads?: readonly string[];
  readonly node: string;
  readonly commit: string;
  readonly runs: readonly TargetRun[];
  readonly wallS: number;
  readonly chartFile?: string;
  readonly profile?: { readonly file: string; readonly summary: string };
}

const mb = (b: number | undefined) => (b === undefined ? "–" : (b / 1048576).toFixed(0));
const f = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
/** A run's name in the tables: the target, with "(PostgreSQL)" for a `--postgres` run. */
export const runLabel = (r: Pick<TargetRun, "target" | "database">) => (r.database === "postgres" ? `${r.target} (PostgreSQL)` : r.target);
const cell = (r: TargetRun, e: string) => `| ${runLabel(r)} | not measured: ${e} |`;

/** One ratio of Zion to another target, with the issue's goal (`better` says which direction wins). */
interface Ratio { readonly what: string; readonly other: string; readonly ratio: number; readonly better: "higher" | "lower"; readonly goal?: number }

/** Zion against each other target on the same database (SQLite runs against SQLite runs, PostgreSQL against PostgreSQL). */
export function ratios(runs: readonly TargetRun[]): Ratio[] {
  return (["sqlite", "postgres"] as const).flatMap((db) => ratiosOn(runs.filter((r) => r.database === db)));
}

function ratiosOn(runs: readonly TargetRun[]): Ratio[] {
  const zion = runs.find((r) => r.target === "zion");
  if (!zion) return [];
  const out: Ratio[] = [];
  for (const o of runs.filter((r) => r.target !== "zion")) {
    const isSynapse = o.target === "synapse";
    const add = (what: string, z: number | undefined, x: number | undefined, better: "higher" | "lower", synapseGoal?: number) => {
      if (z === undefined || x === undefined || !Number.isFinite(z) || !Number.isFinite(x) || x === 0) return;
      out.push({ what: zion.database === "postgres" ? `${what} (PostgreSQL)` : what, other: o.target, ratio: z / x, better, ...(isSynapse && synapseGoal !== undefined ? { goal: synapseGoal } : !isSynapse ? { goal: 1 } : {}) });
    };
    add("ingest: accepted PDUs/s", zion.ingest?.pdusPerS, o.ingest?.pdusPerS, "higher", 5);
    add("ingest: time until /sync has the last PDU", zion.ingest?.syncMs, o.ingest?.syncMs, "lower");
    add("ingest: CPU seconds", zion.ingest?.cpuS, o.ingest?.cpuS, "lower");
    add("fan-out: time until every remote has every message", zion.fanout?.allMs, o.fanout?.allMs, "lower", 1 / 3);
    add("fan-out: p50 per message", zion.fanout?.p50, o.fanout?.p50, "lower");
    add("client load: p50 until a client has the message", zion.clientLoad?.p50, o.clientLoad?.p50, "lower");
    add("client load: median round until all clients have it", zion.clientLoad?.allMedianMs, o.clientLoad?.allMedianMs, "lower");
    add("state conflicts: time until /state has converged", zion.conflicts?.convergedMs, o.conflicts?.convergedMs, "lower");
    for (const zj of zion.bigJoins ?? []) {
      const oj = o.bigJoins?.find((x) => x.stateEvents === zj.stateEvents);
      add(`big join of ${zj.stateEvents}: /join until the room is in /sync`, zj.syncMs, oj?.syncMs, "lower", 1 / 5);
      add(`big join of ${zj.stateEvents}: /join until full state`, zj.fullStateMs, oj?.fullStateMs, "lower");
      add(`big join of ${zj.stateEvents}: peak RSS`, zj.peakRss, oj?.peakRss, "lower", 1 / 2);
    }
    add("peak RSS over the run", Math.max(zion.ingest?.peakRss ?? 0, zion.fanout?.peakRss ?? 0, zion.clientLoad?.peakRss ?? 0) || undefined,
      Math.max(o.ingest?.peakRss ?? 0, o.fanout?.peakRss ?? 0, o.clientLoad?.peakRss ?? 0) || undefined, "lower");
    add("RSS after start-up", zion.startRss, o.startRss, "lower", 1 / 3);
    add(`idle RSS ${zion.idle?.waitS ?? "–"} s after the big join`, zion.idle?.rss, o.idle?.rss, "lower", 1 / 3);
  }
  return out;
}

function verdict(r: Ratio): string {
  if (r.goal === undefined) return "";
  const met = r.better === "higher" ? r.ratio >= r.goal : r.ratio <= r.goal;
  const goal = r.better === "higher" ? `≥ ${r.goal}×` : `≤ ${r.goal === 1 ? "1" : r.goal.toFixed(2)}×`;
  return `${goal}: ${met ? "met" : "**not met**"}`;
}

export function renderReport(i: ReportInput): string {
  const L: string[] = [];
  const { runs, sizes } = i;
  L.push(`# Federation benchmark ${i.startedAt.toISOString()}`, "");
  const sqliteRuns = runs.filter((r) => r.database === "sqlite");
  /** A row for a run without this workload's figures: not chosen by `--workload`, or failed (the errors say why). */
  const missing = (r: TargetRun, w: string) => (i.workloads && !i.workloads.includes(w) ? `| ${runLabel(r)} | not run (\`--workload ${i.workloads.join(",")}\`) |` : cell(r, "see errors"));
  L.push(`\`npm run bench:federation -- --target ${[...new Set(runs.map((r) => r.target))].join(",")}${i.quick ? " --quick" : ""}${i.workloads ? ` --workload ${i.workloads.join(",")}` : ""}${i.postgres ? (i.sqlite ? " --postgres" : " --postgres-only") : ""}\` (bench/federation/, Zion at ${i.commit}); the whole run took ${i.wallS.toFixed(0)} s.`, "");
  L.push("## Machine", "");
  L.push(`- host: ${hostname()}`, `- cores: ${cpus().length} (${cpus()[0]?.model ?? "unknown"}), memory ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
  L.push(`- load average before the run (1, 5, 15 min): ${i.load.map((l) => l.toFixed(2)).join(", ")}`);
  L.push(`- node (harness and Zion): ${i.node}`, `- mode: ${i.quick ? "quick" : "full"}`);
  const d = sizes.deadlinesS;
  L.push(`- deadlines (what a workload waits before it records "not within the deadline"): last ingested PDU in /sync ${d.ingestSync} s after the last transaction, fan-out ${d.fanout} s, state conflicts ${d.conflicts} s, each big join ${d.bigJoin} s`, "");
  L.push("## Targets", "");
  const pgText = "PostgreSQL (one private PostgreSQL server started by the harness, a fresh database per target; ingest and fan-out only)";
  const where = i.sqlite ? `on SQLite in a fresh folder${i.postgres ? `, then again on ${pgText}` : ""}` : `on ${pgText} only (\`--postgres-only\`; the SQLite figures are in a full run's report)`;
  L.push(`Each target runs alone on the machine in turn (same addresses, same CA, same simulated remotes), ${where}, with its rate limits opened as the interop harnesses do. Names are IP literals (federation on port 8448), so no target resolves a name.`, "");
  L.push("| target | version | RSS after start-up MB | errors |", "|---|---|---|---|");
  for (const r of runs) L.push(`| ${runLabel(r)} | ${r.version ?? "–"} | ${mb(r.startRss)} | ${r.errors.length ? r.errors.map((e) => e.replace(/\|/g, "\\|").replace(/\n/g, " ").slice(0, 300)).join("; ") : "none"} |`);
  L.push("");

  L.push("## Ingest", "");
  L.push(`The room host (one of ${runs[0]?.fanout?.remotes ?? 20} simulated remote servers in the room) pushes ${sizes.ingestPdus} PDUs signed beforehand, as sequential transactions of ${TXN_SIZE}, into the room the target's user joined over make_join / send_join. "Accepted" counts the PDUs each /send answer lists without an error; a target may answer before it has processed them (and drop some later), so "last PDU in /sync" (– when it never arrived) is the end-to-end figure. Latency is per transaction (PUT /send until its answer); "last PDU in /sync" runs from the first transaction until a local client long-polling /sync since before it has the last PDU.`, "");
  L.push("| target | PDUs | accepted | txns | PDUs/s | p50 ms | p90 ms | p99 ms | last PDU in /sync ms | target CPU s | target peak RSS MB | harness CPU s |", "|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of runs) {
    const x = r.ingest;
    L.push(x ? `| ${runLabel(r)} | ${x.pdus} | ${x.accepted} | ${x.txns} | ${f(x.pdusPerS)} | ${f(x.p50, 1)} | ${f(x.p90, 1)} | ${f(x.p99, 1)} | ${f(x.syncMs)} | ${f(x.cpuS, 2)} | ${mb(x.peakRss)} | ${f(x.harnessCpuS, 2)} |` : missing(r, "ingest"));
  }
  L.push("");

  L.push("## Fan-out", "");
  L.push(`The target's user sends ${sizes.fanoutMessages} messages, one after the other (each PUT /send awaited), into the same room, which ${runs[0]?.fanout?.remotes ?? 20} simulated remote servers share. "All remotes" is from the first send until every remote has every message; the percentiles are per message, from just before its send until the last remote has it.`, "");
  L.push("| target | messages | remotes | sends/s | all remotes have all ms | complete | p50 ms | p90 ms | p99 ms | target CPU s | target peak RSS MB | harness CPU s |", "|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of runs) {
    const x = r.fanout;
    L.push(x ? `| ${runLabel(r)} | ${x.messages} | ${x.remotes} | ${f(x.sendsPerS)} | ${Number.isFinite(x.allMs) ? f(x.allMs) : "not within the deadline"} | ${x.complete} | ${f(x.p50, 1)} | ${f(x.p90, 1)} | ${f(x.p99, 1)} | ${f(x.cpuS, 2)} | ${mb(x.peakRss)} | ${f(x.harnessCpuS, 2)} |` : missing(r, "fanout"));
  }
  L.push("");

  const sqliteOnlyFrom = L.length; // client load, state conflicts, big join and idle run on SQLite only
  L.push("## Client load", "");
  L.push(`${sizes.clients} local users in one local room long-poll /sync (from a forked process of the harness, whose CPU is counted as the harness's) while the first of them sends one message per round, ${sizes.clientRounds} rounds. Percentiles are over every client of every round, from just before the send until that client's /sync has the message; "all clients" is per round until the last one has it.`, "");
  L.push("| target | clients | rounds | p50 ms | p90 ms | p99 ms | all clients, median round ms | worst round ms | target CPU s | target peak RSS MB | harness CPU s |", "|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of sqliteRuns) {
    const x = r.clientLoad;
    L.push(x ? `| ${r.target} | ${x.clients} | ${x.rounds} | ${f(x.p50, 1)} | ${f(x.p90, 1)} | ${f(x.p99, 1)} | ${f(x.allMedianMs, 1)} | ${f(x.allMaxMs, 1)} | ${f(x.cpuS, 2)} | ${mb(x.peakRss)} | ${f(x.harnessCpuS, 2)} |` : missing(r, "client-load"));
  }
  L.push("");

  L.push("## State conflicts", "");
  L.push(`A room whose two admins (power 100) are on two simulated remote servers, with the local user joined; each server then sends a fork from the local user's join (transactions of ${TXN_SIZE}, the two servers at once): one power-levels change in ten and, for each of the room's other members, a ban (one fork) or a kick (the other), ${sizes.conflicts} events in all, every one on a state key the other fork also changes. Every event passes the auth rules against either fork's state and the current state (no soft failure), and both senders have the same power, so state resolution v2 applies the conflicted power events in timestamp order and the later event of each key wins; the timestamps alternate which fork wins. "Converged" runs from the first transaction until the target's \`GET /rooms/{roomId}/state\` (polled every 250 ms after the last transaction's answer) has the expected event for every conflicted key.`, "");
  L.push("| target | events | conflicted keys | won by fork a | PDUs /send answered with an error | sent ms | converged ms | keys right at the end | target CPU s | target peak RSS MB | harness CPU s |", "|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of sqliteRuns) {
    const x = r.conflicts;
    L.push(x ? `| ${r.target} | ${x.events} | ${x.keys} | ${x.wonByA} | ${x.rejected} | ${f(x.sendMs)} | ${Number.isFinite(x.convergedMs) ? f(x.convergedMs) : "not within the deadline"} | ${x.keysRight} | ${f(x.cpuS, 2)} | ${mb(x.peakRss)} | ${f(x.harnessCpuS, 2)} |` : missing(r, "conflicts"));
  }
  for (const r of sqliteRuns) {
    const u = r.conflicts?.unconverged;
    if (!u) continue;
    const tips = u.stateAtTips.map((x) => `fork ${x.fork}: ${x.status === 200 ? `${x.events} events, ${x.powerLevels ? "with" : "without"} power levels` : `HTTP ${x.status}`}`).join("; ");
    L.push("", `${r.target} did not converge. Asked after the deadline, it served ${u.servedToClient} of the ${r.conflicts!.events} fork events to the client API (\`GET /rooms/{roomId}/event/{eventId}\`) and ${u.servedOverFederation} over federation (\`GET /_matrix/federation/v1/event/{eventId}\`), and its federation \`state_ids\` before each fork's last event had ${tips}.`);
  }
  if (runs.some((r) => r.target === "dendrite" && r.conflicts && !Number.isFinite(r.conflicts.convergedMs))) {
    L.push("", "Dendrite (0.13.8) does not converge here, and that is its own behaviour, not the forks': its state resolution checks a conflicted power-levels event only against the power levels resolved so far, not against the event's own auth events as the spec's iterative auth checks require, so with both forks changing the power levels from a common one, both changes fail, the resolved state loses `m.room.power_levels` and every conflicted ban or kick, and the forks' later events soft-fail against that state (its log: \"State reset detected\"); see docs/dendrite-peer.md, \"Where Dendrite 0.13.8 departs from the specification\".");
  }
  L.push("");

  L.push("## Big join", "");
  L.push(`A room hosted by one simulated remote server, its members spread over all ${runs[0]?.fanout?.remotes ?? 20} (each join signed by its own server), built and signed before any clock starts; its send_join answer holds ${sizes.bigJoins.map((n) => n.toLocaleString("en")).join(" and then ")} state events with their auth chain. The remote honours \`omit_members\` (the state without member events, \`servers_in_room\`), and every remote serves \`/state_ids\`, \`/state\` and \`/event\` at the join, so a target that joins partially can complete its state; "partial" says whether the target asked for it. Times run from just before the local client's \`POST /join\`: until its answer (Dendrite answers 202 when the join outlasts its request and carries on in the background), until an incremental \`/sync\` (lazy-loading members, as clients do) has the room, and until \`/joined_members\` (polled every 250 ms) counts every member and the local user ("full state"; for a full join, at once). Peak RSS is the target's process tree during all of it.`, "");
  L.push("| target | state events | members | partial | /join answered ms | room in /sync ms | full state ms | RSS before MB | peak RSS MB | target CPU s | harness CPU s | harness signing s (before the clock) |", "|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of sqliteRuns) {
    if (!r.bigJoins?.length) L.push(missing(r, "big-join"));
    for (const x of r.bigJoins ?? []) {
      L.push(`| ${r.target} | ${x.stateEvents} | ${x.members} | ${x.partial ? "yes" : "no"} | ${f(x.joinMs)}${x.joinStatus === 202 ? " (202, continued in the background)" : ""} | ${Number.isFinite(x.syncMs) ? f(x.syncMs) : "not within the deadline"} | ${Number.isFinite(x.fullStateMs) ? f(x.fullStateMs) : `not within the deadline (${x.joinedSeen})`} | ${mb(x.rssBefore)} | ${mb(x.peakRss)} | ${f(x.cpuS, 2)} | ${f(x.harnessCpuS, 2)} | ${f(x.prepareS, 1)} |`);
    }
  }
  L.push("");

  L.push("## Idle", "");
  L.push(`RSS of the target's process tree right after start-up (ready, before any workload), and ${sizes.idleWaitS} s after the last big join reached full state with nothing sent meanwhile${i.quick ? ` (quick mode waits ${sizes.idleWaitS} s instead of 60)` : ""}, with the CPU the target used over that wait.`, "");
  L.push("| target | RSS after start-up MB | idle wait s | RSS after the wait MB | CPU s while idle |", "|---|---|---|---|---|");
  for (const r of sqliteRuns) L.push(`| ${r.target} | ${mb(r.startRss)} | ${r.idle ? r.idle.waitS : "–"} | ${mb(r.idle?.rss)} | ${f(r.idle?.cpuS, 2)} |`);
  L.push("");

  if (sqliteRuns.length === 0) L.splice(sqliteOnlyFrom);
  const rs = ratios(runs);
  L.push("## Ratios", "");
  if (rs.length === 0) {
    L.push(runs.some((r) => r.target === "zion") ? "Only Zion measured: no ratios." : "Zion not measured in this run: no ratios.", "");
  } else {
    L.push("Zion's figure divided by the other target's, from this run. For throughput higher is better for Zion, for times, CPU and memory lower is. The goals are issue 16's (against Synapse; against Dendrite, ahead on everything); where Zion misses one the table says **not met**.", "");
    L.push("| measure | against | Zion / other | better when | goal |", "|---|---|---|---|---|");
    for (const r of rs) L.push(`| ${r.what} | ${r.other} | ${r.ratio.toFixed(2)}× | ${r.better} | ${verdict(r)} |`);
    L.push("");
    const missed = rs.filter((r) => r.goal !== undefined && !(r.better === "higher" ? r.ratio >= r.goal : r.ratio <= r.goal));
    if (missed.length) L.push(`Zion falls short on ${missed.length} of ${rs.filter((r) => r.goal !== undefined).length} goals in this run: ${missed.map((r) => `${r.what} against ${r.other} (${r.ratio.toFixed(2)}×)`).join("; ")}.`, "");
  }

  if (i.chartFile) L.push("## Chart", "", `![PDUs/s and latency per target](${i.chartFile})`, "", "Made with vega-lite (bench/federation/chart.ts) from the figures above.", "");

  if (i.profile) {
    L.push("## Zion CPU profile", "", `\`--profile\` ran Zion under \`--cpu-prof\`; the profile covers the process's whole life (start-up, set-up and every workload): \`${i.profile.file}\` (open in Chrome DevTools, or \`node scripts/cpu-profile-summary.mjs ${i.profile.file}\`). Its top functions:`, "", "```", i.profile.summary.trim(), "```", "");
  }

  const unserved = runs.filter((r) => r.unserved.length);
  if (unserved.length) {
    L.push("## Requests the simulated remotes did not serve", "", "Answered 404 M_UNRECOGNIZED; listed because a target that waits on one of them is slowed by the harness, not by itself.", "");
    for (const r of unserved) L.push(`- ${runLabel(r)}: ${r.unserved.join(", ")}`);
    L.push("");
  }

  if (!i.postgres || i.quick) L.push("## Not measured in this run", "");
  if (!i.postgres) L.push("The PostgreSQL runs of ingest and fan-out (`--postgres`).", "");
  if (i.quick) L.push(`Quick mode: ${sizes.ingestPdus} PDUs instead of 20,000, ${sizes.fanoutMessages} fan-out messages instead of 2,000, ${sizes.clients} clients in ${sizes.clientRounds} rounds instead of 200 in 10, ${sizes.conflicts} conflicted events instead of 1,000, one big join of ${sizes.bigJoins.join(", ")} state events instead of 10,000 and 50,000, and ${sizes.idleWaitS} s of idle instead of 60; small runs favour whoever starts fastest on a cold cache, so read the ratios as indications.`, "");
  return L.join("\n");
}
