/**
 * Remote events through the room pipeline: the checks performed on receipt of a PDU,
 * https://spec.matrix.org/v1.16/server-server-api/#checks-performed-on-receipt-of-a-pdu
 *
 * RoomService.ingestRemote groups a transaction's PDUs by room and runs each room's share in that room's queue (the
 * same KeyedQueue local events use), rooms in parallel. For each room:
 *
 * 1. Format and size (core/events parse), 2. signatures (batched, keys through the KeyRing before the batch),
 *    3. content hash (a mismatch keeps the redacted copy), with the event id: verifyRemoteBatch.
 * Then each event in order (ingestChecked):
 * a. already stored: nothing to do; the room's m.room.server_acl denies the origin or the sender's server: dropped.
 * b. prev events unknown: fetched from the origin with /get_missing_events (MISSING_EVENTS_LIMIT events a request,
 *    walking on until the room's current extremities are reached or the transaction's MISSING_EVENTS_BUDGET is
 *    spent; min_depth the lowest depth Zion holds in the room's timeline), each fetched event ingested first, oldest first, without further gap filling. A prev event still unknown after that is a gap: its state is fetched with /state_ids and only the
 *    events we lack with /event (more than GAP_STATE_FETCH_LIMIT of them: one /state instead); the prev event itself
 *    is stored as an outlier and the gap's state stands for the state after it.
 * 4. Auth events: the cited ones, fetched with /event_auth when some are unknown (stored as outliers, each checked
 *    against its own auth events); the event must pass the auth rules against them, else it is stored rejected.
 * 5. The state before the event: the state after its one prev event, or the resolution (core/state-res, the room
 *    version's algorithm) of the states after each; the event must pass against it, else it is stored rejected.
 * 6. Current state: an event that passes 4 and 5 but not the room's current state is soft-failed (stored, never
 *    shown, never a prev event).
 * Persisting is the same EventStore.persistEvents call local events make, with the state before the event and the
 * new current state (the state after the event when it extends every extremity, else the resolution of the two),
 * made once for all of a room's PDUs in the transaction (PendingIngest): each is checked over what the ones before it
 * left, and they are written together, one storage transaction and one notification.
 *
 * A failure fetching for one event is that event's error; the rest of the transaction goes on.
 */
import { authEventTypesFor, checkAgainstState, checkAuthEvents, createEventIdForRoom, type AuthVerdict } from "../core/auth/index.js";
import type { VerifyKey } from "../core/crypto/index.js";
import { serverAllowedByAcl } from "../core/acl/index.js";
import { keysNeeded, stateKeyOf, verifyEventsBatch, type Pdu, type PduVerdict, type StateKey, type StateMap } from "../core/events/index.js";
import type { EventId, KeyId, RoomId, ServerName } from "../core/ids/index.js";
import type { RoomVersionRules } from "../core/room-versions/index.js";
import { resolveStateAsync } from "../core/state-res/index.js";
import type { Metrics } from "../core/metrics.js";
import type { CurrentStateDelta, EventToPersist, PersistBatch, PersistResult, StateInput, StoredEvent, StoredTransactionResponse, StreamOrdering } from "../storage/ports.js";
import type { RoomOutbound } from "./notifier.js";
import type { RoomStorage } from "./room-service.js";

/** Asked for per /get_missing_events request: the most a server answers (Zion and Synapse cap `limit` at 20). */
export const MISSING_EVENTS_LIMIT = 20;
/**
 * Events fetched with /get_missing_events for one transaction, all its PDUs and rooms together. A sender back from
 * an outage sends only each room's newest events and leaves the gap to us (its catch-up, as the specification
 * intends), so the walk goes on request after request until it reaches events we hold, within this budget.
 */
export const MISSING_EVENTS_BUDGET = 500;
/**
 * Events fetched one by one with /event to fill the state at a gap, per gap; a gap lacking more is filled with one
 * /state request instead (the whole state and auth chain at once, as the partial-state completion does).
 */
export const GAP_STATE_FETCH_LIMIT = 500;

/** Remote signing keys (the KeyRing). */
export interface EventKeySource {
  getKeysForEvents(server: ServerName, keyIds: readonly KeyId[], validAt: number | undefined): Promise<Map<KeyId, VerifyKey>>;
}

