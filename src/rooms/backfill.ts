/**
 * Backfill for /messages (issue 14): when a backwards page comes back short and the room's oldest timeline events
 * cite prev events this server does not hold, older history is asked of the room's other servers with /backfill
 * (https://spec.matrix.org/v1.16/server-server-api/#backfilling-and-retrieving-missing-events).
 *
 * 1. The gap: prev events of the oldest timeline events (BACKFILL_SCAN of them) that are unknown or outliers.
 * 2. Servers: the room creator's server first, then the servers of joined members, ourselves left out, at most
 *    BACKFILL_SERVERS of them, each with BACKFILL_TIMEOUT_MS; the first that answers with events is used.
 * 3. Outside the room's queue (prepareBackfill), everything the network has to give: the events are verified
 *    (format, signatures, content hash: verifyRemoteBatch), unknown auth events are fetched with /event_auth, and
 *    for an event whose prev events are neither held nor in the answer, the state before it with /state_ids and
 *    /event for the state events we lack. Nothing is written yet.
 * 4. In the room's queue (ingestBackfill), no network at all: the fetched auth and state events are stored as
 *    outliers, then the answer's events oldest first are checked against their auth events and against the state
 *    before them (the state after their prev events when held, else the state fetched in step 3) and persisted
 *    `backfilled` (a negative stream position: never in /sync, never a forward extremity, no change of the current
 *    state). A failing event is stored rejected; one whose auth events or state are missing is left out, and so is
 *    one held as an accepted outlier that would fail (the state a join brought: backfill never overturns a verdict
 *    the current state relies on). Each is logged.
 *
 * A backfill that stored nothing is remembered for its room and gap (BackfillMemo), so that a client polling
 * /messages does not send the same request to the same servers every time.
 */
import { checkAuthEvents } from "../core/auth/index.js";
import { stateKeyOf, type Pdu, type StateKey, type StateMap } from "../core/events/index.js";
import type { EventId, RoomId, ServerName } from "../core/ids/index.js";
import type { RoomVersionRules } from "../core/room-versions/index.js";
import type { EventToPersist } from "../storage/ports.js";
import { checkOverState, createOf, outlierEntries, PendingIngest, resolveForks, verifyRemoteBatch, type RoomIngestContext } from "./remote-event.js";

export const BACKFILL_LIMIT = 100;
export const BACKFILL_SERVERS = 3;
export const BACKFILL_TIMEOUT_MS = 10_000;
export const BACKFILL_SCAN = 20;
/** Events fetched with /event to fill the state before one backfilled event. */
const STATE_FETCH_LIMIT = 500;

export interface BackfillClient {
  backfill(destination: ServerName, roomId: RoomId, from: readonly EventId[], limit: number, rules: RoomVersionRules, opts?: { timeoutMs?: number }): Promise<Pdu[]>;
}

/** Where backfill says what it left out or rejected, and why (app/: the server's logger). */
export interface BackfillLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export const silentBackfillLog: BackfillLog = { info() {}, warn() {} };

const serverOf = (id: string): ServerName => id.slice(id.indexOf(":") + 1) as ServerName;
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Step 1: the unknown prev events of the room's oldest timeline events (empty: nothing to backfill). */
export async function backfillFrontier(ctx: Pick<RoomIngestContext, "storage" | "roomId">): Promise<EventId[]> {
  const oldest = await ctx.storage.events.getRoomEventsTopological(ctx.roomId, { from: { depth: 0, stream: Number.MIN_SAFE_INTEGER }, direction: "f", limit: BACKFILL_SCAN });
  const prevs = [...new Set(oldest.events.flatMap((e) => e.pdu.prevEvents))];
  const have = await ctx.storage.events.getEvents(prevs);
  return prevs.filter((id) => { const e = have.get(id); return !e || e.outlier; });
}

