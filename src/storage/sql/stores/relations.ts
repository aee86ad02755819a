/**
 * RelationStore over SQL (migration 0011): the relations index and the threads table, written by persistWork from
 * each PDU's content (relationRowsWork), read for /relations, /threads, bundled aggregations and
 * /timestamp_to_event.
 */
import type { EventId, RoomId } from "../../../core/ids/index.js";
import type { Pdu } from "../../../core/events/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { EventToPersist, RelationStore, RoomPosition, StreamOrdering } from "../../ports.js";
import { chunks, exec, num, placeholders, query, str, valuesList, type SqlRunner, type SqlValue, type UnitOfWork } from "../uow.js";
import { EVENT_COLUMNS, VISIBLE, toStored } from "./events.js";

/** What an event's m.relates_to says, when it names a rel_type and an event id (bounded like ids, 255 bytes). */
export function relationOf(pdu: Pdu): { relType: string; relatesTo: EventId; key: string | null } | null {
  const raw = pdu.content["m.relates_to"];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const rel = raw as JsonObject;
  const relType = rel["rel_type"];
  const target = rel["event_id"];
  if (typeof relType !== "string" || relType.length === 0 || relType.length > 255) return null;
  if (typeof target !== "string" || !target.startsWith("$") || target.length > 255 || target === pdu.eventId) return null;
  const key = relType === "m.annotation" && typeof rel["key"] === "string" ? rel["key"] : null;
  return { relType, relatesTo: target as EventId, key };
}

/**
 * The rows persistWork derives from the events it writes, in its transaction: relations of accepted events, the
 * threads' latest events (timeline events only), redactions (event_redactions) and the relation a redaction
 * removes.
 */
export function* relationRowsWork(writes: readonly EventToPersist[], orderings: ReadonlyMap<EventId, StreamOrdering>): UnitOfWork<void> {
  const accepted = writes.filter((e) => !e.rejectionReason);
  const relations: SqlValue[][] = [];
  const threads: SqlValue[][] = [];
  for (const e of accepted) {
    const r = relationOf(e.pdu);
    if (!r) continue;
    relations.push([e.pdu.eventId, r.relatesTo, e.pdu.roomId, r.relType, r.key]);
    if (r.relType === "m.thread" && !e.outlier && !e.softFailed) threads.push([e.pdu.roomId, r.relatesTo, e.pdu.eventId, e.pdu.depth, orderings.get(e.pdu.eventId)!]);
  }
  for (const part of chunks(relations, 200)) {
    yield* exec(
      `INSERT INTO event_relations (event_id, relates_to_id, room_id, rel_type, aggregation_key) VALUES ${valuesList(part.length, 5)} ON CONFLICT (event_id) DO NOTHING`,
      ...part.flat(),
    );
  }
  for (const t of threads) {
    yield* exec(
      `INSERT INTO threads (room_id, thread_id, latest_event_id, latest_depth, latest_stream) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (room_id, thread_id) DO UPDATE SET latest_event_id = excluded.latest_event_id, latest_depth = excluded.latest_depth, latest_stream = excluded.latest_stream
       WHERE excluded.latest_depth > threads.latest_depth OR (excluded.latest_depth = threads.latest_depth AND excluded.latest_stream > threads.latest_stream)`,
      ...t,
    );
  }
  const redactions = accepted.filter((e) => e.pdu.type === "m.room.redaction" && e.pdu.redacts !== undefined).map((e) => [e.pdu.redacts!, e.pdu.eventId] as const);
  for (const part of chunks(redactions, 200)) {
    yield* exec(`INSERT INTO event_redactions (redacts, event_id) VALUES ${valuesList(part.length, 2)} ON CONFLICT (redacts, event_id) DO NOTHING`, ...part.flat());
    yield* exec(`DELETE FROM event_relations WHERE event_id IN ${placeholders(part.length)}`, ...part.map(([target]) => target));
  }
}

const MAX = Number.MAX_SAFE_INTEGER;

/** events.ts's column list or VISIBLE condition with every column of `events` as e.<column>. */
function prefixed(sql: string, sep = ", "): string {
  return sql.split(sep).map((c) => `e.${c}`).join(sep);
}