/** The FederationClient methods the pipeline calls. */
export interface RemoteEventClient {
  getEvent(destination: ServerName, eventId: EventId, rules: RoomVersionRules): Promise<Pdu>;
  getStateIds(destination: ServerName, roomId: RoomId, eventId: EventId): Promise<{ pduIds: EventId[]; authChainIds: EventId[] }>;
  getState(destination: ServerName, roomId: RoomId, eventId: EventId, rules: RoomVersionRules): Promise<{ pdus: Pdu[]; authChain: Pdu[] }>;
  getEventAuth(destination: ServerName, roomId: RoomId, eventId: EventId, rules: RoomVersionRules): Promise<Pdu[]>;
  getMissingEvents(
    destination: ServerName, roomId: RoomId,
    q: { readonly earliestEvents: readonly EventId[]; readonly latestEvents: readonly EventId[]; readonly limit: number; readonly minDepth?: number },
    rules: RoomVersionRules,
  ): Promise<Pdu[]>;
}

export interface RemoteDeps {
  readonly keys: EventKeySource;
  readonly client: RemoteEventClient;
  /** State-resolution runs and their time (docs/metrics.md); absent: not measured. */
  readonly metrics?: Metrics;
}

/** One PDU's outcome, as /send reports it: ok, or an error string. */
export type IngestOutcome =
  | { readonly eventId: EventId; readonly ok: true; readonly softFailed?: boolean; readonly redacted?: boolean; readonly alreadyKnown?: boolean }
  | { readonly eventId: EventId; readonly ok: false; readonly error: string; readonly stored: "rejected" | "dropped" };

const serverOf = (id: string): string => id.slice(id.indexOf(":") + 1);

/** Steps 1-3 for a batch: fetch every key the batch cites, then verify all with one call. */
export async function verifyRemoteBatch(keys: EventKeySource, items: readonly { raw: unknown; rules: RoomVersionRules; roomId?: string; eventId?: string }[]): Promise<PduVerdict[]> {
  const toCheck = items.map((i) => ({
    raw: i.raw, rules: i.rules,
    ...(i.roomId !== undefined ? { expectedRoomId: i.roomId } : {}),
    ...(i.eventId !== undefined ? { expectedEventId: i.eventId } : {}),
  }));
  const found = new Map<string, VerifyKey>();
  await Promise.all([...keysNeeded(toCheck)].map(async ([server, ids]) => {
    try {
      const got = await keys.getKeysForEvents(server as ServerName, [...ids] as KeyId[], undefined);
      for (const [id, k] of got) found.set(`${server}|${id}`, k);
    } catch {
      // A server whose keys cannot be fetched: its events fail the signature check.
    }
  }));
  return verifyEventsBatch(toCheck, (server, keyId) => found.get(`${server}|${keyId}`));
}

export interface RoomIngestContext {
  readonly storage: RoomStorage;
  readonly remote: RemoteDeps;
  readonly roomId: RoomId;
  readonly rules: RoomVersionRules;
  readonly origin: ServerName;
  readonly nowTs: () => number;
  /** After a successful persist (the notifier), with the accepted events. */
  readonly persisted: (maxOrdering: number, events: readonly Pdu[]) => void;
  /** What is left of the transaction's MISSING_EVENTS_BUDGET (shared by its rooms); absent: one request's worth. */
  readonly missingEventsBudget?: { left: number };
  /**
   * send_join / send_leave / send_knock: the event came to us, the resident server, on behalf of its origin, and we
   * send it on to the room's other servers (the origin left out), queued in the event's own transaction as a local
   * event is. Events of a /send transaction are not forwarded: their origin sends them to everyone itself.
   */
  readonly forwardTo?: RoomOutbound;
  /**
   * The room's state is partial (joined with members omitted, partial-state.ts step 2): a member key a check needs
   * that the state lacks is taken from the event's own auth events, which passed their own checks.
   */
  readonly partialState?: boolean;
}

/**
 * What one queue task of a room has checked but not written yet. A transaction's PDUs are checked one after another,
 * each over what the ones before it left (their state after them, the room's current state after them), read from
 * here: the pending events, and the stored events, states and current state read once for the whole task. The
 * accepted, rejected and soft-failed events are then written together, in one persistEvents call and one
 * notification (`flush`), which RoomService.ingestRemote makes when the room's share of the transaction is done.
 * What must see storage complete flushes first: filling a gap (/get_missing_events, /state_ids), fetching unknown
 * auth events, and reading the forward extremities an accepted state event may fork from.
 */
