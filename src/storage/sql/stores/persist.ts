/**
 * Persisting a batch of events: two phases (SqlRunner.allocateThenWrite).
 *
 * 1. persistPlan allocates ids from the counters: forward stream positions
 *    (claimed on PostgreSQL, so readers hold back until the write commits),
 *    negative positions for outliers and backfill, state group ids and chain
 *    ids, sized for every event not stored yet. Unused ids become holes,
 *    which readers skip.
 * 2. persistWork, in the write transaction: the rooms' locks (PostgreSQL,
 *    sorted, so two writers of one room serialise and never deadlock), the
 *    authoritative check of which events are new, then events, edges, state
 *    groups, the auth-chain index, forward extremities, current state, the
 *    relations index and redactions derived from the events' content, and
 *    the client transaction record, the push actions, several rows per statement; the claim is withdrawn in the same
 *    transaction, so it disappears exactly when the events become visible.
 */
import type { EventId, RoomId } from "../../../core/ids/index.js";
import { stateKeyOf } from "../../../core/events/pdu.js";
import { ConstraintViolationError } from "../../ports.js";
import type { EventToPersist, PersistBatch, PersistResult, StateGroupId, StateInput, StoredTransactionResponse, StreamOrdering } from "../../ports.js";
import type { Dialect } from "../storage.js";
import { chunks, exec, num, pause, placeholders, query, queryOne, str, valuesList, type SqlValue, type UnitOfWork } from "../uow.js";
import { indexAuthChains } from "./auth-chains.js";
import { committedPosition, storedJson } from "./events.js";
import { recordTransactionResponse } from "./federation.js";
import { queueOutboundPdus } from "./outbound.js";
import { insertPushActions, moveRecentRuns, passesMove } from "./push-actions.js";
import { relationRowsWork } from "./relations.js";
import { updateRoomList } from "./room-list.js";
import { applyCurrentState, applyOutOfBand, completePartialStateRoom, recordPartialStateRoom } from "./rooms.js";
import { StateGroupWriter } from "./state-groups.js";

/** A range of allocated ids, first..last inclusive (empty when last < first). */
interface Range {
  readonly first: number;
  readonly last: number;
}

export interface PersistPlan {
  readonly forward: Range;
  /** Counting down: first is -1 below the previous low, last the lowest. */
  readonly backward: Range;
  readonly stateGroups: Range;
  readonly chains: Range;
}

const EMPTY: Range = { first: 1, last: 0 };

function* bump(stream: string, n: number): UnitOfWork<Range> {
  if (n <= 0) return EMPTY;
  const row = yield* queryOne("UPDATE stream_positions SET position = position + ? WHERE stream_name = ? RETURNING position", n, stream);
  const last = num(row!["position"]);
  return { first: last - n + 1, last };
}

function* bumpDown(n: number): UnitOfWork<Range> {
  if (n <= 0) return EMPTY;
  const row = yield* queryOne("UPDATE stream_positions SET position = position - ? WHERE stream_name = 'backfill' RETURNING position", n);
  const low = num(row!["position"]);
  return { first: low + n - 1, last: low };
}

/** Which batch events are stored, and whether as outliers. */
function* existingOf(ids: readonly EventId[]): UnitOfWork<Map<EventId, boolean>> {
  const out = new Map<EventId, boolean>();
  for (const part of chunks([...new Set(ids)])) {
    const rows = yield* query(`SELECT event_id, outlier FROM events WHERE event_id IN ${placeholders(part.length)}`, ...part);
    for (const r of rows) out.set(str(r["event_id"]) as EventId, num(r["outlier"]) !== 0);
  }
  return out;
}

/** Unique events of the batch that would be written given what is stored (new, or outliers joining the timeline). */
function candidates(batch: PersistBatch, existing: ReadonlyMap<EventId, boolean>): { writes: EventToPersist[]; alreadyKnown: EventId[] } {
  const seen = new Set<EventId>();
  const alreadyKnown: EventId[] = [];
  const writes: EventToPersist[] = [];
  for (const e of batch.events) {
    const id = e.pdu.eventId;
    if (seen.has(id)) {
      alreadyKnown.push(id); // the same event twice in one batch
      continue;
    }
    seen.add(id);
    const wasOutlier = existing.get(id);
    if (wasOutlier === undefined || (wasOutlier && !e.outlier)) writes.push(e);
    else alreadyKnown.push(id);
  }
  return { writes, alreadyKnown };
}

const forwardOf = (e: EventToPersist): boolean => !e.outlier && !e.backfilled;
/** Current-state changes and out-of-band memberships take one forward position after the batch's events. */
const statePositionNeeded = (batch: PersistBatch): boolean => (batch.state?.length ?? 0) > 0 || (batch.outOfBand?.length ?? 0) > 0 || batch.partialStateComplete !== undefined;

