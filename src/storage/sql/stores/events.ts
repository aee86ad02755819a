/**
 * EventStore and RoomStore over SQL. Events, their DAG edges, rooms, forward
 * extremities and current state are written in one transaction per batch.
 */
import type { EventId, RoomId, UserId } from "../../../core/ids/index.js";
import type { JsonObject, JsonValue } from "../../../core/json/types.js";
import { stateKeyOf, splitStateKey, type Pdu, type StateKey } from "../../../core/events/pdu.js";
import { roomVersion } from "../../../core/room-versions/index.js";
import { canonicalJson, parseJsonStrict } from "../../../core/json/index.js";
import { ConstraintViolationError } from "../../ports.js";
import type { EventStore, PersistBatch, PersistResult, RoomRecord, RoomStore, StoredEvent, StreamOrdering } from "../../ports.js";
import { chunks, exec, num, placeholders, query, queryOne, str, strOrNull, valuesList, type Row, type SqlRunner, type SqlValue, type UnitOfWork } from "../uow.js";

/** Stored events were checked on the way in; these limits only keep their floats' text, never refuse one. */
const STORED_LIMITS = { maxBytes: Number.MAX_SAFE_INTEGER, maxDepth: Number.MAX_SAFE_INTEGER, strictIntegers: false } as const;

const EVENT_COLUMNS = "event_id, stream_ordering, room_id, room_version, type, state_key, sender, depth, origin_server_ts, redacts, json, outlier, rejection_reason, received_ts";

/** Event ids in prev_events/auth_events: bare ids (v3+) or [id, hashes] pairs (v1, v2). */
function refIds(v: JsonValue | undefined): EventId[] {
  if (!Array.isArray(v)) return [];
  const out: EventId[] = [];
  for (const x of v as readonly JsonValue[]) {
    if (typeof x === "string") out.push(x as EventId);
    else if (Array.isArray(x) && typeof x[0] === "string") out.push(x[0] as EventId);
  }
  return out;
}

function toStored(r: Row): StoredEvent {
  const rules = roomVersion(str(r["room_version"]));
  // v1-5 events may hold floats: read them back with their literal text, which their hashes cover (core/json/numbers.ts).
  const raw = (rules.strictCanonicalJson ? JSON.parse(str(r["json"])) : parseJsonStrict(str(r["json"]), STORED_LIMITS)) as JsonObject;
  const content = raw["content"];
  const pdu: Pdu = {
    eventId: str(r["event_id"]) as EventId,
    roomId: str(r["room_id"]) as RoomId,
    sender: str(r["sender"]) as UserId,
    type: str(r["type"]),
    stateKey: strOrNull(r["state_key"]) ?? undefined,
    content: content !== null && typeof content === "object" && !Array.isArray(content) ? (content as JsonObject) : {},
    prevEvents: refIds(raw["prev_events"]),
    authEvents: refIds(raw["auth_events"]),
    depth: num(r["depth"]),
    originServerTs: num(r["origin_server_ts"]),
    redacts: (strOrNull(r["redacts"]) ?? undefined) as EventId | undefined,
    roomVersion: rules,
    raw,
  };
  return {
    pdu,
    streamOrdering: num(r["stream_ordering"]),
    outlier: num(r["outlier"]) !== 0,
    rejectionReason: strOrNull(r["rejection_reason"]),
    receivedTs: num(r["received_ts"]),
  };
}

/** The wire JSON in canonical form (deterministic bytes); floats of old room versions are kept, not refused. */
function storedJson(p: Pdu): string {
  try {
    return canonicalJson(p.raw, { strict: false });
  } catch (e) {
    throw new ConstraintViolationError(`event ${p.eventId}: its JSON cannot be stored: ${(e as Error).message}`, { cause: e });
  }
}

function* maxOrdering(): UnitOfWork<StreamOrdering> {
  const row = yield* queryOne("SELECT position FROM stream_positions WHERE stream_name = 'events'");
  return row ? num(row["position"]) : 0;
}

