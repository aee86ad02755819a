/** RoomClientStore over SQL (migration 0005): room aliases, the published directory, client txn ids, forgotten rooms. */
import type { EventId, RoomAlias, RoomId, UserId } from "../../../core/ids/index.js";
import type { ClientTxnKey, RoomClientStore } from "../../ports.js";
import { chunks, exec, num, placeholders, query, queryOne, str, type SqlRunner } from "../uow.js";

const TXN_WHERE = "user_id = ? AND device_id = ? AND endpoint = ? AND room_id = ? AND txn_id = ?";
const txnParams = (k: ClientTxnKey) => [k.userId, k.deviceId, k.endpoint, k.roomId, k.txnId];

export function sqlRoomClientStore(db: SqlRunner): RoomClientStore {
  return {
    async createAlias(record, nowTs) {
      await db.write(() => exec("INSERT INTO room_aliases (room_alias, room_id, creator, created_ts) VALUES (?, ?, ?, ?)", record.alias, record.roomId, record.creator, nowTs));
    },
    getAlias(alias) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT room_alias, room_id, creator FROM room_aliases WHERE room_alias = ?", alias);
        return r ? { alias: str(r["room_alias"]) as RoomAlias, roomId: str(r["room_id"]) as RoomId, creator: str(r["creator"]) as UserId } : null;
      });
    },
    async deleteAlias(alias) {
      return (await db.write(() => exec("DELETE FROM room_aliases WHERE room_alias = ?", alias))) > 0;
    },
    getAliasesForRoom(roomId) {
      return db.read(function* () {
        return (yield* query("SELECT room_alias FROM room_aliases WHERE room_id = ? ORDER BY room_alias", roomId)).map((r) => str(r["room_alias"]) as RoomAlias);
      });
    },
    async setPublished(roomId, published, nowTs) {
      await db.write(() =>
        published
          ? exec("INSERT INTO room_directory (room_id, published_ts) VALUES (?, ?) ON CONFLICT (room_id) DO NOTHING", roomId, nowTs)
          : exec("DELETE FROM room_directory WHERE room_id = ?", roomId),
      );
    },
    isPublished(roomId) {
      return db.read(function* () {
        return (yield* queryOne("SELECT 1 AS one FROM room_directory WHERE room_id = ?", roomId)) !== undefined;
      });
    },
    getPublishedRooms() {
      return db.read(function* () {
        return (yield* query("SELECT room_id FROM room_directory ORDER BY room_id")).map((r) => str(r["room_id"]) as RoomId);
      });
    },
    getClientTxn(key) {
      return db.read(function* () {
        const r = yield* queryOne(`SELECT event_id FROM client_transactions WHERE ${TXN_WHERE}`, ...txnParams(key));
        return r ? (str(r["event_id"]) as EventId) : null;
      });
    },
    recordClientTxn(key, eventId, nowTs) {
      return db.write(function* () {
        yield* exec(
          `INSERT INTO client_transactions (user_id, device_id, endpoint, room_id, txn_id, event_id, created_ts) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (user_id, device_id, endpoint, room_id, txn_id) DO NOTHING`,
          ...txnParams(key), eventId, nowTs,
        );
        const r = yield* queryOne(`SELECT event_id FROM client_transactions WHERE ${TXN_WHERE}`, ...txnParams(key));
        return str(r!["event_id"]) as EventId;
      });
    },
    getClientTxnIds(userId, deviceId, eventIds) {
      return db.read(function* () {
        const out = new Map<EventId, string>();
        for (const part of chunks([...new Set(eventIds)], 200)) {
          const rows = yield* query(
            `SELECT event_id, txn_id FROM client_transactions WHERE event_id IN ${placeholders(part.length)} AND user_id = ? AND device_id = ?`,
            ...part, userId, deviceId,
          );
          for (const r of rows) out.set(str(r["event_id"]) as EventId, str(r["txn_id"]));
        }
        return out;
      });
    },
    getRoomMembers(roomId, membership) {
      return db.read(function* () {
        return (yield* query("SELECT user_id FROM current_memberships WHERE room_id = ? AND membership = ? ORDER BY user_id", roomId, membership)).map((r) => str(r["user_id"]) as UserId);
      });
    },
    countRoomMembers(roomIds, membership) {
      return db.read(function* () {
        const out = new Map<RoomId, number>(roomIds.map((r) => [r, 0]));
        for (const part of chunks([...new Set(roomIds)], 200)) {
          const rows = yield* query(`SELECT room_id, COUNT(*) AS n FROM current_memberships WHERE membership = ? AND room_id IN ${placeholders(part.length)} GROUP BY room_id`, membership, ...part);
          for (const r of rows) out.set(str(r["room_id"]) as RoomId, num(r["n"]));
        }
        return out;
      });
    },
    async recordRedaction(redacts, redactionId) {
      await db.write(() => exec("INSERT INTO event_redactions (redacts, event_id) VALUES (?, ?) ON CONFLICT (redacts, event_id) DO NOTHING", redacts, redactionId));
    },
    getRedactions(ids) {
      return db.read(function* () {
        const out = new Map<EventId, EventId>();
        for (const part of chunks([...new Set(ids)], 200)) {
          const rows = yield* query(`SELECT redacts, MIN(event_id) AS event_id FROM event_redactions WHERE redacts IN ${placeholders(part.length)} GROUP BY redacts`, ...part);
          for (const r of rows) out.set(str(r["redacts"]) as EventId, str(r["event_id"]) as EventId);
        }
        return out;
      });
    },
    async setForgotten(userId, roomId, forgotten) {
      await db.write(() =>
        forgotten
          ? exec("INSERT INTO forgotten_rooms (user_id, room_id) VALUES (?, ?) ON CONFLICT (user_id, room_id) DO NOTHING", userId, roomId)
          : exec("DELETE FROM forgotten_rooms WHERE user_id = ? AND room_id = ?", userId, roomId),
      );
    },
    isForgotten(userId, roomId) {
      return db.read(function* () {
        return (yield* queryOne("SELECT 1 AS one FROM forgotten_rooms WHERE user_id = ? AND room_id = ?", userId, roomId)) !== undefined;
      });
    },
  };
}
