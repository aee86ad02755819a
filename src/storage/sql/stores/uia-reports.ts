/** UiaSessionStore, ReportStore and OpenIdTokenStore over SQL (migration 0014); RegistrationNonceStore (migration 0019). */
import type { EventId, RoomId, UserId } from "../../../core/ids/index.js";
import type { EventReportRecord, OpenIdTokenStore, RegistrationNonceStore, ReportListQuery, ReportStore, RoomReportRecord, UiaSessionStore } from "../../ports.js";
import { exec, num, numOrNull, query, queryOne, str, strOrNull, type Row, type SqlRunner, type SqlValue, type UnitOfWork } from "../uow.js";

export function sqlUiaSessionStore(db: SqlRunner): UiaSessionStore {
  return {
    create(sessionId, record, limits) {
      return db.write(function* () {
        yield* exec("DELETE FROM uia_sessions WHERE created_ts < ?", limits.expireBeforeTs);
        yield* exec("INSERT INTO uia_sessions (session_id, operation, user_id, created_ts) VALUES (?, ?, ?, ?)", sessionId, record.operation, record.userId, record.createdTs);
        const count = num((yield* queryOne("SELECT COUNT(*) AS n FROM uia_sessions"))?.["n"]);
        if (count > limits.maxSessions) {
          yield* exec(
            "DELETE FROM uia_sessions WHERE session_id IN (SELECT session_id FROM uia_sessions ORDER BY created_ts, session_id LIMIT ?)",
            count - limits.maxSessions,
          );
        }
      });
    },

    get(sessionId, createdSinceTs) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT operation, user_id, created_ts FROM uia_sessions WHERE session_id = ? AND created_ts >= ?", sessionId, createdSinceTs);
        return r ? { operation: str(r["operation"]), userId: strOrNull(r["user_id"]) as UserId | null, createdTs: num(r["created_ts"]) } : null;
      });
    },

    delete(sessionId) {
      return db.write(function* () {
        return (yield* exec("DELETE FROM uia_sessions WHERE session_id = ?", sessionId)) > 0;
      });
    },

    deleteExpired(beforeTs) {
      return db.write(function* () {
        return yield* exec("DELETE FROM uia_sessions WHERE created_ts < ?", beforeTs);
      });
    },
  };
}

export function sqlRegistrationNonceStore(db: SqlRunner): RegistrationNonceStore {
  return {
    issue(nonce, issuedTs, limits) {
      return db.write(function* () {
        yield* exec("DELETE FROM registration_nonces WHERE issued_ts < ?", limits.expireBeforeTs);
        yield* exec("INSERT INTO registration_nonces (nonce, issued_ts) VALUES (?, ?)", nonce, issuedTs);
        const count = num((yield* queryOne("SELECT COUNT(*) AS n FROM registration_nonces"))?.["n"]);
        if (count > limits.max) {
          yield* exec("DELETE FROM registration_nonces WHERE nonce IN (SELECT nonce FROM registration_nonces ORDER BY issued_ts, nonce LIMIT ?)", count - limits.max);
        }
      });
    },

    consume(nonce, issuedSinceTs) {
      return db.write(function* () {
        return (yield* exec("DELETE FROM registration_nonces WHERE nonce = ? AND issued_ts >= ?", nonce, issuedSinceTs)) > 0;
      });
    },
  };
}

/** The next id of a report table, from its stream_positions row (whose row lock serialises concurrent writers). */
function* nextId(stream: "event_reports" | "room_reports"): UnitOfWork<number> {
  yield* exec("UPDATE stream_positions SET position = position + 1 WHERE stream_name = ?", stream);
  return num((yield* queryOne("SELECT position FROM stream_positions WHERE stream_name = ?", stream))?.["position"]);
}

const EVENT_COLUMNS = "id, received_ts, room_id, event_id, user_id, reason, score";
const ROOM_COLUMNS = "id, received_ts, room_id, user_id, reason";

function eventReportOf(r: Row): EventReportRecord {
  return {
    id: num(r["id"]),
    receivedTs: num(r["received_ts"]),
    roomId: str(r["room_id"]) as RoomId,
    eventId: str(r["event_id"]) as EventId,
    userId: str(r["user_id"]) as UserId,
    reason: strOrNull(r["reason"]),
    score: numOrNull(r["score"]),
  };
}

function roomReportOf(r: Row): RoomReportRecord {
  return { id: num(r["id"]), receivedTs: num(r["received_ts"]), roomId: str(r["room_id"]) as RoomId, userId: str(r["user_id"]) as UserId, reason: strOrNull(r["reason"]) };
}

/** The page and the total of one report table under the listing's filters (column names are fixed text). */
function* listPage(table: "event_reports" | "room_reports", columns: string, q: ReportListQuery): UnitOfWork<{ rows: readonly Row[]; total: number }> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (q.roomId !== undefined) { where.push("room_id = ?"); params.push(q.roomId); }
  if (q.userId !== undefined) { where.push("user_id = ?"); params.push(q.userId); }
  const clause = where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "";
  const total = num((yield* queryOne(`SELECT COUNT(*) AS n FROM ${table}${clause}`, ...params))?.["n"]);
  const rows = yield* query(`SELECT ${columns} FROM ${table}${clause} ORDER BY id ${q.dir === "b" ? "DESC" : "ASC"} LIMIT ? OFFSET ?`, ...params, q.limit, q.from);
  return { rows, total };
}

export function sqlReportStore(db: SqlRunner): ReportStore {
  return {
    addEventReport(r) {
      return db.write(function* () {
        const id = yield* nextId("event_reports");
        yield* exec(`INSERT INTO event_reports (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`, id, r.receivedTs, r.roomId, r.eventId, r.userId, r.reason, r.score);
        return id;
      });
    },

    addRoomReport(r) {
      return db.write(function* () {
        const id = yield* nextId("room_reports");
        yield* exec(`INSERT INTO room_reports (${ROOM_COLUMNS}) VALUES (?, ?, ?, ?, ?)`, id, r.receivedTs, r.roomId, r.userId, r.reason);
        return id;
      });
    },

    listEventReports(q) {
      return db.read(function* () {
        const { rows, total } = yield* listPage("event_reports", EVENT_COLUMNS, q);
        return { reports: rows.map(eventReportOf), total };
      });
    },

    listRoomReports(q) {
      return db.read(function* () {
        const { rows, total } = yield* listPage("room_reports", ROOM_COLUMNS, q);
        return { reports: rows.map(roomReportOf), total };
      });
    },

    getEventReport(id) {
      return db.read(function* () {
        const r = yield* queryOne(`SELECT ${EVENT_COLUMNS} FROM event_reports WHERE id = ?`, id);
        return r ? eventReportOf(r) : null;
      });
    },

    deleteEventReport(id) {
      return db.write(function* () {
        return (yield* exec("DELETE FROM event_reports WHERE id = ?", id)) > 0;
      });
    },
  };
}

export function sqlOpenIdTokenStore(db: SqlRunner): OpenIdTokenStore {
  return {
    create(token, userId, expiresTs, nowTs) {
      return db.write(function* () {
        yield* exec("DELETE FROM openid_tokens WHERE expires_ts <= ?", nowTs);
        yield* exec("INSERT INTO openid_tokens (token, user_id, expires_ts) VALUES (?, ?, ?)", token, userId, expiresTs);
      });
    },

    getUser(token, nowTs) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT user_id FROM openid_tokens WHERE token = ? AND expires_ts > ?", token, nowTs);
        return r ? (str(r["user_id"]) as UserId) : null;
      });
    },
  };
}
