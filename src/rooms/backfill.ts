/**
 * Backfill for /messages (issue 14): when a backwards page comes back short and the room's oldest timeline events
 * cite prev events this server does not hold, older history is asked of the room's other servers with /backfill.
 *
 * 1. The gap: prev events of the oldest timeline events (BACKFILL_SCAN of them) that are unknown or outliers.
 * 2. Servers: the room creator's server first, then the servers of joined members, ourselves left out, at most
 *    BACKFILL_SERVERS of them, each with BACKFILL_TIMEOUT_MS; the first that answers with events is used.
 * 3. The events are verified (format, signatures, content hash: verifyRemoteBatch), then ingested oldest first in the
 *    room's queue: auth events fetched with /event_auth when unknown, the auth rules checked against them and
 *    against the state before the event (the state after its prev events when held, else /state_ids at the event),
 *    and persisted `backfilled` (a negative stream position: never in /sync, never a forward extremity, no change of
 *    the current state). A failing event is stored rejected; one whose state cannot be fetched is left out.
 */
import { checkAgainstState, checkAuthEvents } from "../core/auth/index.js";
import { stateKeyOf, type Pdu, type StateKey, type StateMap } from "../core/events/index.js";
import type { EventId, RoomId, ServerName } from "../core/ids/index.js";
import type { RoomVersionRules } from "../core/room-versions/index.js";
import { ensureAuthEvents, persistOutliers, resolveForks, verifyRemoteBatch, type RoomIngestContext } from "./remote-event.js";

export const BACKFILL_LIMIT = 100;
export const BACKFILL_SERVERS = 3;
export const BACKFILL_TIMEOUT_MS = 10_000;
export const BACKFILL_SCAN = 20;
/** Events fetched with /event to fill the state before one backfilled event. */
const STATE_FETCH_LIMIT = 500;

export interface BackfillClient {
  backfill(destination: ServerName, roomId: RoomId, from: readonly EventId[], limit: number, rules: RoomVersionRules, opts?: { timeoutMs?: number }): Promise<Pdu[]>;
}

const serverOf = (id: string): ServerName => id.slice(id.indexOf(":") + 1) as ServerName;

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
export async function fetchBackfill(client: BackfillClient, servers: readonly ServerName[], roomId: RoomId, from: readonly EventId[], limit: number, rules: RoomVersionRules): Promise<{ origin: ServerName; pdus: Pdu[] } | null> {
  for (const server of servers) {
    try {
      const pdus = await client.backfill(server, roomId, from.slice(0, 20), Math.min(Math.max(limit, 1), BACKFILL_LIMIT), rules, { timeoutMs: BACKFILL_TIMEOUT_MS });
      if (pdus.length > 0) return { origin: server, pdus };
    } catch {
      // unreachable or failing: the next server
    }
  }
  return null;
}

/** Step 3, in the room's queue: verify and persist the events as backfilled history. Returns the ids stored. */
export async function ingestBackfill(ctx: RoomIngestContext, pdus: readonly Pdu[]): Promise<EventId[]> {
  const verdicts = await verifyRemoteBatch(ctx.remote.keys, pdus.map((p) => ({ raw: p.raw, rules: ctx.rules, roomId: ctx.roomId, eventId: p.eventId })));
  const good = verdicts.filter((v) => v.ok && v.pdu).map((v) => v.pdu!).sort((a, b) => a.depth - b.depth);
  const stored: EventId[] = [];
  for (const pdu of good) {
    const existing = (await ctx.storage.events.getEvents([pdu.eventId])).get(pdu.eventId);
    if (existing && !existing.outlier) continue;
    const authOk = await ensureAuthEvents(ctx, pdu);
    if (typeof authOk === "string") continue;
    const authStored = await ctx.storage.events.getEvents(pdu.authEvents);
    let rejection: string | null = pdu.authEvents.some((id) => authStored.get(id)?.rejectionReason) ? "one of its auth events was rejected" : null;
    if (!rejection) {
      const v = checkAuthEvents(pdu, pdu.authEvents.map((id) => authStored.get(id)!.pdu), ctx.rules);
      if (!v.allowed) rejection = `${v.reason} (auth rule ${v.rule}, against its auth events)`;
    }
    const prevs = await ctx.storage.events.getEvents(pdu.prevEvents);
    const allHeld = pdu.prevEvents.every((id) => { const e = prevs.get(id); return e && !e.outlier; });
    let before: StateMap | string;
    if (allHeld) {
      const states: StateMap[] = [];
      for (const id of pdu.prevEvents) states.push((await ctx.storage.state.getStateAtEvent(id, "after")) ?? new Map());
      before = await resolveForks(ctx, states);
    } else before = await remoteStateBefore(ctx, pdu.eventId);
    if (typeof before === "string") continue;
    if (!rejection) {
      const beforePdus = await ctx.storage.events.getPdus([...before.values()]);
      const v = checkAgainstState(pdu, (k) => { const id = before.get(k); return id ? beforePdus.get(id) : undefined; }, ctx.rules);
      if (!v.allowed) rejection = `${v.reason} (auth rule ${v.rule}, against the state before the event)`;
    }
    const stateBefore = allHeld && pdu.prevEvents.length === 1 ? { after: pdu.prevEvents[0]! } : { state: before };
    await ctx.storage.events.persistEvents({
      events: [{ pdu, backfilled: true, stateBefore, ...(rejection ? { rejectionReason: rejection } : {}) }],
      receivedTs: ctx.nowTs(),
    });
    stored.push(pdu.eventId);
  }
  return stored;
}

/** The state before an event, from /state_ids at it; the state events we lack are fetched and stored as outliers. */
async function remoteStateBefore(ctx: RoomIngestContext, eventId: EventId): Promise<StateMap | string> {
  let ids: { pduIds: EventId[]; authChainIds: EventId[] };
  try {
    ids = await ctx.remote.client.getStateIds(ctx.origin, ctx.roomId, eventId);
  } catch (e) {
    return `cannot fetch the state at ${eventId}: ${e instanceof Error ? e.message : String(e)}`;
  }
  const want = [...new Set([...ids.pduIds, ...ids.authChainIds])];
  const have = await ctx.storage.events.haveEvents(want);
  const missing = want.filter((id) => !have.has(id));
  if (missing.length > STATE_FETCH_LIMIT) return `the state at ${eventId} lacks ${missing.length} events`;
  const fetched: Pdu[] = [];
  for (const id of missing) {
    try {
      fetched.push(await ctx.remote.client.getEvent(ctx.origin, id, ctx.rules));
    } catch (e) {
      return `cannot fetch state event ${id}: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  if (fetched.length > 0) await persistOutliers(ctx, fetched);
  const state = new Map<StateKey, EventId>();
  const pdus = await ctx.storage.events.getPdus(ids.pduIds);
  for (const id of ids.pduIds) {
    const p = pdus.get(id);
    if (p && p.stateKey !== undefined) state.set(stateKeyOf(p.type, p.stateKey), id);
  }
  return state;
}
