/**
 * The federation benchmark's state workloads, driving a target only through its client and federation APIs:
 *
 * - big join: a room of the simulated remotes whose send_join answer holds `n` state events (members spread over
 *   the 20 remote servers, each join signed by its own server; built and signed before the clock starts). The
 *   local user joins it; measured from just before the client's /join until a /sync (lazy-loading members, as
 *   clients do; incremental since before the join) has the room, and separately until /joined_members counts every
 *   member (full state: at once for a target that asked for the whole state, later for one that asked with
 *   omit_members and completes it from /state_ids, /state and /event), with the peak RSS of the target's tree.
 * - state conflicts: a room whose two admins are on two remote servers; after the local user joins, each server
 *   sends a fork from the join: power-level changes and, for each of the room's other members, a ban (one fork) and
 *   a kick (the other). Every event passes the auth rules against either fork's state, so state resolution v2
 *   orders the conflicted power events by timestamp (equal senders' power, each citing only earlier ones) and keeps
 *   the later one of every state key; the timestamps alternate which fork wins. Timed until the target's /state
 *   has the expected event for every conflicted key; a target that never gets there is asked afterwards which fork
 *   events its client API and federation /event still serve and what its federation state_ids has at each fork's
 *   tip (Dendrite 0.13.8 does not converge: docs/dendrite-peer.md, "Where Dendrite 0.13.8 departs from the
 *   specification").
 */
import { call } from "../lib/client.js";
import type { ServerName } from "../../src/core/ids/index.js";
import { buildPdu, type Pdu } from "../../src/core/events/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { ipLiteralFederationClient } from "../../test/harness/federation-client.js";
import { meter, treeUsage, type Usage } from "./measure.js";
import { RemoteRoom, V11, type RemoteServer } from "./remote-room.js";
import type { LocalUser, Target } from "./targets.js";
import { TXN_SIZE } from "./workloads.js";

export interface BigJoinResult extends Usage {
  /** State events in a full send_join answer (before the join). */
  readonly stateEvents: number;
  /** Members in that state (the owner and every joined user). */
  readonly members: number;
  /** Whether the target asked send_join with omit_members (a partial join). */
  readonly partial: boolean;
  /** The harness's time to build and sign the room (before the clock). */
  readonly prepareS: number;
  /** From the /join request until its answer. */
  readonly joinMs: number;
  /** The /join answer's status: 200, or 202 when the target continues the join in the background. */
  readonly joinStatus: number;
  /** From the /join request until a /sync had the room (NaN: not within the deadline). */
  readonly syncMs: number;
  /** From the /join request until /joined_members counted every member and the local user (NaN: not within the deadline). */
  readonly fullStateMs: number;
  /** The count /joined_members gave last (what a slow target had by the deadline). */
  readonly joinedSeen: number;
  /** RSS of the target's tree just before the join. */
  readonly rssBefore: number;
}

export interface ConflictResult extends Usage {
  /** Events on the two forks (every one on a state key the other fork also changes). */
  readonly events: number;
  /** Conflicted state keys checked: the power levels and each banned-or-kicked member. */
  readonly keys: number;
  /** How many of the keys fork a's server's events win (the rest are fork b's). */
  readonly wonByA: number;
  /** From the first transaction until the last transaction's answer. */
  readonly sendMs: number;
  /** From the first transaction until /state had every expected event (NaN: not within the deadline). */
  readonly convergedMs: number;
  /** Keys /state had right at the end. */
  readonly keysRight: number;
  /** Where /state's conflicted keys stood at the end: at an event of fork a, of fork b, or at neither (the base). */
  readonly endState: { readonly a: number; readonly b: number; readonly neither: number };
  /** PDUs the /send answers listed with an error, and the first such error. */
  readonly rejected: number;
  readonly firstError?: string;
  /** Only when /state did not converge: what the target still serves of the forks (stored, soft-failed or not). */
  readonly unconverged?: Unconverged;
}