export class PendingIngest {
  private readonly entries: EventToPersist[] = [];
  private readonly deltas: CurrentStateDelta[] = [];
  private readonly accepted: Pdu[] = [];
  /** Events of this task, pending or stored (only found ones: an unknown event may be stored meanwhile). */
  private readonly events = new Map<EventId, StoredEvent>();
  /** The state after events read or checked by this task (state groups never change). */
  private readonly after = new Map<EventId, StateMap>();
  private readonly pendingIds: EventId[] = [];
  /** Events `prefetch` found unknown, until a write outside the batch (`settle`). */
  private readonly absent = new Set<EventId>();
  private current: StateMap | null = null;
  /** Events whose write failed, with the error: nothing of their batch was written. */
  readonly failed = new Map<EventId, string>();

  constructor(private readonly ctx: Pick<RoomIngestContext, "storage" | "roomId" | "nowTs" | "persisted">) {}

  /** Stored or pending events among `ids`. */
  async getEvents(ids: readonly EventId[]): Promise<ReadonlyMap<EventId, StoredEvent>> {
    const out = new Map<EventId, StoredEvent>();
    const lacking: EventId[] = [];
    for (const id of ids) {
      const e = this.events.get(id);
      if (e) out.set(id, e);
      else if (!this.absent.has(id)) lacking.push(id);
    }
    if (lacking.length > 0) {
      for (const [id, e] of await this.ctx.storage.events.getEvents(lacking)) {
        this.events.set(id, e);
        out.set(id, e);
      }
    }
    return out;
  }

  /**
   * Reads the events a transaction's PDUs are and cite in one query: those found are kept, those not found are
   * taken as unknown without asking again (they can only be written by this task: by the batch, or after settle).
   */
  async prefetch(pdus: readonly Pdu[]): Promise<void> {
    const ids = [...new Set(pdus.flatMap((p) => [p.eventId, ...p.prevEvents, ...p.authEvents]))];
    const got = await this.getEvents(ids);
    for (const id of ids) if (!got.has(id)) this.absent.add(id);
  }

  /** Before a write outside the batch (outliers fetched for a gap or an auth chain): flush, and forget `prefetch`'s unknowns. */
  async settle(): Promise<void> {
    await this.flush();
    this.absent.clear();
  }

  /** An event this task has read or checked, without a storage read. */
  known(id: EventId): StoredEvent | undefined {
    return this.events.get(id);
  }

  /** The state after a stored or pending event (null: not stored in the timeline). */
  async stateAfter(id: EventId): Promise<StateMap | null> {
    const hit = this.after.get(id);
    if (hit) return hit;
    const s = await this.ctx.storage.state.getStateAtEvent(id, "after");
    if (s) this.after.set(id, s);
    return s;
  }

  /** The room's current state with the pending events' changes. */
  async currentState(): Promise<StateMap> {
    this.current ??= await this.ctx.storage.rooms.getCurrentState(this.ctx.roomId);
    return this.current;
  }

  /** A checked event, to be written at the next flush; `after` is the state after it, `delta` its current-state change. */
  add(entry: EventToPersist, after: StateMap, delta: CurrentStateDelta | null): void {
    const id = entry.pdu.eventId;
    this.entries.push(entry);
    this.pendingIds.push(id);
    this.events.set(id, {
      pdu: entry.pdu, streamOrdering: 0 as StreamOrdering, outlier: false, rejectionReason: entry.rejectionReason ?? null,
      softFailed: entry.softFailed === true, backfilled: false, receivedTs: this.ctx.nowTs(),
    });
    this.after.set(id, after);
    if (delta) {
      // The checks read the current state before an event is added, so it is here to change.
      if (!this.current) throw new Error("PendingIngest.add: a current-state change before the current state was read");
      if (delta.replace) this.current = delta.set;
      else {
        const next = new Map(this.current);
        for (const k of delta.remove ?? []) next.delete(k);
        for (const [k, v] of delta.set) next.set(k, v);
        this.current = next;
      }
      this.deltas.push(delta);
    }
    if (!entry.rejectionReason && !entry.softFailed) this.accepted.push(entry.pdu);
  }

