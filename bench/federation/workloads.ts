/**
 * The workloads of the federation benchmark, each driving a target only through its client and federation APIs:
 *
 * - ingest: the room host pushes PDUs signed beforehand, as sequential transactions of 50, into the room the
 *   target's user joined; accepted PDUs/s, per-transaction latency, and the time until a local client's /sync
 *   (long-polling from before the first transaction) has the last PDU.
 * - fan-out: the target's user sends messages one after the other (each PUT /send awaited) into the same room,
 *   shared with 20 remote servers; the time until every remote has every message, and per message the time from
 *   just before its send until the last remote had it.
 * - client load: local users long-poll /sync in one local room (a forked process holds the connections) while the
 *   first of them sends one message per round; the time until all of them have it.
 */
import { fork } from "node:child_process";
import { Agent, fetch } from "undici";
import type { ServerName } from "../../src/core/ids/index.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { ipLiteralFederationClient } from "../../test/harness/federation-client.js";
import { meter, percentiles, type Percentiles, type Usage } from "./measure.js";
import type { RemoteRoom } from "./remote-room.js";
import type { LocalUser, Target } from "./targets.js";

export const TXN_SIZE = 50;

export interface Sizes {
  readonly ingestPdus: number;
  readonly fanoutMessages: number;
  readonly clients: number;
  readonly clientRounds: number;
  /** State events of each big join's send_join answer, in order (each a room of its own). */
  readonly bigJoins: readonly number[];
  /** Events on the two forks of the state-conflicts workload. */
  readonly conflicts: number;
  /** Seconds of idle after the last big join before the idle RSS is read. */
  readonly idleWaitS: number;
  /** How long each workload waits for a target before it records "not within the deadline", in seconds. */
  readonly deadlinesS: { readonly ingestSync: number; readonly fanout: number; readonly conflicts: number; readonly bigJoin: number };
}

/** --quick: small enough that `--target all --quick` stays under 10 minutes on a loaded 2-core machine. */
export const QUICK: Sizes = { ingestPdus: 500, fanoutMessages: 50, clients: 100, clientRounds: 3, bigJoins: [2_000], conflicts: 100, idleWaitS: 10,
  deadlinesS: { ingestSync: 60, fanout: 120, conflicts: 120, bigJoin: 180 } };
export const FULL: Sizes = { ingestPdus: 20_000, fanoutMessages: 2_000, clients: 200, clientRounds: 10, bigJoins: [10_000, 50_000], conflicts: 1_000, idleWaitS: 60,
  // Zion and Synapse converge on 1,000 conflicted events within a minute and finish a 50,000-state join well inside
  // 20 minutes; Dendrite 0.13.8 never converges and had not finished the 50,000 join after 30 minutes, so longer
  // deadlines only lengthen the run.
  deadlinesS: { ingestSync: 300, fanout: 600, conflicts: 300, bigJoin: 1_200 } };

export interface IngestResult extends Usage, Percentiles {
  readonly pdus: number;
  readonly accepted: number;
  readonly txns: number;
  /** Accepted PDUs per second of the transactions' wall clock. */
  readonly pdusPerS: number;
  /** From the first transaction until /sync had the last PDU (NaN when it never did within the deadline). */
  readonly syncMs: number;
}

export interface FanoutResult extends Usage, Percentiles {
  readonly messages: number;
  readonly remotes: number;
  /** From the first send until every remote had every message (NaN when not within the deadline). */
  readonly allMs: number;
  /** Messages every remote had by the end. */
  readonly complete: number;
  readonly sendsPerS: number;
}