/** What a target that did not converge holds of the forks, asked after the deadline. */
export interface Unconverged {
  /** Fork events `GET /rooms/{roomId}/event/{eventId}` answered 200 for (of `events`). */
  readonly servedToClient: number;
  /** Fork events the room's host got from the target's `GET /_matrix/federation/v1/event/{eventId}` (of `events`). */
  readonly servedOverFederation: number;
  /** `GET /_matrix/federation/v1/state_ids` at each fork's last event: state events and whether the power levels are among them. */
  readonly stateAtTips: { readonly fork: "a" | "b"; readonly status: number; readonly events: number; readonly powerLevels: boolean }[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Lazy-loaded members, as clients joining big rooms ask (a target may leave partially joined rooms out of /sync without it). */
const SYNC_FILTER = encodeURIComponent(JSON.stringify({ room: { state: { lazy_load_members: true }, timeline: { limit: 5 } } }));

async function clientJson(t: Target, user: LocalUser, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const a = await call(t.clientUrl, path, user.token, method, body === undefined ? undefined : JSON.stringify(body));
  if (a.status !== 200) throw new Error(`${t.name}: ${method} ${path.slice(0, 120)}: ${a.status} ${a.body.slice(0, 300)}`);
  return JSON.parse(a.body) as Record<string, unknown>;
}

/** A room whose state (the create, owner, power levels, join rules and history visibility included) is `stateEvents` events, members over every server. */
export function buildBigRoom(servers: readonly RemoteServer[], stateEvents: number): { room: RemoteRoom; prepareS: number } {
  const t0 = performance.now();
  const room = new RemoteRoom(servers, (add) => {
    for (let i = 0; i < stateEvents - 5; i++) {
      const s = servers[i % servers.length]!;
      const u = `@u${i}:${s.name}`;
      add("m.room.member", u, { membership: "join", displayname: `Bench user ${i}` }, u, s);
    }
  });
  return { room, prepareS: (performance.now() - t0) / 1000 };
}

export async function bigJoin(t: Target, user: LocalUser, room: RemoteRoom, prepareS: number, deadlineMs: number): Promise<BigJoinResult> {
  room.resetJoin();
  const stateEvents = room.events.length;
  const members = room.events.filter((e) => e.type === "m.room.member").length;
  const path = (p: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(room.roomId)}/${p}`;
  let since = String((await clientJson(t, user, "GET", `/_matrix/client/v3/sync?timeout=0&filter=${SYNC_FILTER}`))["next_batch"]);
  const rssBefore = treeUsage(t.pid).rss;
  const m = meter(t.pid);
  try {
    const t0 = performance.now();
    const end = Date.now() + deadlineMs;
    let failed = false;
    // Dendrite answers 202 ("the room join will continue in the background") when the join outlasts its request
    // timeout: not a failure, the room then comes to /sync when it is done.
    const joined = call(t.clientUrl, `/_matrix/client/v3/join/${encodeURIComponent(room.roomId)}?server_name=${encodeURIComponent(room.host.name)}&via=${encodeURIComponent(room.host.name)}`, user.token, "POST", "{}")
      .then((a) => {
        if (a.status !== 200 && a.status !== 202) throw new Error(`${t.name}: POST /join: ${a.status} ${a.body.slice(0, 300)}`);
        return { ms: performance.now() - t0, status: a.status };
      });
    joined.catch(() => (failed = true));
    let syncMs = NaN;
    while (Date.now() < end && !failed) {
      const s = await clientJson(t, user, "GET", `/_matrix/client/v3/sync?timeout=${Math.min(30_000, Math.max(0, end - Date.now()))}&filter=${SYNC_FILTER}&since=${encodeURIComponent(since)}`);
      since = String(s["next_batch"]);
      if ((s["rooms"] as { join?: Record<string, unknown> } | undefined)?.join?.[room.roomId]) {
        syncMs = performance.now() - t0;
        break;
      }
    }
    const { ms: joinMs, status: joinStatus } = await joined;
    if (!room.joinedMember) throw new Error(`${t.name}: joined without send_join reaching the room's host`);
    let fullStateMs = NaN;
    let joinedSeen = 0;
    while (Date.now() < end) {
      // A target still completing a partial join may answer 503 (Zion, after waiting up to 60 s): not yet, ask again.
      const a = await call(t.clientUrl, path("joined_members"), user.token, "GET");
      if (a.status === 503) {
        await sleep(250);
        continue;
      }
      if (a.status !== 200) throw new Error(`${t.name}: GET joined_members: ${a.status} ${a.body.slice(0, 300)}`);
      const j = JSON.parse(a.body) as Record<string, unknown>;
      joinedSeen = Object.keys((j["joined"] ?? {}) as object).length;
      if (joinedSeen >= members + 1) {
        fullStateMs = performance.now() - t0;
        break;
      }
      await sleep(250);
    }
    return { stateEvents, members, partial: room.omitMembersAsked, prepareS, joinMs, joinStatus, syncMs, fullStateMs, joinedSeen, rssBefore, ...m.stop() };
  } finally {
    m.stop();
  }
}

/** The conflict room's base: two admins on servers[1] and servers[2], `members` members on the others. */
export function buildConflictRoom(servers: readonly RemoteServer[], members: number): RemoteRoom {
  const [host, a, b] = [servers[0]!, servers[1]!, servers[2]!];
  const others = servers.slice(3);
  return new RemoteRoom(servers, (add, room) => {
    const admins = { a: `@admin:${a.name}`, b: `@admin:${b.name}` };
    add("m.room.power_levels", "", { users: { [room.owner]: 100, [admins.a]: 100, [admins.b]: 100 }, users_default: 0, events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0 }, room.owner, host);
    add("m.room.member", admins.a, { membership: "join" }, admins.a, a);
    add("m.room.member", admins.b, { membership: "join" }, admins.b, b);
    for (let i = 0; i < members; i++) {
      const s = others[i % others.length]!;
      add("m.room.member", `@m${i}:${s.name}`, { membership: "join" }, `@m${i}:${s.name}`, s);
    }
  });
}

/** Sizes of the two forks from the total of conflicted events: one power-levels change in ten, the rest bans or kicks. */
export function conflictShape(total: number): { members: number; powerLevels: number } {
  const perFork = Math.floor(total / 2);
  const powerLevels = Math.max(1, Math.floor(perFork / 10));
  return { members: perFork - powerLevels, powerLevels };
}

interface Forks { readonly a: Pdu[]; readonly b: Pdu[]; readonly expected: Map<string, string> }

/** The two forks from the target's join, signed now, and the event resolution must keep for each conflicted key. */
export function prepareForks(room: RemoteRoom, powerLevels: number, members: number): Forks {
  const join = room.joinedMember;
  if (!join) throw new Error("the target has not joined yet");
  const servers = room.servers;
  const create = room.current("m.room.create", "")!.eventId;
  const basePl = room.current("m.room.power_levels", "")!;
  const t0 = Date.now();
  const every = Math.max(2, Math.floor((members + powerLevels) / powerLevels));
  const fork = (srv: RemoteServer, tag: "a" | "b"): Pdu[] => {
    const admin = `@admin:${srv.name}`;
    const adminMember = room.current("m.room.member", admin)!.eventId;
    const out: Pdu[] = [];
    let prev = join;
    let pl = basePl.eventId;
    let member = 0;
    let plN = 0;
    for (let idx = 0; member < members || plN < powerLevels; idx++) {
      // Fork a wins the even positions, fork b the odd ones.
      const ts = t0 + 10 * idx + ((idx % 2 === 0) === (tag === "a") ? 6 : 3);
      let p: Pdu;
      if ((idx % every === every - 1 && plN < powerLevels) || member >= members) {
        const content: JsonObject = { ...(basePl.content as JsonObject), events: { [`org.zion.bench.fork.${tag}`]: ++plN } };
        p = buildPdu(V11, { type: "m.room.power_levels", stateKey: "", content, sender: admin, roomId: room.roomId, prevEvents: [prev.eventId], authEvents: [create, pl, adminMember], depth: prev.depth + 1, originServerTs: ts }, srv.signer);
        pl = p.eventId;
      } else {
        const target = room.events.find((e) => e.stateKey === `@m${member}:${servers[3 + (member % (servers.length - 3))]!.name}`)!;
        member++;
        p = buildPdu(V11, {
          type: "m.room.member", stateKey: target.stateKey!, content: tag === "a" ? { membership: "ban", reason: "bench fork a" } : { membership: "leave", reason: "bench fork b" },
          sender: admin, roomId: room.roomId, prevEvents: [prev.eventId], authEvents: [create, pl, adminMember, target.eventId], depth: prev.depth + 1, originServerTs: ts,
        }, srv.signer);
      }
      room.register(p);
      out.push(p);
      prev = p;
    }
    return out;
  };
  const a = fork(servers[1]!, "a");
  const b = fork(servers[2]!, "b");
  const expected = new Map<string, string>();
  for (const [x, y] of a.map((e, i) => [e, b[i]!] as const)) {
    const key = `${x.type}\u0000${x.stateKey}`;
    if (`${y.type}\u0000${y.stateKey}` !== key) throw new Error("the forks must change the same keys in the same order");
    const win = x.originServerTs > y.originServerTs ? x : y;
    const had = expected.get(key);
    // The last power-levels change of either fork is the later one by timestamp.
    if (!had || [...a, ...b].find((e) => e.eventId === had)!.originServerTs < win.originServerTs) expected.set(key, win.eventId);
  }
  return { a, b, expected };
}

export async function stateConflicts(t: Target, user: LocalUser, room: RemoteRoom, shape: { members: number; powerLevels: number }, https: HttpsClient, allowRange: string, deadlineMs: number): Promise<ConflictResult> {
  const { a, b, expected } = prepareForks(room, shape.powerLevels, shape.members);
  let rejected = 0;
  let firstError: string | undefined;
  const send = async (srv: RemoteServer, pdus: Pdu[]) => {
    const fed = ipLiteralFederationClient(https, srv.name, srv.key, [allowRange]);
    const run = Date.now().toString(36);
    for (let i = 0; i < pdus.length; i += TXN_SIZE) {
      const res = await fed.request({ destination: t.serverName as ServerName, method: "PUT", path: `/_matrix/federation/v1/send/c${run}.${i}`, body: { origin: srv.name, origin_server_ts: Date.now(), pdus: pdus.slice(i, i + TXN_SIZE).map((p) => p.raw) } });
      if (res.status !== 200) throw new Error(`${t.name}: /send from ${srv.name} answered ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      for (const [id, r] of Object.entries((res.body as { pdus?: Record<string, { error?: string }> }).pdus ?? {})) {
        if (r.error === undefined) continue;
        rejected++;
        firstError ??= `${id}: ${r.error}`;
      }
    }
  };
  const m = meter(t.pid);
  try {
    const t0 = performance.now();
    await Promise.all([send(room.servers[1]!, a), send(room.servers[2]!, b)]);
    const sendMs = performance.now() - t0;
    const end = Date.now() + deadlineMs;
    let convergedMs = NaN;
    let keysRight = 0;
    let endState = { a: 0, b: 0, neither: 0 };
    const aIds = new Set<string>(a.map((e) => e.eventId));
    const bIds = new Set<string>(b.map((e) => e.eventId));
    for (;;) {
      const a0 = await call(t.clientUrl, `/_matrix/client/v3/rooms/${encodeURIComponent(room.roomId)}/state`, user.token);
      if (a0.status !== 200) throw new Error(`${t.name}: GET /state: ${a0.status} ${a0.body.slice(0, 300)}`);
      const state = new Map((JSON.parse(a0.body) as { type: string; state_key: string; event_id: string }[]).map((e) => [`${e.type}\u0000${e.state_key}`, e.event_id]));
      keysRight = [...expected].filter(([k, id]) => state.get(k) === id).length;
    endState = { a: 0, b: 0, neither: 0 };
    for (const k of expected.keys()) {
      const id = state.get(k) ?? "";
      endState[aIds.has(id) ? "a" : bIds.has(id) ? "b" : "neither"]++;
    }
      if (keysRight === expected.size) {
        convergedMs = performance.now() - t0;
        break;
      }
      if (Date.now() > end) break;
      await sleep(250);
    }
    const usage = m.stop();
    const unconverged = Number.isFinite(convergedMs) ? undefined : await probeForks(t, user, room, a, b, https, allowRange);
    return { events: a.length + b.length, keys: expected.size, wonByA: [...expected.values()].filter((id) => aIds.has(id)).length, sendMs, convergedMs, keysRight, endState, rejected, ...(firstError ? { firstError } : {}), ...(unconverged ? { unconverged } : {}), ...usage };
  } finally {
    m.stop();
  }
}

/** After a failed convergence: whether the target kept the fork events and what state it has at each fork's tip. */
async function probeForks(t: Target, user: LocalUser, room: RemoteRoom, a: Pdu[], b: Pdu[], https: HttpsClient, allowRange: string): Promise<Unconverged> {
  const fed = ipLiteralFederationClient(https, room.host.name, room.host.key, [allowRange]);
  const roomPath = encodeURIComponent(room.roomId);
  let servedToClient = 0;
  let servedOverFederation = 0;
  for (const e of [...a, ...b]) {
    const c = await call(t.clientUrl, `/_matrix/client/v3/rooms/${roomPath}/event/${encodeURIComponent(e.eventId)}`, user.token);
    if (c.status === 200) servedToClient++;
    const f = await fed.request({ destination: t.serverName as ServerName, method: "GET", path: `/_matrix/federation/v1/event/${encodeURIComponent(e.eventId)}` });
    if (f.status === 200 && ((f.body as { pdus?: unknown[] }).pdus ?? []).length === 1) servedOverFederation++;
  }
  const basePl: string[] = room.events.filter((e) => e.type === "m.room.power_levels").map((e) => e.eventId);
  const stateAtTips: Unconverged["stateAtTips"][number][] = [];
  for (const [fork, pdus] of [["a", a], ["b", b]] as const) {
    const tip = pdus[pdus.length - 1]!;
    const r = await fed.request({ destination: t.serverName as ServerName, method: "GET", path: `/_matrix/federation/v1/state_ids/${roomPath}?event_id=${encodeURIComponent(tip.eventId)}` });
    const ids = r.status === 200 ? ((r.body as { pdu_ids?: string[] }).pdu_ids ?? []) : [];
    const forkPl = new Set<string>(pdus.filter((e) => e.type === "m.room.power_levels").map((e) => e.eventId));
    stateAtTips.push({ fork, status: r.status, events: ids.length, powerLevels: ids.some((id) => forkPl.has(id) || basePl.includes(id)) });
  }
  return { servedToClient, servedOverFederation, stateAtTips };
}