/** Step 2: the servers to ask, creator's first, ourselves left out. */
export async function backfillServers(ctx: Pick<RoomIngestContext, "storage" | "roomId">, self: ServerName): Promise<ServerName[]> {
  const out = new Set<ServerName>();
  const room = await ctx.storage.rooms.getRoom(ctx.roomId);
  if (room) out.add(serverOf(room.creator));
  const state = await ctx.storage.rooms.getCurrentState(ctx.roomId);
  const memberIds = [...state].filter(([k]) => k.startsWith("m.room.member")).map(([, id]) => id);
  const pdus = await ctx.storage.events.getPdus(memberIds);
  for (const p of pdus.values()) if (p.type === "m.room.member" && p.content["membership"] === "join" && p.stateKey) out.add(serverOf(p.stateKey));
  out.delete(self);
  return [...out].slice(0, BACKFILL_SERVERS);
}

/** Step 2's requests: the first server answering with events, and its events (none: every server failed or had none). */
export async function fetchBackfill(client: BackfillClient, servers: readonly ServerName[], roomId: RoomId, from: readonly EventId[], limit: number, rules: RoomVersionRules, log: BackfillLog = silentBackfillLog): Promise<{ origin: ServerName; pdus: Pdu[] } | null> {
  for (const server of servers) {
    try {
      const pdus = await client.backfill(server, roomId, from.slice(0, 20), Math.min(Math.max(limit, 1), BACKFILL_LIMIT), rules, { timeoutMs: BACKFILL_TIMEOUT_MS });
      if (pdus.length > 0) return { origin: server, pdus };
      log.info({ room_id: roomId, server }, "backfill: the server has no older events");
    } catch (e) {
      log.info({ room_id: roomId, server, error: messageOf(e) }, "backfill: the server failed; trying the next");
    }
  }
  return null;
}

/** Step 3's result: what step 4 writes, all of it fetched already. */
export interface PreparedBackfill {
  /** The answer's verified events not yet held in the timeline, oldest first. */
  readonly events: readonly Pdu[];
  /** Fetched auth and state events, verified and checked against their own auth events, to store as outliers. */
  readonly outliers: readonly EventToPersist[];
  /** For an event whose prev events are neither held nor in the answer: the ids of the state before it (/state_ids). */
  readonly stateBefore: ReadonlyMap<EventId, readonly EventId[]>;
}

/** Step 3, outside the room's queue: verification and every fetch the answer needs. Writes nothing. */
export async function prepareBackfill(ctx: RoomIngestContext, pdus: readonly Pdu[], log: BackfillLog = silentBackfillLog): Promise<PreparedBackfill> {
  const verdicts = await verifyRemoteBatch(ctx.remote.keys, pdus.map((p) => ({ raw: p.raw, rules: ctx.rules, roomId: ctx.roomId, eventId: p.eventId })));
  for (const v of verdicts) if (!v.ok) log.warn({ room_id: ctx.roomId, origin: ctx.origin, event_id: v.eventId, reason: v.failures.map((f) => `${f.check}: ${f.reason}`).join("; ") }, "backfill: event failed verification; left out");
  const verified = verdicts.filter((v) => v.ok && v.pdu).map((v) => v.pdu!).sort((a, b) => a.depth - b.depth);
  const held = await ctx.storage.events.getEvents([...new Set(verified.flatMap((p) => [p.eventId, ...p.authEvents, ...p.prevEvents]))]);
  const events = verified.filter((p) => { const e = held.get(p.eventId); return !e || e.outlier; });
  const inAnswer = new Set(verified.map((p) => p.eventId));
  const fetched = new Map<EventId, Pdu>();
  const known = (id: EventId) => inAnswer.has(id) || fetched.has(id) || held.has(id);
  const stateBefore = new Map<EventId, readonly EventId[]>();
  for (const pdu of events) {
    if (pdu.authEvents.some((id) => !known(id))) {
      try {
        for (const a of await ctx.remote.client.getEventAuth(ctx.origin, ctx.roomId, pdu.eventId, ctx.rules)) if (!known(a.eventId)) fetched.set(a.eventId, a);
      } catch (e) {
        log.warn({ room_id: ctx.roomId, origin: ctx.origin, event_id: pdu.eventId, error: messageOf(e) }, "backfill: cannot fetch the event's auth events");
      }
    }
    const prevsHere = pdu.prevEvents.every((id) => inAnswer.has(id) || (held.has(id) && !held.get(id)!.outlier));
    if (prevsHere) continue;
    const ids = await remoteStateIds(ctx, pdu.eventId, known, fetched);
    if (typeof ids === "string") log.warn({ room_id: ctx.roomId, origin: ctx.origin, event_id: pdu.eventId, error: ids }, "backfill: cannot fetch the state before the event");
    else stateBefore.set(pdu.eventId, ids);
  }
  const outliers = fetched.size > 0 ? await outlierEntries(ctx, [...fetched.values()]) : [];
  return { events, outliers, stateBefore };
}