export function sqlRelationStore(db: SqlRunner): RelationStore {
  return {
    getRelations(roomId, eventId, q) {
      return db.read(function* () {
        const back = q.direction === "b";
        const from: RoomPosition = q.from ?? (back ? { depth: MAX, stream: MAX } : { depth: 0, stream: -MAX });
        const params: SqlValue[] = [eventId, roomId, q.depth];
        let children = "SELECT event_id FROM rel";
        if (q.relType !== undefined) {
          children += " WHERE rel_type = ?";
          params.push(q.relType);
        }
        let where = `e.room_id = ? AND (e.depth, e.stream_ordering) ${back ? "<" : ">"} (?, ?)`;
        params.push(roomId, from.depth, from.stream);
        if (q.to) {
          where += ` AND (e.depth, e.stream_ordering) ${back ? ">" : "<"} (?, ?)`;
          params.push(q.to.depth, q.to.stream);
        }
        if (q.eventType !== undefined) {
          where += " AND e.type = ?";
          params.push(q.eventType);
        }
        const order = back ? "DESC" : "ASC";
        // Children up to q.depth relations away; the rel_type filter applies to the relation that reached each.
        const rows = yield* query(
          `WITH RECURSIVE rel (event_id, rel_type, hops) AS (
             SELECT event_id, rel_type, 1 FROM event_relations WHERE relates_to_id = ? AND room_id = ?
             UNION
             SELECT r.event_id, r.rel_type, rel.hops + 1 FROM event_relations r JOIN rel ON r.relates_to_id = rel.event_id WHERE rel.hops < ?
           )
           SELECT ${prefixed(EVENT_COLUMNS)} FROM events e WHERE e.event_id IN (${children}) AND ${where} AND ${prefixed(VISIBLE, " AND ")}
           ORDER BY e.depth ${order}, e.stream_ordering ${order} LIMIT ?`,
          ...params, q.limit + 1,
        );
        // One row more than asked says whether there is a next page.
        const events = rows.slice(0, q.limit).map(toStored);
        const last = events[events.length - 1];
        return { events, next: last && rows.length > q.limit ? { depth: last.pdu.depth, stream: last.streamOrdering } : null };
      });
    },
    getThreads(roomId, { participant, from, limit }) {
      return db.read(function* () {
        const start = from ?? { depth: MAX, stream: MAX };
        const params: SqlValue[] = [roomId, start.depth, start.stream];
        let mine = "";
        if (participant !== undefined) {
          mine = ` AND (EXISTS (SELECT 1 FROM events root WHERE root.event_id = t.thread_id AND root.sender = ?)
                   OR EXISTS (SELECT 1 FROM event_relations r JOIN events c ON c.event_id = r.event_id
                              WHERE r.relates_to_id = t.thread_id AND r.rel_type = 'm.thread' AND c.sender = ?))`;
          params.push(participant, participant);
        }
        const rows = yield* query(
          `SELECT t.thread_id, t.latest_depth, t.latest_stream FROM threads t
           WHERE t.room_id = ? AND (t.latest_depth, t.latest_stream) < (?, ?)${mine}
           ORDER BY t.latest_depth DESC, t.latest_stream DESC LIMIT ?`,
          ...params, limit + 1,
        );
        const page = rows.slice(0, limit);
        const last = page[page.length - 1];
        return {
          roots: page.map((r) => str(r["thread_id"]) as EventId),
          next: last && rows.length > limit ? { depth: num(last["latest_depth"]), stream: num(last["latest_stream"]) } : null,
        };
      });
    },
    getThreadSummaries(rootIds, userId, latest) {
      return db.read(function* () {
        const out = new Map<EventId, { count: number; latest: EventId[]; participated: boolean }>();
        const visible = prefixed(VISIBLE, " AND ");
        for (const part of chunks([...new Set(rootIds)], 200)) {
          const counts = yield* query(
            `SELECT r.relates_to_id, COUNT(*) AS n, SUM(CASE WHEN e.sender = ? THEN 1 ELSE 0 END) AS mine FROM event_relations r JOIN events e ON e.event_id = r.event_id
             WHERE r.rel_type = 'm.thread' AND r.relates_to_id IN ${placeholders(part.length)} AND ${visible} GROUP BY r.relates_to_id`,
            userId, ...part,
          );
          for (const c of counts) out.set(str(c["relates_to_id"]) as EventId, { count: num(c["n"]), latest: [], participated: num(c["mine"]) > 0 });
        }
        const found = [...out.keys()];
        for (const part of chunks(found, 200)) {
          const roots = yield* query(`SELECT event_id FROM events WHERE sender = ? AND event_id IN ${placeholders(part.length)}`, userId, ...part);
          for (const r of roots) out.get(str(r["event_id"]) as EventId)!.participated = true;
        }
        for (const root of found) {
          const rows = yield* query(
            `SELECT e.event_id FROM event_relations r JOIN events e ON e.event_id = r.event_id
             WHERE r.relates_to_id = ? AND r.rel_type = 'm.thread' AND ${visible} ORDER BY e.depth DESC, e.stream_ordering DESC LIMIT ?`,
            root, latest,
          );
          out.get(root)!.latest = rows.map((r) => str(r["event_id"]) as EventId);
        }
        return out;
      });
    },
    getReplacements(ids) {
      return db.read(function* () {
        const out = new Map<EventId, EventId[]>();
        const visible = prefixed(VISIBLE, " AND ");
        for (const part of chunks([...new Set(ids)], 200)) {
          const rows = yield* query(
            `SELECT r.relates_to_id, r.event_id FROM event_relations r JOIN events e ON e.event_id = r.event_id
             WHERE r.rel_type = 'm.replace' AND r.relates_to_id IN ${placeholders(part.length)} AND ${visible} ORDER BY r.event_id`,
            ...part,
          );
          for (const r of rows) {
            const target = str(r["relates_to_id"]) as EventId;
            const list = out.get(target) ?? [];
            list.push(str(r["event_id"]) as EventId);
            out.set(target, list);
          }
        }
        return out;
      });
    },
    getEventsNearTimestamp(roomId: RoomId, ts: number, dir: "f" | "b", limit: number) {
      return db.read(function* () {
        const rows = yield* query(
          `SELECT event_id, origin_server_ts FROM events WHERE room_id = ? AND origin_server_ts ${dir === "f" ? ">=" : "<="} ? AND ${VISIBLE}
           ORDER BY origin_server_ts ${dir === "f" ? "ASC" : "DESC"}, stream_ordering ${dir === "f" ? "ASC" : "DESC"} LIMIT ?`,
          roomId, ts, limit,
        );
        return rows.map((r) => ({ eventId: str(r["event_id"]) as EventId, originServerTs: num(r["origin_server_ts"]) }));
      });
    },
  };
}