export function* persistPlan(batch: PersistBatch, dialect: Dialect): UnitOfWork<PersistPlan> {
  const { writes } = candidates(batch, yield* existingOf(batch.events.map((e) => e.pdu.eventId)));
  const forwardCount = writes.filter(forwardOf).length + (statePositionNeeded(batch) ? 1 : 0);
  const claims = dialect.streamClaims;
  if (claims && forwardCount > 0) yield* exec(claims.reapSql);
  // Counters in a fixed order (no deadlock between two allocations); on PostgreSQL this is its own short transaction.
  const forward = yield* bump("events", forwardCount);
  if (claims && forwardCount > 0) yield* exec(claims.claimSql, forward.first, forward.last);
  const backward = yield* bumpDown(writes.filter((e) => !forwardOf(e)).length);
  const stateGroups = yield* bump("state_groups", 2 * writes.filter((e) => e.stateBefore !== undefined).length);
  const chains = yield* bump("auth_chains", writes.length);
  return { forward, backward, stateGroups, chains };
}

export function* releasePlan(plan: PersistPlan, dialect: Dialect): UnitOfWork<void> {
  if (dialect.streamClaims && plan.forward.last >= plan.forward.first) yield* exec(dialect.streamClaims.releaseSql, plan.forward.first);
}

/** Resolves the caller's StateInput to a group, creating groups as needed. */
function* stateBeforeGroup(
  e: EventToPersist,
  input: StateInput,
  after: Map<EventId, StateGroupId>,
  groups: StateGroupWriter,
): UnitOfWork<StateGroupId> {
  const roomId = e.pdu.roomId;
  const groupAfter = function* (id: EventId): UnitOfWork<StateGroupId> {
    const hit = after.get(id);
    if (hit !== undefined) return hit;
    const r = yield* queryOne("SELECT state_group_after FROM event_state_groups WHERE event_id = ?", id);
    if (!r) throw new ConstraintViolationError(`event ${e.pdu.eventId}: the state after ${id} is not stored`);
    const g = num(r["state_group_after"]);
    after.set(id, g);
    return g;
  };
  const baseOf = function* (ref: { after: EventId } | { group: StateGroupId }): UnitOfWork<StateGroupId> {
    if ("after" in ref) return yield* groupAfter(ref.after);
    if ((yield* groups.info(ref.group)) === null) throw new ConstraintViolationError(`event ${e.pdu.eventId}: state group ${ref.group} is not stored`);
    return ref.group;
  };
  if ("state" in input) return yield* groups.fromState(roomId, input.state, input.base ? yield* baseOf(input.base) : null);
  const base = yield* baseOf(input);
  return input.delta ? yield* groups.derive(roomId, base, input.delta) : base;
}