/** The ids of the state before an event (/state_ids at it); the events we lack are fetched into `fetched`. */
async function remoteStateIds(ctx: RoomIngestContext, eventId: EventId, known: (id: EventId) => boolean, fetched: Map<EventId, Pdu>): Promise<EventId[] | string> {
  let ids: { pduIds: EventId[]; authChainIds: EventId[] };
  try {
    ids = await ctx.remote.client.getStateIds(ctx.origin, ctx.roomId, eventId);
  } catch (e) {
    return `cannot fetch the state at ${eventId}: ${messageOf(e)}`;
  }
  const want = [...new Set([...ids.pduIds, ...ids.authChainIds])].filter((id) => !known(id));
  const have = await ctx.storage.events.haveEvents(want);
  const missing = want.filter((id) => !have.has(id));
  if (missing.length > STATE_FETCH_LIMIT) return `the state at ${eventId} lacks ${missing.length} events`;
  for (const id of missing) {
    try {
      fetched.set(id, await ctx.remote.client.getEvent(ctx.origin, id, ctx.rules));
    } catch (e) {
      return `cannot fetch state event ${id}: ${messageOf(e)}`;
    }
  }
  return ids.pduIds;
}

/** Step 4, in the room's queue (no network): store the outliers, then check and persist the events. Returns the ids stored. */
export async function ingestBackfill(ctx: RoomIngestContext, prepared: PreparedBackfill, log: BackfillLog = silentBackfillLog): Promise<EventId[]> {
  if (prepared.outliers.length > 0) await ctx.storage.events.persistEvents({ events: prepared.outliers, receivedTs: ctx.nowTs() });
  const stored: EventId[] = [];
  // The state events the checks read, shared by the events of this answer (a state event never changes).
  const reads = new PendingIngest(ctx);
  const leftOut = (pdu: Pdu, reason: string) => log.warn({ room_id: ctx.roomId, origin: ctx.origin, event_id: pdu.eventId, reason }, "backfill: event left out");
  for (const pdu of prepared.events) {
    const existing = (await ctx.storage.events.getEvents([pdu.eventId])).get(pdu.eventId);
    if (existing && !existing.outlier) continue; // arrived meanwhile (a /send or another backfill)
    // In room version 12 the create event is named by the room id and left out of auth_events; the rules read it.
    const createId = createOf(ctx.rules, ctx.roomId);
    const authIds = createId && createId !== pdu.eventId && !pdu.authEvents.includes(createId) ? [...pdu.authEvents, createId] : pdu.authEvents;
    const authStored = await ctx.storage.events.getEvents(authIds);
    const unknownAuth = authIds.filter((id) => !authStored.has(id));
    if (unknownAuth.length > 0) { leftOut(pdu, `auth events ${unknownAuth.join(", ")} are unknown`); continue; }
    let rejection: string | null = authIds.some((id) => authStored.get(id)?.rejectionReason) ? "one of its auth events was rejected" : null;
    if (!rejection) {
      const v = checkAuthEvents(pdu, authIds.map((id) => authStored.get(id)!.pdu), ctx.rules);
      if (!v.allowed) rejection = `${v.reason} (auth rule ${v.rule}, against its auth events)`;
    }
    const prevs = await ctx.storage.events.getEvents(pdu.prevEvents);
    const allHeld = pdu.prevEvents.every((id) => { const e = prevs.get(id); return e && !e.outlier; });
    let before: StateMap | string;
    if (allHeld) {
      const states: StateMap[] = [];
      for (const id of pdu.prevEvents) states.push((await ctx.storage.state.getStateAtEvent(id, "after")) ?? new Map());
      before = await resolveForks(ctx, new PendingIngest(ctx), states);
    } else {
      const ids = prepared.stateBefore.get(pdu.eventId);
      before = ids ? await stateMapOf(ctx, ids) : "its prev events are not held and the state before it was not fetched";
    }
    if (typeof before === "string") { leftOut(pdu, before); continue; }
    if (!rejection) {
      // Only the state events the rules read (not the whole state: in a room of 10,000 members that was every member
      // event read and parsed for every backfilled event).
      const v = await checkOverState(reads, pdu, before, ctx.rules);
      if (!v.allowed) rejection = `${v.reason} (auth rule ${v.rule}, against the state before the event)`;
    }
    if (rejection && existing && !existing.rejectionReason) {
      // Held as an accepted outlier (e.g. the state a join brought, which the current state is made of): backfill
      // never overturns a verdict the room already relies on, so the event stays as it is.
      leftOut(pdu, `held as an accepted outlier, which backfill does not overturn: ${rejection}`);
      continue;
    }
    if (rejection) log.warn({ room_id: ctx.roomId, origin: ctx.origin, event_id: pdu.eventId, reason: rejection }, "backfill: event rejected");
    const stateBefore = allHeld && pdu.prevEvents.length === 1 ? { after: pdu.prevEvents[0]! } : { state: before };
    await ctx.storage.events.persistEvents({
      events: [{ pdu, backfilled: true, stateBefore, ...(rejection ? { rejectionReason: rejection } : {}) }],
      receivedTs: ctx.nowTs(),
    });
    stored.push(pdu.eventId);
  }
  return stored;
}