export interface ClientLoadResult extends Usage, Percentiles {
  readonly clients: number;
  readonly rounds: number;
  /** Per round, until the last client had the message: the median and the worst round. */
  readonly allMedianMs: number;
  readonly allMaxMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The client API's connections. A target may take minutes to answer one request under a workload (Dendrite 0.13.8
 * held a fan-out `PUT /send` on PostgreSQL past undici's default 300 s): the workloads' own deadlines bound the
 * wait, not the HTTP client's, and the longest of them is a big join's 20 minutes.
 */
const CLIENT_API = new Agent({ headersTimeout: 21 * 60_000, bodyTimeout: 21 * 60_000 });

export async function api(t: Target, user: LocalUser | undefined, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (user) headers["authorization"] = `Bearer ${user.token}`;
  const r = await fetch(`${t.clientUrl}${path}`, { method, headers, dispatcher: CLIENT_API, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }).catch((e: unknown) => {
    // "fetch failed" alone does not say why: name the cause (a refused connection, a reset, a timeout).
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
    throw new Error(`${t.name}: ${method} ${path}: ${e instanceof Error ? e.message : String(e)}${cause}`);
  });
  const text = await r.text();
  const json = (text.startsWith("{") ? JSON.parse(text) : {}) as Record<string, unknown>;
  if (!r.ok) throw new Error(`${t.name}: ${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return json;
}

/** The local user joins the remote room over make_join / send_join (through the room's host). */
export async function joinRemoteRoom(t: Target, user: LocalUser, room: RemoteRoom): Promise<void> {
  await api(t, user, "POST", `/_matrix/client/v3/join/${encodeURIComponent(room.roomId)}?server_name=${encodeURIComponent(room.host.name)}&via=${encodeURIComponent(room.host.name)}`, {});
  if (!room.joinedMember) throw new Error(`${t.name}: joined without send_join reaching the room's host`);
}

export async function ingest(t: Target, user: LocalUser, room: RemoteRoom, https: HttpsClient, allowRange: string, total: number, graceMs: number): Promise<IngestResult> {
  let since = String((await api(t, user, "GET", "/_matrix/client/v3/sync?timeout=0"))["next_batch"]);
  const pdus = room.prepareMessages(total);
  const txns: (typeof pdus)[] = [];
  for (let i = 0; i < pdus.length; i += TXN_SIZE) txns.push(pdus.slice(i, i + TXN_SIZE));
  const fed = ipLiteralFederationClient(https, room.host.name, room.host.key, [allowRange]);
  const lastId = pdus.at(-1)!.eventId;
  // The /sync wait ends `graceMs` after the last transaction's answer (a target may have dropped the last PDU).
  let deadline = Infinity;
  const m = meter(t.pid);
  const t0 = performance.now();
  const synced = (async () => {
    while (Date.now() < deadline) {
      const s = await api(t, user, "GET", `/_matrix/client/v3/sync?timeout=${Math.max(0, Math.min(30_000, deadline - Date.now()))}&since=${encodeURIComponent(since)}`);
      since = String(s["next_batch"]);
      if (JSON.stringify(s["rooms"] ?? {}).includes(lastId)) return performance.now() - t0;
    }
    return NaN;
  })();
  const lat: number[] = [];
  let accepted = 0;
  let n = 0;
  const run = Date.now().toString(36);
  for (const txn of txns) {
    const s = performance.now();
    const res = await fed.request({ destination: t.serverName as ServerName, method: "PUT", path: `/_matrix/federation/v1/send/i${run}.${++n}`, body: { origin: room.host.name, origin_server_ts: Date.now(), pdus: txn.map((p) => p.raw) } });
    lat.push(performance.now() - s);
    if (res.status !== 200) throw new Error(`${t.name}: /send answered ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    const results = ((res.body as { pdus?: Record<string, { error?: string }> }).pdus) ?? {};
    accepted += txn.filter((p) => results[p.eventId] && !results[p.eventId]!.error).length;
  }
  const seconds = (performance.now() - t0) / 1000;
  deadline = Date.now() + graceMs;
  const syncMs = await synced;
  const usage = m.stop();
  return { pdus: total, accepted, txns: txns.length, pdusPerS: accepted / seconds, syncMs, ...percentiles(lat), ...usage };
}

export async function fanout(t: Target, user: LocalUser, room: RemoteRoom, messages: number, deadlineMs: number): Promise<FanoutResult> {
  const run = `fan ${Date.now().toString(36)} `;
  const remotes = room.servers;
  const seen = remotes.map(() => new Uint8Array(messages));
  const count = new Uint16Array(messages);
  const sentAt = new Float64Array(messages).fill(NaN);
  const latency: number[] = [];
  let complete = 0;
  let resolveAll: (ms: number) => void = () => {};
  const all = new Promise<number>((r) => (resolveAll = r));
  let t0 = 0;
  remotes.forEach((srv, s) => {
    srv.onPdu = (p) => {
      const body = (p["content"] as { body?: unknown } | undefined)?.body;
      if (typeof body !== "string" || !body.startsWith(run)) return;
      const i = Number(body.slice(run.length));
      if (!(i >= 0 && i < messages) || seen[s]![i]) return;
      seen[s]![i] = 1;
      if (++count[i]! === remotes.length) {
        latency.push(performance.now() - sentAt[i]!);
        if (++complete === messages) resolveAll(performance.now() - t0);
      }
    };
  });
  const m = meter(t.pid);
  let timer: NodeJS.Timeout | undefined;
  try {
    t0 = performance.now();
    for (let i = 0; i < messages; i++) {
      sentAt[i] = performance.now();
      await api(t, user, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room.roomId)}/send/m.room.message/f${i}.${Date.now()}`, { msgtype: "m.text", body: `${run}${i}` });
    }
  } catch (e) {
    m.stop();
    for (const srv of remotes) srv.onPdu = () => {};
    throw e;
  }
  const sendS = (performance.now() - t0) / 1000;
  const allMs = await Promise.race([all, new Promise<number>((r) => (timer = setTimeout(() => r(NaN), deadlineMs)))]);
  clearTimeout(timer); // else the deadline holds the process up to its end after the report
  const usage = m.stop();
  for (const srv of remotes) srv.onPdu = () => {};
  return { messages, remotes: remotes.length, allMs, complete, sendsPerS: messages / sendS, ...percentiles(latency), ...usage };
}

export async function clientLoad(t: Target, clients: number, rounds: number): Promise<ClientLoadResult> {
  const users: LocalUser[] = [];
  const prefix = `load${Date.now().toString(36)}`;
  for (let i = 0; i < clients; i += 10) users.push(...(await Promise.all(Array.from({ length: Math.min(10, clients - i) }, (_, j) => t.registerUser(`${prefix}${i + j}`)))));
  const roomId = String((await api(t, users[0], "POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", room_version: "11" }))["room_id"]);
  for (let i = 1; i < users.length; i += 10) await Promise.all(users.slice(i, i + 10).map((u) => api(t, u, "POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {})));
  const child = fork(new URL("./sync-clients.js", import.meta.url));
  const ask = <T>(msg: object, kind: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const on = (r: { kind: string; error?: string }) => {
        if (r.kind !== kind && r.kind !== "error") return;
        child.off("message", on);
        if (r.kind === "error") reject(new Error(`${t.name} client load: ${r.error}`));
        else resolve(r as T);
      };
      child.on("message", on);
      child.send(msg);
    });
  try {
    await ask({ kind: "start", base: t.clientUrl, roomId, tokens: users.map((u) => u.token) }, "started");
    const m = meter(t.pid);
    m.helperBaseline(child.pid!);
    const samples: number[] = [];
    const perRound: number[] = [];
    for (let round = 0; round < rounds; round++) {
      await ask({ kind: "poll", round }, "polling");
      await sleep(1500); // let every long poll reach the target before the send (an early one still counts: it answers at once)
      const { samples: s } = await ask<{ samples: number[] }>({ kind: "send", round }, "sent");
      samples.push(...s);
      perRound.push(Math.max(...s));
    }
    const usage = m.stop([child.pid!]);
    const rs = percentiles(perRound);
    return { clients, rounds, allMedianMs: rs.p50, allMaxMs: Math.max(...perRound), ...percentiles(samples), ...usage };
  } finally {
    child.send({ kind: "done" });
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
  }
}