  /**
   * Writes the pending events in one persistEvents call and notifies once. On failure nothing was written: the
   * events are recorded in `failed`, forgotten here (later checks read storage again), and the error is thrown.
   * `inboundTxn`: the /send transaction's answer, written in the same storage transaction; what storage kept is
   * returned (undefined when nothing was pending, so nothing was written).
   */
  async flush(outbound?: { destinations: readonly ServerName[]; eventIds: readonly EventId[] }, inboundTxn?: PersistBatch["inboundTxn"]): Promise<StoredTransactionResponse | undefined> {
    if (this.entries.length === 0) return undefined;
    const entries = this.entries.splice(0);
    const deltas = this.deltas.splice(0);
    const accepted = this.accepted.splice(0);
    const ids = this.pendingIds.splice(0);
    let result: PersistResult;
    try {
      result = await this.ctx.storage.events.persistEvents({
        events: entries, state: deltas, receivedTs: this.ctx.nowTs(),
        ...(outbound ? { outbound } : {}),
        ...(inboundTxn ? { inboundTxn } : {}),
      });
    } catch (e) {
      const error = `could not process the event: ${e instanceof Error ? e.message : String(e)}`;
      for (const id of ids) {
        this.failed.set(id, error);
        this.events.delete(id);
        this.after.delete(id);
      }
      this.current = null;
      throw e;
    }
    if (accepted.length > 0) this.ctx.persisted(result.maxOrdering, accepted);
    return result.inboundTxn;
  }
}

/** Runs inside the room's queue: steps a-6 and persisting for one verified event. */
export async function ingestChecked(ctx: RoomIngestContext, pdu: Pdu, opts: { fillGaps: boolean; redacted: boolean }): Promise<IngestOutcome> {
  const b = new PendingIngest(ctx);
  const outcome = await ingestInBatch(ctx, b, pdu, opts);
  await b.flush();
  return outcome;
}

/**
 * Steps a-6 for one verified event, in the room's queue, over `b` (what the task's earlier events left); the event
 * joins `b`, written at its next flush (at once when it is forwarded: forwardTo).
 */