/** A state map from stored events' ids (those not held are left out: they failed verification). */
async function stateMapOf(ctx: RoomIngestContext, ids: readonly EventId[]): Promise<StateMap> {
  const state = new Map<StateKey, EventId>();
  const pdus = await ctx.storage.events.getPdus(ids);
  for (const id of ids) {
    const p = pdus.get(id);
    if (p && p.stateKey !== undefined) state.set(stateKeyOf(p.type, p.stateKey), id);
  }
  return state;
}

/**
 * Backfills that stored nothing, by room and gap, each remembered for `ttlMs` and at most `capacity` of them (the
 * oldest forgotten first): while remembered, the same gap is not asked for again.
 */
export class BackfillMemo {
  private readonly until = new Map<string, number>();
  constructor(private readonly now: () => number, private readonly ttlMs = 120_000, private readonly capacity = 1000) {}

  static keyOf(roomId: RoomId, frontier: readonly EventId[]): string {
    return `${roomId}\n${[...frontier].sort().join("\n")}`;
  }

  has(key: string): boolean {
    const t = this.until.get(key);
    if (t === undefined) return false;
    if (t > this.now()) return true;
    this.until.delete(key);
    return false;
  }

  remember(key: string): void {
    this.until.delete(key);
    this.until.set(key, this.now() + this.ttlMs);
    while (this.until.size > this.capacity) this.until.delete(this.until.keys().next().value!);
  }

  get size(): number {
    return this.until.size;
  }
}
