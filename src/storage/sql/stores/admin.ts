/** AdminStore over SQL: the user listing of the admin API, the admin flag, reactivation, registration tokens (0009). */
import type { UserId } from "../../../core/ids/index.js";
import type { AdminStore, RegistrationToken, UserOrder } from "../../ports.js";
import { bool, exec, num, numOrNull, query, queryOne, str, strOrNull, type Row, type SqlRunner } from "../uow.js";

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

    deleteRegistrationToken(token) {
      return db.write(function* () {
        return (yield* exec("DELETE FROM registration_tokens WHERE token = ?", token)) > 0;
      });
    },
  };
}
