/**
 * Sliding-sync connection state over SQL (migration 0011, docs/sliding-sync.md), and the bulk reads the room list
 * orders and filters with. One transaction per method.
 *
 * A position points at a snapshot of per-room rows. Saving a position with room changes copies the base snapshot
 * inside the database (INSERT ... SELECT) and upserts the changes; a position without room changes shares its base's
 * snapshot. Loading a position deletes the connection's other positions and every snapshot no position refers to.
 */
import type { EventId, RoomId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { SlidingSyncConnectionKey, SlidingSyncRoomState, SlidingSyncStore, StreamOrdering } from "../../ports.js";
import { chunks, exec, num, placeholders, query, queryOne, str, type Row, type SqlRunner, type UnitOfWork } from "../uow.js";
import { nextPosition } from "./e2ee.js";
import { VISIBLE } from "./events.js";

const CONN = "user_id = ? AND device_id = ? AND conn_id = ?";
const connParams = (k: SlidingSyncConnectionKey) => [k.userId, k.deviceId, k.connId] as const;

const roomState = (r: Row): SlidingSyncRoomState => ({
  roomId: str(r["room_id"]) as RoomId,
  status: str(r["status"]) === "previously" ? "previously" : "live",
  lastEvents: num(r["last_events"]),
  membership: str(r["membership"]),
  config: JSON.parse(str(r["config"])) as JsonObject,
  lazyMembers: JSON.parse(str(r["lazy_members"])) as string[],
});

/** Deletes the snapshots that no position refers to any more. */
function* dropOrphanSnapshots(snapshots: readonly number[]): UnitOfWork<void> {
  for (const s of new Set(snapshots)) {
    const used = yield* queryOne("SELECT 1 AS one FROM sliding_sync_positions WHERE snapshot = ? LIMIT 1", s);
    if (!used) yield* exec("DELETE FROM sliding_sync_rooms WHERE snapshot = ?", s);
  }
}

/** Deletes a connection with its positions and their snapshots. */
function* dropConnection(k: SlidingSyncConnectionKey): UnitOfWork<void> {
  const rows = yield* query(`SELECT snapshot FROM sliding_sync_positions WHERE ${CONN}`, ...connParams(k));
  yield* exec(`DELETE FROM sliding_sync_positions WHERE ${CONN}`, ...connParams(k));
  yield* dropOrphanSnapshots(rows.map((r) => num(r["snapshot"])));
  yield* exec(`DELETE FROM sliding_sync_connections WHERE ${CONN}`, ...connParams(k));
}

function* upsertRooms(snapshot: number, rooms: readonly SlidingSyncRoomState[]): UnitOfWork<void> {
  for (const r of rooms) {
    yield* exec(
      `INSERT INTO sliding_sync_rooms (snapshot, room_id, status, last_events, membership, config, lazy_members) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (snapshot, room_id) DO UPDATE SET status = excluded.status, last_events = excluded.last_events, membership = excluded.membership, config = excluded.config, lazy_members = excluded.lazy_members`,
      snapshot, r.roomId, r.status, r.lastEvents, r.membership, JSON.stringify(r.config), JSON.stringify(r.lazyMembers),
    );
  }
}

export function sqlSlidingSyncStore(db: SqlRunner): SlidingSyncStore {
  return {
    loadPosition(key, position, nowTs, idleBeforeTs) {
      return db.write(function* () {
        const conn = yield* queryOne(`SELECT last_used_ts FROM sliding_sync_connections WHERE ${CONN}`, ...connParams(key));
        if (!conn) return null;
        if (num(conn["last_used_ts"]) < idleBeforeTs) {
          yield* dropConnection(key);
          return null;
        }
        const pos = yield* queryOne(`SELECT snapshot, token, lists FROM sliding_sync_positions WHERE position = ? AND ${CONN}`, position, ...connParams(key));
        if (!pos) return null;
        const snapshot = num(pos["snapshot"]);
        const others = yield* query(`SELECT snapshot FROM sliding_sync_positions WHERE ${CONN} AND position <> ?`, ...connParams(key), position);
        if (others.length > 0) {
          yield* exec(`DELETE FROM sliding_sync_positions WHERE ${CONN} AND position <> ?`, ...connParams(key), position);
          yield* dropOrphanSnapshots(others.map((r) => num(r["snapshot"])).filter((s) => s !== snapshot));
        }
        yield* exec(`UPDATE sliding_sync_connections SET last_used_ts = ? WHERE ${CONN}`, nowTs, ...connParams(key));
        const rows = yield* query("SELECT room_id, status, last_events, membership, config, lazy_members FROM sliding_sync_rooms WHERE snapshot = ?", snapshot);
        const rooms = new Map<RoomId, SlidingSyncRoomState>();
        for (const r of rows) rooms.set(str(r["room_id"]) as RoomId, roomState(r));
        return { position, token: str(pos["token"]), lists: JSON.parse(str(pos["lists"])) as JsonObject, rooms };
      });
    },

    savePosition(key, save, nowTs, maxConnections) {
      return db.write(function* () {
        let snapshot: number;
        if (save.base === null) {
          yield* dropConnection(key);
          const existing = yield* query("SELECT conn_id FROM sliding_sync_connections WHERE user_id = ? AND device_id = ? ORDER BY last_used_ts, conn_id", key.userId, key.deviceId);
          for (const r of existing.slice(0, Math.max(0, existing.length - maxConnections + 1))) yield* dropConnection({ ...key, connId: str(r["conn_id"]) });
          yield* exec("INSERT INTO sliding_sync_connections (user_id, device_id, conn_id, created_ts, last_used_ts) VALUES (?, ?, ?, ?, ?)", ...connParams(key), nowTs, nowTs);
          snapshot = yield* nextPosition("sliding_sync");
          yield* upsertRooms(snapshot, save.rooms);
        } else {
          const base = yield* queryOne(`SELECT snapshot FROM sliding_sync_positions WHERE position = ? AND ${CONN}`, save.base, ...connParams(key));
          if (!base) return null;
          snapshot = num(base["snapshot"]);
          if (save.rooms.length > 0) {
            const from = snapshot;
            snapshot = yield* nextPosition("sliding_sync");
            yield* exec(
              `INSERT INTO sliding_sync_rooms (snapshot, room_id, status, last_events, membership, config, lazy_members)
               SELECT ?, room_id, status, last_events, membership, config, lazy_members FROM sliding_sync_rooms WHERE snapshot = ?`,
              snapshot, from,
            );
            yield* upsertRooms(snapshot, save.rooms);
          }
          yield* exec(`UPDATE sliding_sync_connections SET last_used_ts = ? WHERE ${CONN}`, nowTs, ...connParams(key));
        }
        const position = yield* nextPosition("sliding_sync");
        yield* exec(
          "INSERT INTO sliding_sync_positions (position, user_id, device_id, conn_id, snapshot, token, lists, created_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          position, ...connParams(key), snapshot, save.token, JSON.stringify(save.lists), nowTs,
        );
        return position;
      });
    },

    latestEventPositions(roomIds, to, types) {
      return db.read(function* () {
        const out = new Map<RoomId, StreamOrdering>();
        const typeFilter = types && types.length > 0 ? ` AND type IN ${placeholders(types.length)}` : "";
        // One index probe per room (newest first, stopping at the first visible row), not a scan of its events.
        for (const roomId of new Set(roomIds)) {
          const r = yield* queryOne(
            `SELECT stream_ordering FROM events WHERE room_id = ? AND stream_ordering <= ? AND stream_ordering > 0 AND ${VISIBLE}${typeFilter} ORDER BY stream_ordering DESC LIMIT 1`,
            roomId, to, ...(types ?? []),
          );
          if (r) out.set(roomId, num(r["stream_ordering"]));
        }
        return out;
      });
    },

    latestEventPositionsBetween(from, to) {
      return db.read(function* () {
        const out = new Map<RoomId, StreamOrdering>();
        if (to <= from) return out;
        const rows = yield* query(
          `SELECT room_id, MAX(stream_ordering) AS latest FROM events WHERE stream_ordering > ? AND stream_ordering <= ? AND ${VISIBLE} GROUP BY room_id`,
          Math.max(0, from), to,
        );
        for (const r of rows) out.set(str(r["room_id"]) as RoomId, num(r["latest"]));
        return out;
      });
    },

    currentStateEventIds(roomIds, type, stateKey) {
      return db.read(function* () {
        const out = new Map<RoomId, EventId>();
        for (const part of chunks([...new Set(roomIds)])) {
          if (part.length === 0) continue;
          const rows = yield* query(
            `SELECT room_id, event_id FROM current_state_events WHERE room_id IN ${placeholders(part.length)} AND type = ? AND state_key = ?`,
            ...part, type, stateKey,
          );
          for (const r of rows) out.set(str(r["room_id"]) as RoomId, str(r["event_id"]) as EventId);
        }
        return out;
      });
    },
  };
}
