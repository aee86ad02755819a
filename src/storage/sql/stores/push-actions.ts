/** PushActionStore over SQL (migrations 0018 and 0020, docs/storage.md), and the rows persistWork writes in the events' transaction. */
import type { EventId, RoomId, UserId } from "../../../core/ids/index.js";
import type { JsonValue } from "../../../core/json/types.js";
import type { PushActionCounts, PushActionStore, PushActionToStore, StoredPushAction, StreamOrdering } from "../../ports.js";
import { chunks, exec, num, query, queryOne, str, strOrNull, valuesList, type Row, type SqlRunner, type UnitOfWork } from "../uow.js";

const COLUMNS = "user_id, room_id, event_id, stream_ordering, thread_id, highlight, actions_json";

function actionOf(r: Row): StoredPushAction {
  return {
    userId: str(r["user_id"]) as UserId,
    roomId: str(r["room_id"]) as RoomId,
    eventId: str(r["event_id"]) as EventId,
    streamOrdering: num(r["stream_ordering"]),
    threadId: strOrNull(r["thread_id"]),
    highlight: num(r["highlight"]) !== 0,
    actions: JSON.parse(str(r["actions_json"])) as JsonValue[],
  };
}

/** Inside persistWork: the actions of the events written to the timeline now (`placed`: event -> room and position). */
export function* insertPushActions(actions: readonly PushActionToStore[], placed: ReadonlyMap<EventId, { roomId: RoomId; ordering: StreamOrdering }>): UnitOfWork<void> {
  const rows = actions.flatMap((a) => {
    const at = placed.get(a.eventId);
    return at ? [[a.userId, at.roomId, a.eventId, at.ordering, a.threadId, a.highlight ? 1 : 0, JSON.stringify(a.actions)]] : [];
  });
  for (const part of chunks(rows, 100)) {
    yield* exec(`INSERT INTO event_push_actions (${COLUMNS}) VALUES ${valuesList(part.length, 7)} ON CONFLICT (user_id, room_id, stream_ordering) DO NOTHING`, ...part.flat());
  }
}

export function sqlPushActionStore(db: SqlRunner): PushActionStore {
  return {
    countByThread(userId, roomId, from, to, threadId) {
      return db.read(function* () {
        const only = threadId === undefined ? "" : threadId === null ? " AND thread_id IS NULL" : " AND thread_id = ?";
        const rows = yield* query(
          `SELECT thread_id, COUNT(*) AS n, SUM(highlight) AS h FROM event_push_actions
           WHERE user_id = ? AND room_id = ? AND stream_ordering > ? AND stream_ordering <= ?${only} GROUP BY thread_id`,
          userId, roomId, from, to, ...(typeof threadId === "string" ? [threadId] : []),
        );
        const out = new Map<string | null, PushActionCounts>();
        for (const r of rows) out.set(strOrNull(r["thread_id"]), { notifications: num(r["n"]), highlights: num(r["h"] ?? 0) });
        return out;
      });
    },

    listAfter(userId, from, to, limit) {
      return db.read(function* () {
        return (yield* query(
          `SELECT ${COLUMNS} FROM event_push_actions WHERE user_id = ? AND stream_ordering > ? AND stream_ordering <= ? ORDER BY stream_ordering LIMIT ?`,
          userId, from, to, limit,
        )).map(actionOf);
      });
    },

    listBefore(userId, before, limit, onlyHighlight) {
      return db.read(function* () {
        return (yield* query(
          `SELECT ${COLUMNS} FROM event_push_actions WHERE user_id = ? AND stream_ordering < ?${onlyHighlight ? " AND highlight = 1" : ""} ORDER BY stream_ordering DESC LIMIT ?`,
          userId, before, limit,
        )).map(actionOf);
      });
    },

    maxOrdering(userId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT MAX(stream_ordering) AS m FROM event_push_actions WHERE user_id = ?", userId);
        return r && r["m"] !== null && r["m"] !== undefined ? num(r["m"]) : 0;
      });
    },
  };
}