export async function ingestInBatch(ctx: RoomIngestContext, b: PendingIngest, pdu: Pdu, opts: { fillGaps: boolean; redacted: boolean }): Promise<IngestOutcome> {
  const { roomId, rules, origin } = ctx;
  const eventId = pdu.eventId;
  // Step a.
  // An outlier (fetched for an auth chain or at a gap) that now arrives as a timeline event is processed as one, as
  // Synapse does: otherwise a message first seen at a gap would never reach the timeline.
  const existing = (await b.getEvents([eventId])).get(eventId);
  if (existing && !(existing.outlier && existing.rejectionReason === null)) return { eventId, ok: true, alreadyKnown: true };
  const aclId = (await b.currentState()).get(stateKeyOf("m.room.server_acl", ""));
  if (aclId) {
    const acl = (await b.getEvents([aclId])).get(aclId)?.pdu;
    for (const server of new Set([origin, serverOf(pdu.sender)])) {
      const v = serverAllowedByAcl(acl?.content, server);
      if (!v.allowed) return { eventId, ok: false, error: `dropped: the room's m.room.server_acl denies ${server} (${v.reason})`, stored: "dropped" };
    }
  }
  // Step b. A prev event stored only as an outlier has no state after it, so it counts as missing too.
  let missingPrev = await withoutStateOf(b, pdu.prevEvents);
  if (missingPrev.length > 0 && opts.fillGaps) {
    await b.settle();
    await fillFromMissingEvents(ctx, b, pdu);
    missingPrev = await withoutStateOf(b, pdu.prevEvents);
  }
  const gapStates: StateMap[] = [];
  if (missingPrev.length > 0) await b.settle();
  for (const prevId of missingPrev) {
    const st = await stateAtGap(ctx, b, prevId);
    if (typeof st === "string") return { eventId, ok: false, error: st, stored: "dropped" };
    gapStates.push(st);
  }
  // Step 4.
  const authOk = await ensureAuthEvents(ctx, b, pdu);
  if (typeof authOk === "string") return { eventId, ok: false, error: authOk, stored: "dropped" };
  const createId = createOf(rules, roomId);
  const authStored = await b.getEvents(createId ? [...pdu.authEvents, createId] : pdu.authEvents);
  const rejectedAuth = pdu.authEvents.find((id) => authStored.get(id)?.rejectionReason);
  let rejection: string | null = rejectedAuth ? `auth event ${rejectedAuth} was rejected` : null;
  if (!rejection) {
    const create = createId ? authStored.get(createId)?.pdu : undefined;
    const v = checkAuthEvents(pdu, [...pdu.authEvents.map((id) => authStored.get(id)!.pdu), ...(create ? [create] : [])], rules);
    if (!v.allowed) rejection = `${v.reason} (auth rule ${v.rule}, against its auth events)`;
  }
  // Partial state: the event's own member auth events stand in for members the state lacks (omitted at the join).
  const fallback = ctx.partialState ? memberAuthEvents(pdu.authEvents.map((id) => authStored.get(id)?.pdu)) : new Map<StateKey, Pdu>();
  // Step 5.
  const known = pdu.prevEvents.filter((id) => !missingPrev.includes(id));
  const states: StateMap[] = [...gapStates];
  for (const id of known) states.push((await b.stateAfter(id)) ?? new Map());
  const before = await resolveForks(ctx, b, states);
  if (typeof before === "string") return { eventId, ok: false, error: before, stored: "dropped" };
  if (!rejection) {
    const v = await checkOverState(b, pdu, before, rules, fallback);
    if (!v.allowed) rejection = `${v.reason} (auth rule ${v.rule}, against the state before the event)`;
  }
  // Step 6.
  let softFailed = false;
  const current = await b.currentState();
  if (!rejection) softFailed = !(await checkOverState(b, pdu, current, rules, fallback)).allowed;
  // Persist (at the batch's flush).
  const stateBefore: StateInput = known.length === 1 && missingPrev.length === 0 ? { after: known[0]! } : { state: before };
  let stateAfter = before;
  if (pdu.stateKey !== undefined && !rejection) {
    const withEvent = new Map(before);
    withEvent.set(stateKeyOf(pdu.type, pdu.stateKey), eventId);
    stateAfter = withEvent;
  }
  let delta: CurrentStateDelta | null = null;
  if (!rejection && !softFailed && pdu.stateKey !== undefined) {
    await b.flush(); // the forward extremities as storage has them
    const extremities = await ctx.storage.rooms.getForwardExtremities(roomId);
    const extendsAll = extremities.every((x) => pdu.prevEvents.includes(x));
    if (extendsAll) delta = { roomId, replace: true, set: stateAfter };
    else {
      const resolved = await resolveForks(ctx, b, [current, stateAfter], new Map([[eventId, pdu]]));
      if (typeof resolved === "string") delta = { roomId, set: new Map([[stateKeyOf(pdu.type, pdu.stateKey), eventId]]) };
      else delta = { roomId, replace: true, set: resolved };
    }
  }
  const forward = !rejection && !softFailed && ctx.forwardTo ? (await ctx.forwardTo.destinationsFor(roomId, pdu)).filter((s) => s !== origin) : [];
  b.add({ pdu, stateBefore, ...(rejection ? { rejectionReason: rejection } : {}), ...(softFailed ? { softFailed: true } : {}) }, stateAfter, delta);
  if (forward.length > 0) {
    await b.flush({ destinations: forward, eventIds: [eventId] });
    ctx.forwardTo!.persisted(forward);
  }
  if (rejection) return { eventId, ok: false, error: rejection, stored: "rejected" };
  return { eventId, ok: true, ...(softFailed ? { softFailed: true } : {}), ...(opts.redacted ? { redacted: true } : {}) };
}

/**
 * The m.room.member events among an event's auth events, by state key: what stands in for memberships a partial
 * state lacks (partial-state.ts step 2). Absent entries (auth events not at hand) are skipped.
 */
export function memberAuthEvents(authEvents: Iterable<Pdu | undefined>): Map<StateKey, Pdu> {
  const out = new Map<StateKey, Pdu>();
  for (const a of authEvents) if (a && a.type === "m.room.member" && a.stateKey !== undefined) out.set(stateKeyOf(a.type, a.stateKey), a);
  return out;
}

/**
 * The auth rules against a state, with the state's events read as the rules ask for them (the auth event types
 * first, then any other entry a rule looks at), rather than every event of the state.
 */
