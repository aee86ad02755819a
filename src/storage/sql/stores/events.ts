/**
 * EventStore over SQL: reads of events, the stream and topological orders,
 * marks, and the auth-chain index. Writes are in persist.ts.
 */
import type { EventId, RoomId, UserId } from "../../../core/ids/index.js";
import type { JsonObject, JsonValue } from "../../../core/json/types.js";
import type { Pdu } from "../../../core/events/pdu.js";
import { roomVersion } from "../../../core/room-versions/index.js";
import { canonicalJson, parseJsonStrict } from "../../../core/json/index.js";
import { ConstraintViolationError } from "../../ports.js";
import type { EventStore, RoomPosition, StoredEvent, StreamOrdering } from "../../ports.js";
import type { Dialect } from "../storage.js";
import { chunks, exec, num, placeholders, query, queryOne, str, strOrNull, type Row, type SqlRunner, type UnitOfWork } from "../uow.js";
import { authChainsEach, authChainUnion, authDifference } from "./auth-chains.js";
import { persistWork, persistPlan, releasePlan } from "./persist.js";

/** Stored events were checked on the way in; these limits only keep their floats' text, never refuse one. */
const STORED_LIMITS = { maxBytes: Number.MAX_SAFE_INTEGER, maxDepth: Number.MAX_SAFE_INTEGER, strictIntegers: false } as const;

export const EVENT_COLUMNS =
  "event_id, stream_ordering, room_id, room_version, type, state_key, sender, depth, origin_server_ts, redacts, json, outlier, rejection_reason, received_ts, soft_failed, backfilled";

/** Timeline events a client may see: not outliers, not rejected, not soft-failed. */
export const VISIBLE = "outlier = 0 AND rejection_reason IS NULL AND soft_failed = 0";

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

/** The wire JSON of a row with `room_version` and `json`. */
export function storedRaw(r: Row): JsonObject {
  const rules = roomVersion(str(r["room_version"]));
  // v1-5 events may hold floats: read them back with their literal text, which their hashes cover (core/json/numbers.ts).
  return (rules.strictCanonicalJson ? JSON.parse(str(r["json"])) : parseJsonStrict(str(r["json"]), STORED_LIMITS)) as JsonObject;
}

export function toStored(r: Row): StoredEvent {
  const rules = roomVersion(str(r["room_version"]));
  const raw = storedRaw(r);
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
    softFailed: num(r["soft_failed"]) !== 0,
    backfilled: num(r["backfilled"]) !== 0,
    receivedTs: num(r["received_ts"]),
  };
}

/** The wire JSON in canonical form (deterministic bytes); floats of old room versions are kept, not refused. */
export function storedJson(p: Pdu): string {
  try {
    return canonicalJson(p.raw, { strict: false });
  } catch (e) {
    throw new ConstraintViolationError(`event ${p.eventId}: its JSON cannot be stored: ${(e as Error).message}`, { cause: e });
  }
}

/** The committed forward position (see Dialect.committedPositionSql). */
export function* committedPosition(dialect: Dialect): UnitOfWork<StreamOrdering> {
  const row = yield* queryOne(dialect.committedPositionSql);
  return row ? num(row["position"]) : 0;
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

/** Sets a flag or reason on stored events and takes them out of the forward extremities. */
function* markWork(ids: readonly EventId[], set: string, value: string | number): UnitOfWork<void> {
  for (const part of chunks([...new Set(ids)])) {
    yield* exec(`UPDATE events SET ${set} = ? WHERE event_id IN ${placeholders(part.length)}`, value, ...part);
    yield* exec(`DELETE FROM event_forward_extremities WHERE event_id IN ${placeholders(part.length)}`, ...part);
  }
}

export function sqlEventStore(db: SqlRunner, dialect: Dialect): EventStore {
  return {
    persistEvents: (batch) =>
      db.allocateThenWrite(
        () => persistPlan(batch, dialect),
        (plan) => persistWork(batch, plan, dialect),
        (plan) => releasePlan(plan, dialect),
      ),
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
    maxStreamOrdering: () => db.read(() => committedPosition(dialect)),
    getRoomEventsBetween(roomId, from, to, limit) {
      return db.read(function* () {
        const rows = yield* query(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE room_id = ? AND stream_ordering > ? AND stream_ordering <= ? AND ${VISIBLE} ORDER BY stream_ordering LIMIT ?`,
          roomId, from, to, limit,
        );
        return rows.map(toStored);
      });
    },
    getRoomsRecentEvents(roomIds, { from, to, limit }) {
      return db.read(function* () {
        const out = new Map<RoomId, StoredEvent[]>();
        for (const roomId of new Set(roomIds)) {
          const rows = yield* query(
            `SELECT ${EVENT_COLUMNS} FROM events WHERE room_id = ? AND stream_ordering > ? AND stream_ordering <= ? AND ${VISIBLE} ORDER BY stream_ordering DESC LIMIT ?`,
            roomId, from, to, limit,
          );
          if (rows.length > 0) out.set(roomId, rows.map(toStored));
        }
        return out;
      });
    },
    getStreamEvents({ from, to, limit }) {
      return db.read(function* () {
        const rows = yield* query(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_ordering > ? AND stream_ordering <= ? AND ${VISIBLE} ORDER BY stream_ordering LIMIT ?`,
          from, to, limit,
        );
        return rows.map(toStored);
      });
    },
    getRoomEventsTopological(roomId, { from, to, direction, limit }) {
      return db.read(function* () {
        const back = direction === "b";
        const cmp = back ? "<" : ">";
        const bound = to ? ` AND (depth, stream_ordering) ${back ? ">" : "<"} (?, ?)` : "";
        const order = back ? "DESC" : "ASC";
        const rows = yield* query(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE room_id = ? AND (depth, stream_ordering) ${cmp} (?, ?)${bound} AND ${VISIBLE}
           ORDER BY depth ${order}, stream_ordering ${order} LIMIT ?`,
          roomId, from.depth, from.stream, ...(to ? [to.depth, to.stream] : []), limit,
        );
        const events = rows.map(toStored);
        const last = events[events.length - 1];
        const next: RoomPosition = last ? { depth: last.pdu.depth, stream: last.streamOrdering } : from;
        return { events, next };
      });
    },
    getEventNearTimestamp(roomId, ts, dir) {
      return db.read(function* () {
        const [cmp, order] = dir === "b" ? ["<=", "DESC"] : [">=", "ASC"];
        const r = yield* queryOne(
          `SELECT event_id, origin_server_ts FROM events WHERE room_id = ? AND origin_server_ts ${cmp} ? AND ${VISIBLE}
           ORDER BY origin_server_ts ${order}, stream_ordering ${order} LIMIT 1`,
          roomId, ts,
        );
        return r ? { eventId: str(r["event_id"]) as EventId, originServerTs: num(r["origin_server_ts"]) } : null;
      });
    },
    getRoomPosition(eventId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT depth, stream_ordering FROM events WHERE event_id = ?", eventId);
        return r ? { depth: num(r["depth"]), stream: num(r["stream_ordering"]) } : null;
      });
    },
    markSoftFailed: (ids) => db.write(() => markWork(ids, "soft_failed", 1)),
    markRejected: (ids, reason) => db.write(() => markWork(ids, "rejection_reason", reason)),
    getAuthChains: (ids) => db.read(() => authChainsEach(ids)),
    getAuthChainIds: (ids) => db.read(() => authChainUnion(ids)),
    getAuthChainDifference: (stateSets) => db.read(() => authDifference(stateSets)),
  };
}