function* persistWork(batch: PersistBatch): UnitOfWork<PersistResult> {
  // 0. Take the event stream's row lock first (a no-op update), so that concurrent writers of the same
  //    event see each other's committed rows in step 1 instead of colliding on the primary key
  //    (PostgreSQL reads with a new snapshot per statement; SQLite holds its write lock already).
  if (batch.events.length > 0) yield* exec("UPDATE stream_positions SET position = position WHERE stream_name = 'events'");

  // 1. Which events are new, which are outliers joining the timeline, which are known.
  const seen = new Set<EventId>();
  const alreadyKnown: EventId[] = [];
  const unique = batch.events.filter((e) => {
    if (!seen.has(e.pdu.eventId)) return seen.add(e.pdu.eventId), true;
    alreadyKnown.push(e.pdu.eventId); // the same event twice in one batch
    return false;
  });
  const existing = new Map<EventId, boolean>(); // event id -> outlier
  for (const part of chunks(unique.map((e) => e.pdu.eventId))) {
    const rows = yield* query(`SELECT event_id, outlier FROM events WHERE event_id IN ${placeholders(part.length)}`, ...part);
    for (const r of rows) existing.set(str(r["event_id"]) as EventId, num(r["outlier"]) !== 0);
  }
  const writes = unique.filter((e) => {
    const wasOutlier = existing.get(e.pdu.eventId);
    if (wasOutlier === undefined) return true;
    if (wasOutlier && !e.outlier) return true;
    alreadyKnown.push(e.pdu.eventId);
    return false;
  });

  // 2. Stream orderings, taken from the counter row inside this transaction (commit order).
  const orderings = new Map<EventId, StreamOrdering>();
  let max: StreamOrdering;
  if (writes.length > 0) {
    const row = yield* queryOne("UPDATE stream_positions SET position = position + ? WHERE stream_name = 'events' RETURNING position", writes.length);
    max = num(row!["position"]);
    writes.forEach((e, i) => orderings.set(e.pdu.eventId, max - writes.length + 1 + i));
  } else {
    max = yield* maxOrdering();
  }

  // 3. Rooms.
  for (const room of batch.rooms ?? []) {
    yield* exec("INSERT INTO rooms (room_id, room_version, creator) VALUES (?, ?, ?) ON CONFLICT (room_id) DO NOTHING", room.roomId, room.roomVersion, room.creator);
  }

  // 4. Events and their edges, several rows per statement.
  const fresh = writes.filter((e) => !existing.has(e.pdu.eventId));
  for (const e of writes) {
    if (!existing.has(e.pdu.eventId)) continue;
    yield* exec(
      "UPDATE events SET outlier = 0, stream_ordering = ?, rejection_reason = ?, received_ts = ? WHERE event_id = ?",
      orderings.get(e.pdu.eventId)!, e.rejectionReason ?? null, batch.receivedTs, e.pdu.eventId,
    );
  }
  for (const part of chunks(fresh, 50)) {
    const params: SqlValue[] = [];
    for (const e of part) {
      const p = e.pdu;
      const membership = p.type === "m.room.member" && typeof p.content["membership"] === "string" ? p.content["membership"] : null;
      params.push(
        p.eventId, orderings.get(p.eventId)!, p.roomId, p.roomVersion.id, p.type, p.stateKey ?? null, p.sender, p.depth, p.originServerTs,
        p.redacts ?? null, storedJson(p), e.outlier ? 1 : 0, e.rejectionReason ?? null, batch.receivedTs, membership,
      );
    }
    yield* exec(`INSERT INTO events (${EVENT_COLUMNS}, membership) VALUES ${valuesList(part.length, 15)}`, ...params);
  }
  const edges = fresh.flatMap((e) => [...new Set(e.pdu.prevEvents)].map((prev) => [e.pdu.eventId, prev, e.pdu.roomId] as const));
  for (const part of chunks(edges, 200)) {
    yield* exec(
      `INSERT INTO event_edges (event_id, prev_event_id, room_id) VALUES ${valuesList(part.length, 3)} ON CONFLICT (event_id, prev_event_id) DO NOTHING`,
      ...part.flat(),
    );
  }
  const authEdges = fresh.flatMap((e) => [...new Set(e.pdu.authEvents)].map((auth) => [e.pdu.eventId, auth] as const));
  for (const part of chunks(authEdges, 200)) {
    yield* exec(
      `INSERT INTO event_auth_edges (event_id, auth_event_id) VALUES ${valuesList(part.length, 2)} ON CONFLICT (event_id, auth_event_id) DO NOTHING`,
      ...part.flat(),
    );
  }

  // 5. Forward extremities: an accepted timeline event with no accepted timeline child (now that the whole
  //    batch is written, whatever its order) becomes one, and replaces its prev events.
  const timeline = writes.filter((e) => !e.outlier && !e.rejectionReason);
  const hasChild = new Set<EventId>();
  for (const part of chunks(timeline.map((e) => e.pdu.eventId))) {
    const rows = yield* query(
      `SELECT DISTINCT g.prev_event_id FROM event_edges g JOIN events c ON c.event_id = g.event_id
       WHERE g.prev_event_id IN ${placeholders(part.length)} AND c.outlier = 0 AND c.rejection_reason IS NULL`,
      ...part,
    );
    for (const r of rows) hasChild.add(str(r["prev_event_id"]) as EventId);
  }
  const newExtremities = timeline.filter((e) => !hasChild.has(e.pdu.eventId)).map((e) => [e.pdu.roomId, e.pdu.eventId] as const);
  for (const part of chunks(newExtremities, 200)) {
    yield* exec(
      `INSERT INTO event_forward_extremities (room_id, event_id) VALUES ${valuesList(part.length, 2)} ON CONFLICT (room_id, event_id) DO NOTHING`,
      ...part.flat(),
    );
  }
  const replaced = new Map<RoomId, Set<EventId>>();
  for (const e of timeline) {
    const set = replaced.get(e.pdu.roomId) ?? new Set<EventId>();
    for (const prev of e.pdu.prevEvents) set.add(prev);
    replaced.set(e.pdu.roomId, set);
  }
  for (const [roomId, prevs] of replaced) {
    for (const part of chunks([...prevs])) {
      yield* exec(`DELETE FROM event_forward_extremities WHERE room_id = ? AND event_id IN ${placeholders(part.length)}`, roomId, ...part);
    }
  }

  // 6. Current state.
  for (const delta of batch.state ?? []) {
    if (delta.replace) yield* exec("DELETE FROM current_state_events WHERE room_id = ?", delta.roomId);
    for (const key of delta.remove ?? []) {
      const { type, stateKey } = splitStateKey(key);
      yield* exec("DELETE FROM current_state_events WHERE room_id = ? AND type = ? AND state_key = ?", delta.roomId, type, stateKey);
    }
    for (const [key, eventId] of delta.set) {
      const { type, stateKey } = splitStateKey(key);
      yield* exec(
        `INSERT INTO current_state_events (room_id, type, state_key, event_id) VALUES (?, ?, ?, ?)
         ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = excluded.event_id`,
        delta.roomId, type, stateKey, eventId,
      );
    }
  }

  return { orderings, alreadyKnown, maxOrdering: max };
}