export async function checkOverState(b: PendingIngest, pdu: Pdu, state: StateMap, rules: RoomVersionRules, fallback?: ReadonlyMap<StateKey, Pdu>): Promise<AuthVerdict> {
  const ids = (keys: readonly StateKey[]) => keys.flatMap((k) => { const id = state.get(k); return id && !b.known(id) ? [id] : []; });
  await b.getEvents(ids(authEventTypesFor(pdu, { rules })));
  const absent = new Set<EventId>();
  for (;;) {
    const lacking: EventId[] = [];
    const v = checkAgainstState(pdu, (k) => {
      const id = state.get(k);
      if (!id) return fallback?.get(k);
      const e = b.known(id);
      if (!e && !absent.has(id)) lacking.push(id);
      return e?.pdu;
    }, rules);
    if (lacking.length === 0) return v;
    const got = await b.getEvents(lacking);
    for (const id of lacking) if (!got.has(id)) absent.add(id);
  }
}

/** The ids among `ids` that are not stored in the timeline (unknown, or outliers): no state is known after them. */
async function withoutStateOf(b: PendingIngest, ids: readonly EventId[]): Promise<EventId[]> {
  const have = await b.getEvents(ids);
  return ids.filter((id) => { const e = have.get(id); return !e || e.outlier; });
}

async function missingOf(b: PendingIngest, ids: readonly EventId[]): Promise<EventId[]> {
  const have = await b.getEvents(ids);
  return ids.filter((id) => !have.has(id));
}

/**
 * The `min_depth` of /get_missing_events: the lowest depth among the room's timeline events held here (Synapse's
 * room min_depth; here the visible timeline: no outliers, rejected or soft-failed events). In a room joined over federation that is the join
 * (the state it came with is outliers), or the oldest event backfilled since; in a room created here, the create
 * event. The origin then never walks back into history from before we were in the room, which /backfill fetches
 * when a client asks for it. 0 when the room holds no timeline event.
 */
async function lowestHeldDepth(ctx: RoomIngestContext): Promise<number> {
  const lowest = { depth: Number.MIN_SAFE_INTEGER, stream: Number.MIN_SAFE_INTEGER };
  const { events } = await ctx.storage.events.getRoomEventsTopological(ctx.roomId, { from: lowest, direction: "f", limit: 1 });
  return events[0]?.pdu.depth ?? 0;
}

/**
 * Step b: /get_missing_events from the current extremities back from the event, request after request (each walking
 * on from the fetched events whose prev events we still lack) until the walk reaches what we hold, the origin has
 * nothing more, or the transaction's budget is spent, never below lowestHeldDepth; then every fetched event is
 * ingested, oldest first.
 */
async function fillFromMissingEvents(ctx: RoomIngestContext, b: PendingIngest, pdu: Pdu): Promise<void> {
  const extremities = await ctx.storage.rooms.getForwardExtremities(ctx.roomId);
  const minDepth = await lowestHeldDepth(ctx);
  const budget = ctx.missingEventsBudget ?? { left: MISSING_EVENTS_LIMIT };
  const fetched = new Map<EventId, Pdu>();
  let latest: EventId[] = [pdu.eventId];
  while (latest.length > 0 && budget.left > 0) {
    const limit = Math.min(MISSING_EVENTS_LIMIT, budget.left);
    let got: Pdu[];
    try {
      got = await ctx.remote.client.getMissingEvents(ctx.origin, ctx.roomId, { earliestEvents: extremities.slice(0, 100), latestEvents: latest.slice(0, 100), limit, minDepth }, ctx.rules);
    } catch {
      break; // what is still missing is filled with /state_ids below
    }
    budget.left -= got.length;
    const fresh = got.filter((p) => p.eventId !== pdu.eventId && !fetched.has(p.eventId));
    for (const p of fresh) fetched.set(p.eventId, p);
    if (fresh.length === 0 || got.length < limit) break; // the origin's walk reached our extremities (or its start)
    const prevs = [...new Set(fresh.flatMap((p) => p.prevEvents))].filter((id) => !fetched.has(id) && id !== pdu.eventId);
    const lacking = new Set(await withoutStateOf(b, prevs));
    latest = fresh.filter((p) => p.prevEvents.some((id) => lacking.has(id))).map((p) => p.eventId);
  }
  const ordered = [...fetched.values()].sort((a, b) => a.depth - b.depth);
  const verdicts = await verifyRemoteBatch(ctx.remote.keys, ordered.map((p) => ({ raw: p.raw, rules: ctx.rules, roomId: ctx.roomId, eventId: p.eventId })));
  for (const v of verdicts) {
    if (!v.ok || !v.pdu) continue;
    await ingestInBatch(ctx, b, v.pdu, { fillGaps: false, redacted: v.redacted });
  }
}