export function* persistWork(batch: PersistBatch, plan: PersistPlan, dialect: Dialect): UnitOfWork<PersistResult> {
  // 0. Writers of one room take turns (PostgreSQL); writers of other rooms go on.
  const roomIds = [...new Set([
    ...batch.events.map((e) => e.pdu.roomId), ...(batch.state ?? []).map((d) => d.roomId),
    ...(batch.partialStateJoin ? [batch.partialStateJoin.roomId] : []), ...(batch.partialStateComplete ? [batch.partialStateComplete.roomId] : []),
  ])].sort();
  if (dialect.roomLockSql) for (const r of roomIds) yield* exec(dialect.roomLockSql, r);

  // 1. Which events are new (now authoritative: the room is ours until commit).
  const existing = yield* existingOf(batch.events.map((e) => e.pdu.eventId));
  const { writes, alreadyKnown } = candidates(batch, existing);

  // 2. Positions: forward for timeline events in batch order, negative for outliers and backfill.
  const orderings = new Map<EventId, StreamOrdering>();
  let nextForward = plan.forward.first;
  let nextBackward = plan.backward.first;
  for (const e of writes) orderings.set(e.pdu.eventId, forwardOf(e) ? nextForward++ : nextBackward--);
  if (nextForward - 1 > plan.forward.last || nextBackward + 1 < plan.backward.last) {
    throw new Error("stream positions allocated for this batch ran out"); // cannot happen: the plan counted the same candidates
  }
  const statePosition = plan.forward.last; // current-state changes of the batch come after its events

  // 3. Rooms.
  const rooms = batch.rooms ?? [];
  for (const part of chunks(rooms, 200)) {
    yield* exec(`INSERT INTO rooms (room_id, room_version, creator) VALUES ${valuesList(part.length, 3)} ON CONFLICT (room_id) DO NOTHING`, ...part.flatMap((r) => [r.roomId, r.roomVersion, r.creator]));
  }

  // 4. Events and their edges.
  const fresh = writes.filter((e) => !existing.has(e.pdu.eventId));
  for (const e of writes) {
    if (!existing.has(e.pdu.eventId)) continue;
    yield* exec(
      "UPDATE events SET outlier = 0, stream_ordering = ?, rejection_reason = ?, soft_failed = ?, backfilled = ?, received_ts = ? WHERE event_id = ?",
      orderings.get(e.pdu.eventId)!, e.rejectionReason ?? null, e.softFailed ? 1 : 0, e.backfilled ? 1 : 0, batch.receivedTs, e.pdu.eventId,
    );
  }
  const memberships = new Map<EventId, string | null>();
  for (const part of chunks(fresh, 50)) {
    const params: SqlValue[] = [];
    for (const e of part) {
      const p = e.pdu;
      const membership = p.type === "m.room.member" && typeof p.content["membership"] === "string" ? p.content["membership"] : null;
      memberships.set(p.eventId, membership);
      params.push(
        p.eventId, orderings.get(p.eventId)!, p.roomId, p.roomVersion.id, p.type, p.stateKey ?? null, p.sender, p.depth, p.originServerTs,
        p.redacts ?? null, storedJson(p), e.outlier ? 1 : 0, e.rejectionReason ?? null, batch.receivedTs, e.softFailed ? 1 : 0, e.backfilled ? 1 : 0, membership,
      );
    }
    yield* exec(
      `INSERT INTO events (event_id, stream_ordering, room_id, room_version, type, state_key, sender, depth, origin_server_ts, redacts, json, outlier,
         rejection_reason, received_ts, soft_failed, backfilled, membership) VALUES ${valuesList(part.length, 17)}`,
      ...params,
    );
  }
  const edges = fresh.flatMap((e) => [...new Set(e.pdu.prevEvents)].map((prev) => [e.pdu.eventId, prev, e.pdu.roomId] as const));
  for (const part of chunks(edges, 200)) {
    yield* exec(`INSERT INTO event_edges (event_id, prev_event_id, room_id) VALUES ${valuesList(part.length, 3)} ON CONFLICT (event_id, prev_event_id) DO NOTHING`, ...part.flat());
  }
  const authEdges = fresh.flatMap((e) => [...new Set(e.pdu.authEvents)].map((auth) => [e.pdu.eventId, auth] as const));
  for (const part of chunks(authEdges, 200)) {
    yield* exec(`INSERT INTO event_auth_edges (event_id, auth_event_id) VALUES ${valuesList(part.length, 2)} ON CONFLICT (event_id, auth_event_id) DO NOTHING`, ...part.flat());
  }

  // 5. State before and after each event, as shared groups.
  const groups = new StateGroupWriter(plan.stateGroups.first, plan.stateGroups.last);
  const after = new Map<EventId, StateGroupId>();
  const stateGroups = new Map<EventId, { before: StateGroupId; after: StateGroupId }>();
  const stateRows: SqlValue[][] = [];
  let n = 0;
  for (const e of writes) {
    if (e.stateBefore === undefined) continue;
    if (++n % 500 === 0) yield* pause();
    const before = yield* stateBeforeGroup(e, e.stateBefore, after, groups);
    const p = e.pdu;
    const addsState = p.stateKey !== undefined && !e.rejectionReason;
    const afterGroup = addsState ? yield* groups.derive(p.roomId, before, { set: new Map([[stateKeyOf(p.type, p.stateKey!), p.eventId]]) }) : before;
    after.set(p.eventId, afterGroup);
    stateGroups.set(p.eventId, { before, after: afterGroup });
    stateRows.push([p.eventId, p.roomId, before, afterGroup]);
  }
  yield* groups.flush();
  for (const part of chunks(stateRows, 200)) {
    yield* exec(
      `INSERT INTO event_state_groups (event_id, room_id, state_group_before, state_group_after) VALUES ${valuesList(part.length, 4)}
       ON CONFLICT (event_id) DO UPDATE SET state_group_before = excluded.state_group_before, state_group_after = excluded.state_group_after`,
      ...part.flat(),
    );
  }

  // 6. The auth-chain index.
  yield* indexAuthChains(fresh.map((e) => e.pdu), plan.chains.first);

  // 7. Forward extremities: an accepted, shown timeline event with no such child (now that the whole batch is
  //    written, whatever its order) becomes one, and replaces its prev events.
  const timeline = writes.filter((e) => !e.outlier && !e.rejectionReason && !e.softFailed && !e.backfilled);
  const hasChild = new Set<EventId>();
  for (const part of chunks(timeline.map((e) => e.pdu.eventId))) {
    const rows = yield* query(
      `SELECT DISTINCT g.prev_event_id FROM event_edges g JOIN events c ON c.event_id = g.event_id
       WHERE g.prev_event_id IN ${placeholders(part.length)} AND c.outlier = 0 AND c.rejection_reason IS NULL AND c.soft_failed = 0`,
      ...part,
    );
    for (const r of rows) hasChild.add(str(r["prev_event_id"]) as EventId);
  }
  const newExtremities = timeline.filter((e) => !hasChild.has(e.pdu.eventId)).map((e) => [e.pdu.roomId, e.pdu.eventId] as const);
  for (const part of chunks(newExtremities, 200)) {
    yield* exec(`INSERT INTO event_forward_extremities (room_id, event_id) VALUES ${valuesList(part.length, 2)} ON CONFLICT (room_id, event_id) DO NOTHING`, ...part.flat());
  }
  const replaced: Array<[RoomId, EventId]> = [];
  for (const e of timeline) for (const prev of new Set(e.pdu.prevEvents)) replaced.push([e.pdu.roomId, prev]);
  for (const part of chunks(replaced, 200)) {
    yield* exec(`DELETE FROM event_forward_extremities WHERE ${part.map(() => "(room_id = ? AND event_id = ?)").join(" OR ")}`, ...part.flat());
  }

  // 7b. Partial state (migration 0021): a join with members omitted is recorded; a completion fills the room's
  //     snapshot groups and clears the record, before current state moves (8).
  if (batch.partialStateJoin) yield* recordPartialStateRoom(batch.partialStateJoin);
  if (batch.partialStateComplete) yield* completePartialStateRoom(batch.partialStateComplete.roomId, batch.partialStateComplete.fill, statePosition);

  // 8. Current state, with its stream rows.
  if ((batch.state?.length ?? 0) > 0) yield* applyCurrentState(batch.state!, statePosition, memberships);
  // 8b. Out-of-band memberships (rooms not held): current membership and its stream, and the stripped state.
  if ((batch.outOfBand?.length ?? 0) > 0) yield* applyOutOfBand(batch.outOfBand!, statePosition);
  // 8c. The sliding-sync room list (migration 0023): activity and bump stamps by the batch's forward events, the
  //     facts of rooms whose state moved, local users' membership snapshots.
  yield* updateRoomList(batch, writes, orderings, statePosition);

  // 9. Relations, threads and redactions the events' content names.
  yield* relationRowsWork(writes, orderings);

  // 10. The client transactions that made the batch's events, in the same commit as the events (a key recorded
  //    already is a unique violation, so the whole batch rolls back).
  const txns = [...(batch.clientTxn ? [batch.clientTxn] : []), ...(batch.clientTxns ?? [])];
  for (const part of chunks(txns, 100)) {
    yield* exec(
      `INSERT INTO client_transactions (user_id, device_id, endpoint, room_id, txn_id, event_id, created_ts) VALUES ${valuesList(part.length, 7)}`,
      ...part.flatMap(({ key, eventId }) => [key.userId, key.deviceId, key.endpoint, key.roomId, key.txnId, eventId, batch.receivedTs]),
    );
  }

  // 10b. The federation sender's queue, in the events' transaction (migration 0007).
  if (batch.outbound && batch.outbound.destinations.length > 0) {
    yield* queueOutboundPdus(batch.outbound, orderings, new Map(writes.map((e) => [e.pdu.eventId, e.pdu.roomId])));
  }

  // 10c. Push actions of the events now in the timeline (migration 0018), in the events' transaction.
  if ((batch.pushActions?.length ?? 0) > 0) {
    const placed = new Map(timeline.filter(forwardOf).map((e) => [e.pdu.eventId, { roomId: e.pdu.roomId, ordering: orderings.get(e.pdu.eventId)! }]));
    yield* insertPushActions(batch.pushActions!, placed);
  }
  // Every MOVE_EVERY positions the recent push-action runs move into the big table (docs/storage.md, "Push actions").
  if (passesMove(plan.forward.first, plan.forward.last)) yield* moveRecentRuns(dialect.backend);

  // 10d. The answer to the inbound /send transaction, in the commit of the events it answers for.
  let inboundTxn: StoredTransactionResponse | undefined;
  if (batch.inboundTxn) inboundTxn = yield* recordTransactionResponse(batch.inboundTxn.origin, batch.inboundTxn.txnId, batch.inboundTxn.response, batch.receivedTs);

  // 11. The claim goes in the same commit as the rows it covered.
  if (dialect.streamClaims && plan.forward.last >= plan.forward.first) yield* exec(dialect.streamClaims.releaseSql, plan.forward.first);

  let maxOrdering = 0;
  for (const o of orderings.values()) if (o > maxOrdering) maxOrdering = o;
  if (statePositionNeeded(batch)) maxOrdering = statePosition;
  if (maxOrdering === 0) maxOrdering = yield* committedPosition(dialect);
  return { orderings, stateGroups, alreadyKnown, maxOrdering, ...(inboundTxn ? { inboundTxn } : {}) };
}

