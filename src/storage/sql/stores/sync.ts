/** Sync's persisted ephemeral streams over SQL (migration 0006): receipts, presence, push rules. One transaction per method. */
import type { EventId, RoomId, UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { PresenceRecord, PresenceStore, PushRulesStore, ReceiptRecord, ReceiptStore } from "../../ports.js";
import { chunks, exec, num, placeholders, query, queryOne, str, type Row, type SqlRunner } from "../uow.js";
import { currentPosition, nextPosition } from "./e2ee.js";

const receipt = (r: Row): ReceiptRecord => ({
  roomId: str(r["room_id"]) as RoomId,
  receiptType: str(r["receipt_type"]),
  userId: str(r["user_id"]) as UserId,
  threadId: str(r["thread_id"]) === "" ? null : str(r["thread_id"]),
  eventId: str(r["event_id"]) as EventId,
  ts: num(r["ts"]),
  position: num(r["stream_id"]),
});

export function sqlReceiptStore(db: SqlRunner): ReceiptStore {
  return {
    put(r) {
      return db.write(function* () {
        const pos = yield* nextPosition("receipts");
        yield* exec(
          `INSERT INTO receipts (room_id, receipt_type, user_id, thread_id, event_id, ts, stream_id) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (room_id, receipt_type, user_id, thread_id) DO UPDATE SET event_id = excluded.event_id, ts = excluded.ts, stream_id = excluded.stream_id`,
          r.roomId, r.receiptType, r.userId, r.threadId ?? "", r.eventId, r.ts, pos,
        );
        return pos;
      });
    },
    changesSince(roomIds, since, to) {
      return db.read(function* () {
        const out: ReceiptRecord[] = [];
        for (const part of chunks([...new Set(roomIds)])) {
          if (part.length === 0) continue;
          const rows = yield* query(
            `SELECT room_id, receipt_type, user_id, thread_id, event_id, ts, stream_id FROM receipts WHERE room_id IN ${placeholders(part.length)} AND stream_id > ? AND stream_id <= ? ORDER BY stream_id`,
            ...part, since, to,
          );
          out.push(...rows.map(receipt));
        }
        return out.sort((a, b) => a.position - b.position);
      });
    },
    get(roomId, userId, receiptType, threadId) {
      return db.read(function* () {
        const r = yield* queryOne(
          "SELECT room_id, receipt_type, user_id, thread_id, event_id, ts, stream_id FROM receipts WHERE room_id = ? AND receipt_type = ? AND user_id = ? AND thread_id = ?",
          roomId, receiptType, userId, threadId ?? "",
        );
        return r ? receipt(r) : null;
      });
    },
    maxPosition() {
      return db.read(() => currentPosition("receipts"));
    },
  };
}

const presence = (r: Row): PresenceRecord => ({
  userId: str(r["user_id"]) as UserId,
  state: str(r["state"]),
  statusMsg: r["status_msg"] === null || r["status_msg"] === undefined ? null : str(r["status_msg"]),
  lastActiveTs: num(r["last_active_ts"]),
  position: num(r["stream_id"]),
});

export function sqlPresenceStore(db: SqlRunner): PresenceStore {
  return {
    put(userId, state, statusMsg, nowTs) {
      return db.write(function* () {
        const pos = yield* nextPosition("presence");
        const old = yield* queryOne("SELECT status_msg FROM presence WHERE user_id = ?", userId);
        const msg = statusMsg === undefined ? (old && old["status_msg"] !== null && old["status_msg"] !== undefined ? str(old["status_msg"]) : null) : statusMsg;
        yield* exec(
          `INSERT INTO presence (user_id, state, status_msg, last_active_ts, stream_id) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, status_msg = excluded.status_msg, last_active_ts = excluded.last_active_ts, stream_id = excluded.stream_id`,
          userId, state, msg, nowTs, pos,
        );
        return pos;
      });
    },
    touch(userId, lastActiveTs) {
      return db.write(function* () {
        yield* exec("UPDATE presence SET last_active_ts = ? WHERE user_id = ?", lastActiveTs, userId);
      });
    },
    get(userId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT user_id, state, status_msg, last_active_ts, stream_id FROM presence WHERE user_id = ?", userId);
        return r ? presence(r) : null;
      });
    },
    usersNotOffline(serverName) {
      return db.read(function* () {
        const rows = yield* query("SELECT user_id FROM presence WHERE state <> 'offline'");
        const suffix = `:${serverName}`;
        return rows.map((r) => str(r["user_id"]) as UserId).filter((u) => u.endsWith(suffix));
      });
    },
    changesSince(userIds, since, to) {
      return db.read(function* () {
        const out: PresenceRecord[] = [];
        for (const part of chunks([...new Set(userIds)])) {
          if (part.length === 0) continue;
          const rows = yield* query(
            `SELECT user_id, state, status_msg, last_active_ts, stream_id FROM presence WHERE user_id IN ${placeholders(part.length)} AND stream_id > ? AND stream_id <= ?`,
            ...part, since, to,
          );
          out.push(...rows.map(presence));
        }
        return out.sort((a, b) => a.position - b.position);
      });
    },
    maxPosition() {
      return db.read(() => currentPosition("presence"));
    },
  };
}

export function sqlPushRulesStore(db: SqlRunner): PushRulesStore {
  return {
    get(userId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT rules_json FROM push_rules WHERE user_id = ?", userId);
        return r ? (JSON.parse(str(r["rules_json"])) as JsonObject) : null;
      });
    },
    put(userId, rules) {
      return db.write(function* () {
        const pos = yield* nextPosition("push_rules");
        yield* exec(
          `INSERT INTO push_rules (user_id, rules_json, stream_id) VALUES (?, ?, ?)
           ON CONFLICT (user_id) DO UPDATE SET rules_json = excluded.rules_json, stream_id = excluded.stream_id`,
          userId, JSON.stringify(rules), pos,
        );
        return pos;
      });
    },
    position(userId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT stream_id FROM push_rules WHERE user_id = ?", userId);
        return r ? num(r["stream_id"]) : 0;
      });
    },
  };
}
