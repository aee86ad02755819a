/**
 * AdminStore over SQL: the user listing of the admin API, the admin flag, reactivation, registration tokens (0009);
 * the room list, room blocks and room purges (0013).
 */
import type { RoomId, UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/index.js";
import type { AdminRoomSummary, AdminStore, RegistrationToken, UserOrder } from "../../ports.js";
import { bool, exec, num, placeholders, numOrNull, query, queryOne, str, strOrNull, type Row, type SqlRunner } from "../uow.js";

/** Columns by order_by (a fixed list: the value never reaches the SQL text). Display names sort with NULL as "". */
const ORDER: Record<UserOrder, string> = {
  name: "u.user_id",
  admin: "u.admin",
  deactivated: "u.deactivated",
  creation_ts: "u.created_ts",
  displayname: "COALESCE(p.displayname, '')",
};

/** A LIKE pattern matching `text` as a substring, its wildcards escaped (ESCAPE '\'). */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The state events (empty state key) whose contents the admin room list shows. */
const SUMMARY_STATE_TYPES = [
  "m.room.create", "m.room.name", "m.room.topic", "m.room.avatar", "m.room.canonical_alias", "m.room.join_rules",
  "m.room.guest_access", "m.room.history_visibility", "m.room.encryption",
];

const ROOM_EVENTS = "SELECT event_id FROM events WHERE room_id = ?";

/**
 * What a purge deletes, in order (rows keyed by event id or state group first, while the events and groups that
 * name the room are still there). Every table with a `room_id` column is here or in PURGE_KEEPS; a test reads the
 * schema and fails when a new one is neither.
 */
export const PURGE_STEPS: readonly (readonly [table: string, where: string, params: number])[] = [
  ["event_auth_chain_links", `origin_chain_id IN (SELECT c.chain_id FROM event_auth_chains c JOIN events e ON e.event_id = c.event_id WHERE e.room_id = ?)`, 1],
  ["event_auth_chains", `event_id IN (${ROOM_EVENTS})`, 1],
  ["event_auth_edges", `event_id IN (${ROOM_EVENTS})`, 1],
  ["event_redactions", `event_id IN (${ROOM_EVENTS}) OR redacts IN (${ROOM_EVENTS})`, 2],
  ["state_group_deltas", "state_group IN (SELECT state_group FROM state_groups WHERE room_id = ?)", 1],
  ...[
    "event_edges", "event_forward_extremities", "current_state_events", "event_state_groups", "state_groups",
    "current_state_delta_stream", "current_memberships", "membership_stream", "account_data", "room_aliases",
    "room_directory", "client_transactions", "forgotten_rooms", "receipts", "federation_outbound_pdus",
    "event_relations", "threads", "membership_stripped_state", "sliding_sync_rooms", "room_list_rooms", "room_list_memberships", "event_push_action_runs", "event_push_action_runs_recent", "partial_state_rooms", "events", "rooms",
  ].map((t) => [t, "room_id = ?", 1] as const),
];

/**
 * Tables with a `room_id` column that a purge keeps: users' own key backups, the block itself, and the content
 * reports (the moderation record outlives the room: the admin API still lists them, without the room's name).
 */
export const PURGE_KEEPS: readonly string[] = ["room_key_backup_keys", "blocked_rooms", "event_reports", "room_reports"];

const TOKEN_COLUMNS = "token, uses_allowed, pending, completed, expiry_time";

function tokenOf(r: Row): RegistrationToken {
  return { token: str(r["token"]), usesAllowed: numOrNull(r["uses_allowed"]), pending: num(r["pending"]), completed: num(r["completed"]), expiryTime: numOrNull(r["expiry_time"]) };
}

export function sqlAdminStore(db: SqlRunner): AdminStore {
  return {
    listUsers(q) {
      return db.read(function* () {
        const where: string[] = [];
        const params: (string | number)[] = [];
        if (q.name !== undefined && q.name !== "") {
          where.push("(LOWER(u.user_id) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(p.displayname, '')) LIKE ? ESCAPE '\\')");
          params.push(containsPattern(q.name), containsPattern(q.name));
        }
        if (!q.deactivated) where.push("u.deactivated = 0");
        if (q.admins !== undefined) where.push(`u.admin = ${q.admins ? 1 : 0}`);
        const from = `FROM users u LEFT JOIN profiles p ON p.user_id = u.user_id${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}`;
        const total = num((yield* queryOne(`SELECT COUNT(*) AS n ${from}`, ...params))!["n"]);
        const dir = q.dir === "b" ? "DESC" : "ASC";
        const rows = yield* query(
          `SELECT u.user_id, u.admin, u.deactivated, u.created_ts, p.displayname, p.avatar_url ${from}
           ORDER BY ${ORDER[q.orderBy]} ${dir}, u.user_id ${dir} LIMIT ? OFFSET ?`,
          ...params, q.limit, q.from,
        );
        const users = rows.map((r) => ({
          userId: str(r["user_id"]) as UserId,
          displayname: strOrNull(r["displayname"]),
          avatarUrl: strOrNull(r["avatar_url"]),
          admin: bool(r["admin"]),
          deactivated: bool(r["deactivated"]),
          createdTs: num(r["created_ts"]),
        }));
        return { users, total };
      });
    },

    setAdmin(userId, admin) {
      return db.write(function* () {
        return (yield* exec("UPDATE users SET admin = ? WHERE user_id = ?", admin ? 1 : 0, userId)) > 0;
      });
    },

    reactivateUser(userId, passwordHash) {
      return db.write(function* () {
        return (yield* exec("UPDATE users SET deactivated = 0, password_hash = ? WHERE user_id = ?", passwordHash, userId)) > 0;
      });
    },

    createRegistrationToken(t) {
      return db.write(function* () {
        yield* exec(
          `INSERT INTO registration_tokens (${TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?)`,
          t.token, t.usesAllowed, t.pending, t.completed, t.expiryTime,
        );
      });
    },

    getRegistrationToken(token) {
      return db.read(function* () {
        const r = yield* queryOne(`SELECT ${TOKEN_COLUMNS} FROM registration_tokens WHERE token = ?`, token);
        return r ? tokenOf(r) : null;
      });
    },

    listRegistrationTokens({ valid, nowTs }) {
      return db.read(function* () {
        const usable = "(uses_allowed IS NULL OR pending + completed < uses_allowed) AND (expiry_time IS NULL OR expiry_time > ?)";
        const rows = valid === undefined
          ? yield* query(`SELECT ${TOKEN_COLUMNS} FROM registration_tokens ORDER BY token`)
          : yield* query(`SELECT ${TOKEN_COLUMNS} FROM registration_tokens WHERE ${valid ? "" : "NOT "}(${usable}) ORDER BY token`, nowTs);
        return rows.map(tokenOf);
      });
    },

    updateRegistrationToken(token, change) {
      return db.write(function* () {
        if (change.usesAllowed !== undefined) yield* exec("UPDATE registration_tokens SET uses_allowed = ? WHERE token = ?", change.usesAllowed, token);
        if (change.expiryTime !== undefined) yield* exec("UPDATE registration_tokens SET expiry_time = ? WHERE token = ?", change.expiryTime, token);
        const r = yield* queryOne(`SELECT ${TOKEN_COLUMNS} FROM registration_tokens WHERE token = ?`, token);
        return r ? tokenOf(r) : null;
      });
    },

    reserveRegistrationToken(token, nowTs) {
      return db.write(function* () {
        const n = yield* exec(
          `UPDATE registration_tokens SET pending = pending + 1 WHERE token = ?
           AND (uses_allowed IS NULL OR pending + completed < uses_allowed) AND (expiry_time IS NULL OR expiry_time > ?)`,
          token, nowTs,
        );
        return n > 0;
      });
    },

    completeRegistrationToken(token) {
      return db.write(function* () {
        yield* exec("UPDATE registration_tokens SET pending = pending - 1, completed = completed + 1 WHERE token = ? AND pending > 0", token);
      });
    },

    releaseRegistrationToken(token) {
      return db.write(function* () {
        yield* exec("UPDATE registration_tokens SET pending = pending - 1 WHERE token = ? AND pending > 0", token);
      });
    },

    roomSummaries(localServer) {
      return db.read(function* () {
        const rooms = yield* query("SELECT room_id, room_version, creator FROM rooms ORDER BY room_id");
        const counts = new Map<string, number>();
        for (const r of yield* query("SELECT room_id, COUNT(*) AS n FROM current_state_events GROUP BY room_id")) counts.set(str(r["room_id"]), num(r["n"]));
        const joined = new Map<string, { all: number; local: number }>();
        for (const r of yield* query(
          `SELECT room_id, COUNT(*) AS n, SUM(CASE WHEN user_id LIKE ? ESCAPE '\\' THEN 1 ELSE 0 END) AS l
           FROM current_memberships WHERE membership = 'join' GROUP BY room_id`,
          `%:${localServer.replace(/[\\%_]/g, (c) => `\\${c}`)}`,
        )) joined.set(str(r["room_id"]), { all: num(r["n"]), local: num(r["l"] ?? 0) });
        const state = new Map<string, Map<string, JsonObject>>();
        for (const r of yield* query(
          `SELECT c.room_id, c.type, e.json FROM current_state_events c JOIN events e ON e.event_id = c.event_id
           WHERE c.state_key = '' AND c.type IN ${placeholders(SUMMARY_STATE_TYPES.length)}`,
          ...SUMMARY_STATE_TYPES,
        )) {
          const content = (JSON.parse(str(r["json"])) as { content?: unknown }).content;
          if (typeof content !== "object" || content === null || Array.isArray(content)) continue;
          const id = str(r["room_id"]);
          if (!state.has(id)) state.set(id, new Map());
          state.get(id)!.set(str(r["type"]), content as JsonObject);
        }
        const published = new Set((yield* query("SELECT room_id FROM room_directory")).map((r) => str(r["room_id"])));
        const blocked = new Set((yield* query("SELECT room_id FROM blocked_rooms")).map((r) => str(r["room_id"])));
        return rooms.map((r): AdminRoomSummary => {
          const id = str(r["room_id"]);
          return {
            roomId: id as RoomId,
            roomVersion: str(r["room_version"]),
            creator: str(r["creator"]) as UserId,
            joinedMembers: joined.get(id)?.all ?? 0,
            joinedLocalMembers: joined.get(id)?.local ?? 0,
            stateEvents: counts.get(id) ?? 0,
            published: published.has(id),
            blocked: blocked.has(id),
            state: state.get(id) ?? new Map(),
          };
        });
      });
    },

    blockRoom(roomId, userId, ts) {
      return db.write(function* () {
        yield* exec("INSERT INTO blocked_rooms (room_id, user_id, blocked_ts) VALUES (?, ?, ?) ON CONFLICT (room_id) DO NOTHING", roomId, userId, ts);
      });
    },

    unblockRoom(roomId) {
      return db.write(function* () {
        return (yield* exec("DELETE FROM blocked_rooms WHERE room_id = ?", roomId)) > 0;
      });
    },

    getRoomBlock(roomId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT user_id, blocked_ts FROM blocked_rooms WHERE room_id = ?", roomId);
        return r ? { userId: strOrNull(r["user_id"]) as UserId | null, ts: num(r["blocked_ts"]) } : null;
      });
    },

    purgeRoom(roomId) {
      return db.write(function* () {
        const report: Record<string, number> = {};
        for (const [table, where, params] of PURGE_STEPS) {
          const n = yield* exec(`DELETE FROM ${table} WHERE ${where}`, ...Array<string>(params).fill(roomId));
          if (n > 0) report[table] = (report[table] ?? 0) + n;
        }
        return report;
      });
    },

    roomsOfServer(server) {
      return db.read(function* () {
        const rows = yield* query(
          `SELECT m.room_id, (SELECT MAX(e.stream_ordering) FROM events e WHERE e.room_id = m.room_id) AS s
           FROM current_memberships m WHERE m.membership = 'join' AND m.user_id LIKE ? ESCAPE '\\'
           GROUP BY m.room_id ORDER BY m.room_id`,
          `%:${server.replace(/[\\%_]/g, (c) => `\\${c}`)}`,
        );
        return rows.map((r) => ({ roomId: str(r["room_id"]) as RoomId, streamOrdering: num(r["s"] ?? 0) }));
      });
    },

    deleteRegistrationToken(token) {
      return db.write(function* () {
        return (yield* exec("DELETE FROM registration_tokens WHERE token = ?", token)) > 0;
      });
    },
  };
}