function* getEventsWork(ids: readonly EventId[]): UnitOfWork<Map<EventId, StoredEvent>> {
  const out = new Map<EventId, StoredEvent>();
  for (const part of chunks([...new Set(ids)])) {
    const rows = yield* query(`SELECT ${EVENT_COLUMNS} FROM events WHERE event_id IN ${placeholders(part.length)}`, ...part);
    for (const r of rows) {
      const ev = toStored(r);
      out.set(ev.pdu.eventId, ev);
    }
  }
  return out;
}

export function sqlEventStore(db: SqlRunner): EventStore {
  return {
    persistEvents: (batch) => db.write(() => persistWork(batch)),
    getEvents: (ids) => db.read(() => getEventsWork(ids)),
    async getPdus(ids) {
      const events = await db.read(() => getEventsWork(ids));
      return new Map([...events].map(([id, e]) => [id, e.pdu]));
    },
    haveEvents(ids) {
      return db.read(function* () {
        const out = new Set<EventId>();
        for (const part of chunks([...new Set(ids)])) {
          const rows = yield* query(`SELECT event_id FROM events WHERE event_id IN ${placeholders(part.length)}`, ...part);
          for (const r of rows) out.add(str(r["event_id"]) as EventId);
        }
        return out;
      });
    },
    maxStreamOrdering: () => db.read(maxOrdering),
    getRoomEventsBetween(roomId, from, to, limit) {
      return db.read(function* () {
        const rows = yield* query(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE room_id = ? AND outlier = 0 AND stream_ordering > ? AND stream_ordering <= ? ORDER BY stream_ordering LIMIT ?`,
          roomId, from, to, limit,
        );
        return rows.map(toStored);
      });
    },
    getAuthChains(ids) {
      return db.read(function* () {
        const out = new Map<EventId, Set<EventId>>();
        for (const part of chunks([...new Set(ids)], 100)) {
          for (const id of part) out.set(id, new Set());
          const rows = yield* query(
            `WITH RECURSIVE chain (origin, event_id) AS (
               SELECT event_id, auth_event_id FROM event_auth_edges WHERE event_id IN ${placeholders(part.length)}
               UNION
               SELECT c.origin, a.auth_event_id FROM event_auth_edges a JOIN chain c ON a.event_id = c.event_id
             ) SELECT c.origin, c.event_id FROM chain c JOIN events e ON e.event_id = c.event_id`,
            ...part,
          );
          for (const r of rows) out.get(str(r["origin"]) as EventId)?.add(str(r["event_id"]) as EventId);
        }
        return out;
      });
    },
    getAuthChainIds(ids) {
      return db.read(function* () {
        const out = new Set<EventId>();
        for (const part of chunks([...new Set(ids)])) {
          const rows = yield* query(
            `WITH RECURSIVE chain (event_id) AS (
               SELECT auth_event_id FROM event_auth_edges WHERE event_id IN ${placeholders(part.length)}
               UNION
               SELECT a.auth_event_id FROM event_auth_edges a JOIN chain c ON a.event_id = c.event_id
             ) SELECT c.event_id FROM chain c JOIN events e ON e.event_id = c.event_id`,
            ...part,
          );
          for (const r of rows) out.add(str(r["event_id"]) as EventId);
        }
        return out;
      });
    },
  };
}

function toRoom(r: Row): RoomRecord {
  return { roomId: str(r["room_id"]) as RoomId, roomVersion: str(r["room_version"]), creator: str(r["creator"]) as UserId };
}

export function sqlRoomStore(db: SqlRunner): RoomStore {
  return {
    getRoom(roomId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT room_id, room_version, creator FROM rooms WHERE room_id = ?", roomId);
        return r ? toRoom(r) : null;
      });
    },
    getCurrentState(roomId) {
      return db.read(function* () {
        const rows = yield* query("SELECT type, state_key, event_id FROM current_state_events WHERE room_id = ?", roomId);
        const out = new Map<StateKey, EventId>();
        for (const r of rows) out.set(stateKeyOf(str(r["type"]), str(r["state_key"])), str(r["event_id"]) as EventId);
        return out;
      });
    },
    getCurrentStateEventId(roomId, type, stateKey) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT event_id FROM current_state_events WHERE room_id = ? AND type = ? AND state_key = ?", roomId, type, stateKey);
        return r ? (str(r["event_id"]) as EventId) : null;
      });
    },
    getRoomsForUser(userId, membership) {
      return db.read(function* () {
        const rows = yield* query(
          `SELECT c.room_id FROM current_state_events c JOIN events e ON e.event_id = c.event_id
           WHERE c.type = 'm.room.member' AND c.state_key = ? AND e.membership = ? ORDER BY c.room_id`,
          userId, membership,
        );
        return rows.map((r) => str(r["room_id"]) as RoomId);
      });
    },
    getForwardExtremities(roomId) {
      return db.read(function* () {
        const rows = yield* query("SELECT event_id FROM event_forward_extremities WHERE room_id = ? ORDER BY event_id", roomId);
        return rows.map((r) => str(r["event_id"]) as EventId);
      });
    },
  };
}