/**
 * Step b at a gap: the state after the unknown prev event, from /state_ids at it (the state before it) plus the
 * event itself when it is a state event that is not rejected against its auth events. Events we lack are fetched with /event, verified and stored as outliers.
 */
async function stateAtGap(ctx: RoomIngestContext, b: PendingIngest, prevId: EventId): Promise<StateMap | string> {
  const { client } = ctx.remote;
  let ids: { pduIds: EventId[]; authChainIds: EventId[] };
  let prev: Pdu;
  try {
    ids = await client.getStateIds(ctx.origin, ctx.roomId, prevId);
    prev = await client.getEvent(ctx.origin, prevId, ctx.rules);
  } catch (e) {
    return `cannot fetch the state at prev event ${prevId} from ${ctx.origin}: ${e instanceof Error ? e.message : String(e)}`;
  }
  const want = [...new Set([...ids.pduIds, ...ids.authChainIds])];
  const missing = await missingOf(b, want);
  const fetched: Pdu[] = [prev];
  if (missing.length > GAP_STATE_FETCH_LIMIT) {
    // Too many for one request each: the whole state and auth chain in one /state, keeping the events we lack.
    let got: { pdus: Pdu[]; authChain: Pdu[] };
    try {
      got = await client.getState(ctx.origin, ctx.roomId, prevId, ctx.rules);
    } catch (e) {
      return `cannot fetch the state at prev event ${prevId} (${missing.length} events lacking, more than ${GAP_STATE_FETCH_LIMIT} to ask one by one) with /state: ${e instanceof Error ? e.message : String(e)}`;
    }
    const lacking = new Set(missing);
    for (const p of [...got.authChain, ...got.pdus]) if (lacking.delete(p.eventId)) fetched.push(p); // each once
  } else {
    for (const id of missing) {
      try {
        fetched.push(await client.getEvent(ctx.origin, id, ctx.rules));
      } catch (e) {
        return `cannot fetch state event ${id} at prev event ${prevId}: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
  }
  const stored = await persistOutliers(ctx, fetched);
  if (typeof stored === "string") return stored;
  const state = new Map<StateKey, EventId>();
  const pdus = await ctx.storage.events.getPdus(ids.pduIds);
  for (const id of ids.pduIds) {
    const p = pdus.get(id);
    if (p && p.stateKey !== undefined) state.set(stateKeyOf(p.type, p.stateKey), id);
  }
  // The prev event's own state change counts only when it passed its auth events: a rejected event changes no state.
  if (prev.stateKey !== undefined && !(await ctx.storage.events.getEvents([prev.eventId])).get(prev.eventId)?.rejectionReason) {
    state.set(stateKeyOf(prev.type, prev.stateKey), prev.eventId);
  }
  return state;
}

/**
 * Step 4's fetch: the cited auth events we lack, with their chain through /event_auth, stored as outliers. When the
 * origin does not answer /event_auth (an error, or a server without it), each missing auth event is asked of it with
 * /event instead (at most the PDU's own auth_events, which its format bounds).
 */
async function ensureAuthEvents(ctx: RoomIngestContext, b: PendingIngest, pdu: Pdu): Promise<true | string> {
  const missing = await missingOf(b, pdu.authEvents);
  if (missing.length === 0) return true;
  await b.settle();
  let chain: Pdu[];
  try {
    chain = await ctx.remote.client.getEventAuth(ctx.origin, ctx.roomId, pdu.eventId, ctx.rules);
  } catch (e) {
    const whyAuth = e instanceof Error ? e.message : String(e);
    chain = [];
    for (const id of missing) {
      try {
        chain.push(await ctx.remote.client.getEvent(ctx.origin, id, ctx.rules));
      } catch (e2) {
        return `cannot fetch the auth events of ${pdu.eventId} from ${ctx.origin}: /event_auth: ${whyAuth}; /event/${id}: ${e2 instanceof Error ? e2.message : String(e2)}`;
      }
    }
  }
  const stored = await persistOutliers(ctx, chain);
  if (typeof stored === "string") return stored;
  const still = await missingOf(b, pdu.authEvents);
  return still.length === 0 ? true : `auth events ${still.join(", ")} of ${pdu.eventId} are unknown`;
}

/**
 * Verified events stored as outliers, oldest first, each checked against its own auth events (rejected when it
 * fails or when they are unknown). Events failing the signature check are left out.
 */
export async function persistOutliers(ctx: Pick<RoomIngestContext, "storage" | "remote" | "rules" | "roomId" | "nowTs">, events: readonly Pdu[]): Promise<true | string> {
  const out = await outlierEntries(ctx, events);
  if (out.length > 0) await ctx.storage.events.persistEvents({ events: out, receivedTs: ctx.nowTs() });
  return true;
}

/** persistOutliers without the write: the entries to persist (in one batch with more, e.g. a remote join). */
export async function outlierEntries(ctx: Pick<RoomIngestContext, "storage" | "remote" | "rules" | "roomId">, events: readonly Pdu[]): Promise<EventToPersist[]> {
  const verdicts = await verifyRemoteBatch(ctx.remote.keys, events.map((p) => ({ raw: p.raw, rules: ctx.rules, roomId: ctx.roomId, eventId: p.eventId })));
  const good = verdicts.filter((v) => v.ok && v.pdu).map((v) => v.pdu!).sort((a, b) => a.depth - b.depth);
  const byId = new Map(good.map((p) => [p.eventId, p]));
  const createId = createOf(ctx.rules, ctx.roomId);
  const have = await ctx.storage.events.getEvents([...new Set([...good.flatMap((p) => p.authEvents), ...(createId ? [createId] : [])])]);
  const rejected = new Set<EventId>();
  const out: EventToPersist[] = [];
  for (const p of good) {
    const auth = p.authEvents.map((id) => byId.get(id) ?? have.get(id)?.pdu);
    const create = createId && createId !== p.eventId ? byId.get(createId) ?? have.get(createId)?.pdu : undefined;
    let reason: string | null = null;
    if (auth.some((a) => a === undefined)) reason = "its auth events are unknown";
    else if (p.authEvents.some((id) => rejected.has(id) || have.get(id)?.rejectionReason)) reason = "one of its auth events was rejected";
    else {
      const v = checkAuthEvents(p, [...(auth as Pdu[]), ...(create ? [create] : [])], ctx.rules);
      if (!v.allowed) reason = `${v.reason} (auth rule ${v.rule})`;
    }
    if (reason) rejected.add(p.eventId);
    out.push({ pdu: p, outlier: true, ...(reason ? { rejectionReason: reason } : {}) });
  }
  return out;
}

/** The state-resolution histogram (asked for at start by the composition root, so a scrape lists it at once). */
export function stateResolutionMetric(metrics: Metrics) {
  return metrics.histogram({ name: "zion_state_resolution_seconds", help: "Time of one state resolution over forks, by result", labels: ["result"] });
}

/** In room version 12 the room id names the create event, which auth_events leave out but the auth rules read. */
export function createOf(rules: RoomVersionRules, roomId: RoomId): EventId | null {
  return rules.auth.createEventIsRoomId ? createEventIdForRoom(roomId) : null;
}

/** Step 5 with forks: the room version's state resolution over stored events (auth chains loaded from storage). */
export async function resolveForks(ctx: RoomIngestContext, b: PendingIngest, states: readonly StateMap[], extra: ReadonlyMap<EventId, Pdu> = new Map()): Promise<StateMap | string> {
  if (states.length === 1) return states[0]!;
  const distinct = states.filter((s, i) => states.findIndex((t) => sameState(s, t)) === i);
  if (distinct.length === 0) return new Map();
  if (distinct.length === 1) return distinct[0]!;
  const rejected = new Set<EventId>();
  const started = performance.now();
  const r = await resolveStateAsync(ctx.rules, distinct, {
    fetchEvents: async (ids) => {
      const got = await b.getEvents(ids);
      const out = new Map<EventId, Pdu>();
      for (const [id, e] of got) {
        out.set(id, e.pdu);
        if (e.rejectionReason) rejected.add(id);
      }
      for (const id of ids) if (extra.has(id)) out.set(id, extra.get(id)!);
      return out;
    },
    isRejected: (id) => rejected.has(id),
  }, { pause: () => new Promise((res) => setImmediate(res)) });
  // Wall time, pauses for other work included (Synapse's counter measures CPU time; see docs/metrics.md).
  if (ctx.remote.metrics) stateResolutionMetric(ctx.remote.metrics).observe({ result: r.ok ? "ok" : "failed" }, (performance.now() - started) / 1000);
  return r.ok ? r.state : `state resolution failed at ${r.step}: ${r.reason}`;
}

function sameState(a: StateMap, b: StateMap): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
