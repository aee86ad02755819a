/**
 * Sliding-sync connection state over SQL (migration 0013, docs/sliding-sync.md), and the bulk reads the room list
 * orders and filters with. One transaction per method.
 *
 * Room rows carry the position that wrote them (`since`). Saving a position writes only the rooms it changed.
 * Using a position P deletes the connection's other positions, the rows of positions that are not P's ancestors
 * (abandoned retries: every row newer than P's parent but P's own), and the rows P's own rows supersede; so after
 * a use each room has one row, and the connection's rows are P's state. The work per request is in the rooms that
 * changed, not in the rooms the connection has sent.
 */
import type { EventId, RoomId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { MembershipRecord, SlidingSyncConnectionKey, SlidingSyncRoomState, SlidingSyncStore, StreamOrdering } from "../../ports.js";
import { chunks, exec, num, numOrNull, placeholders, query, queryOne, str, type Row, type SqlRunner, type UnitOfWork } from "../uow.js";
import { nextPosition } from "./e2ee.js";
import { VISIBLE } from "./events.js";
import { roomListMembershipsWork, roomListRoomsWork } from "./room-list.js";

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

/** Deletes a connection with its positions and rooms. */
function* dropConnection(k: SlidingSyncConnectionKey): UnitOfWork<void> {
  const c = yield* queryOne(`SELECT connection_key FROM sliding_sync_connections WHERE ${CONN}`, ...connParams(k));
  if (!c) return;
  const key = num(c["connection_key"]);
  yield* exec("DELETE FROM sliding_sync_rooms WHERE connection_key = ?", key);
  yield* exec("DELETE FROM sliding_sync_positions WHERE connection_key = ?", key);
  yield* exec(`DELETE FROM sliding_sync_connections WHERE ${CONN}`, ...connParams(k));
}

/**
 * Deletes the sliding-sync connections of some of a user's devices (all of them when `deviceIds` is undefined),
 * with their positions and rooms: a deleted device (or a logout) leaves no connection behind.
 */
export function* deleteSlidingSyncWork(userId: string, deviceIds: readonly string[] | undefined): UnitOfWork<void> {
  const devices = deviceIds === undefined ? "" : ` AND device_id IN ${placeholders(deviceIds.length)}`;
  const params = [userId, ...(deviceIds ?? [])];
  const keys = `SELECT connection_key FROM sliding_sync_connections WHERE user_id = ?${devices}`;
  yield* exec(`DELETE FROM sliding_sync_rooms WHERE connection_key IN (${keys})`, ...params);
  yield* exec(`DELETE FROM sliding_sync_positions WHERE connection_key IN (${keys})`, ...params);
  yield* exec(`DELETE FROM sliding_sync_connections WHERE user_id = ?${devices}`, ...params);
}

function* insertRooms(connectionKey: number, since: number, rooms: readonly SlidingSyncRoomState[]): UnitOfWork<void> {
  for (const r of new Map(rooms.map((x) => [x.roomId, x])).values()) {
    yield* exec(
      "INSERT INTO sliding_sync_rooms (connection_key, room_id, since, status, last_events, membership, config, lazy_members) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      connectionKey, r.roomId, since, r.status, r.lastEvents, r.membership, JSON.stringify(r.config), JSON.stringify(r.lazyMembers),
    );
  }
}

export function sqlSlidingSyncStore(db: SqlRunner): SlidingSyncStore {
  return {
    loadPosition(key, position, nowTs, idleBeforeTs, opts) {
      return db.write(function* () {
        const conn = yield* queryOne(`SELECT connection_key, last_used_ts FROM sliding_sync_connections WHERE ${CONN}`, ...connParams(key));
        if (!conn) return null;
        if (num(conn["last_used_ts"]) < idleBeforeTs) {
          yield* dropConnection(key);
          return null;
        }
        const ck = num(conn["connection_key"]);
        const pos = yield* queryOne("SELECT parent, token, lists FROM sliding_sync_positions WHERE position = ? AND connection_key = ?", position, ck);
        if (!pos) return null;
        const parent = numOrNull(pos["parent"]) ?? 0;
        yield* exec("DELETE FROM sliding_sync_positions WHERE connection_key = ? AND position <> ?", ck, position);
        // Rows of positions that are not this one's ancestors (siblings and descendants: abandoned), then the rows
        // this position's own rows supersede.
        yield* exec("DELETE FROM sliding_sync_rooms WHERE connection_key = ? AND since > ? AND since <> ?", ck, parent, position);
        yield* exec(
          "DELETE FROM sliding_sync_rooms WHERE connection_key = ? AND since < ? AND room_id IN (SELECT room_id FROM sliding_sync_rooms WHERE connection_key = ? AND since = ?)",
          ck, position, ck, position,
        );
        yield* exec("UPDATE sliding_sync_connections SET last_used_ts = ? WHERE connection_key = ?", nowTs, ck);
        let rooms: Map<RoomId, SlidingSyncRoomState> | null = null;
        if (opts?.withRooms !== false) {
          rooms = new Map();
          const rows = yield* query("SELECT room_id, status, last_events, membership, config, lazy_members FROM sliding_sync_rooms WHERE connection_key = ? ORDER BY since", ck);
          for (const r of rows) rooms.set(str(r["room_id"]) as RoomId, roomState(r));
        }
        return { position, token: str(pos["token"]), lists: JSON.parse(str(pos["lists"])) as JsonObject, rooms };
      });
    },

    savePosition(key, save, nowTs, maxConnections) {
      return db.write(function* () {
        let ck: number;
        if (save.base === null) {
          yield* dropConnection(key);
          const existing = yield* query("SELECT conn_id FROM sliding_sync_connections WHERE user_id = ? AND device_id = ? ORDER BY last_used_ts, conn_id", key.userId, key.deviceId);
          for (const r of existing.slice(0, Math.max(0, existing.length - maxConnections + 1))) yield* dropConnection({ ...key, connId: str(r["conn_id"]) });
          ck = yield* nextPosition("sliding_sync");
          yield* exec("INSERT INTO sliding_sync_connections (user_id, device_id, conn_id, connection_key, created_ts, last_used_ts) VALUES (?, ?, ?, ?, ?, ?)", ...connParams(key), ck, nowTs, nowTs);
        } else {
          const base = yield* queryOne(
            `SELECT p.connection_key FROM sliding_sync_positions p JOIN sliding_sync_connections c ON c.connection_key = p.connection_key WHERE p.position = ? AND c.user_id = ? AND c.device_id = ? AND c.conn_id = ?`,
            save.base, ...connParams(key),
          );
          if (!base) return null;
          ck = num(base["connection_key"]);
          yield* exec("UPDATE sliding_sync_connections SET last_used_ts = ? WHERE connection_key = ?", nowTs, ck);
        }
        const position = yield* nextPosition("sliding_sync");
        yield* exec(
          "INSERT INTO sliding_sync_positions (position, connection_key, parent, token, lists, created_ts) VALUES (?, ?, ?, ?, ?, ?)",
          position, ck, save.base, save.token, JSON.stringify(save.lists), nowTs,
        );
        yield* insertRooms(ck, position, save.rooms);
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

    memberships(userId, roomIds) {
      return db.read(function* () {
        const out = new Map<RoomId, MembershipRecord & { readonly streamOrdering: StreamOrdering }>();
        for (const part of chunks([...new Set(roomIds)])) {
          if (part.length === 0) continue;
          const rows = yield* query(
            `SELECT m.room_id, m.membership, m.event_id, m.stream_ordering, s.stripped_state FROM current_memberships m
             LEFT JOIN membership_stripped_state s ON s.event_id = m.event_id WHERE m.user_id = ? AND m.room_id IN ${placeholders(part.length)}`,
            userId, ...part,
          );
          for (const r of rows) {
            const stripped = r["stripped_state"] === null || r["stripped_state"] === undefined ? null : (JSON.parse(str(r["stripped_state"])) as JsonObject[]);
            out.set(str(r["room_id"]) as RoomId, { membership: str(r["membership"]), eventId: str(r["event_id"]) as EventId, streamOrdering: num(r["stream_ordering"]), strippedState: stripped });
          }
        }
        return out;
      });
    },

    roomListRooms: (roomIds) => db.read(() => roomListRoomsWork(roomIds)),
    roomListMemberships: (userId, roomIds) => db.read(() => roomListMembershipsWork(userId, roomIds)),
  };
}
