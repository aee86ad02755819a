/** UserStore over SQL: local users, profiles, devices and access tokens (kept as SHA-256 hashes). */
import { createHash } from "node:crypto";
import type { UserId } from "../../../core/ids/index.js";
import type { DeviceRecord, UserStore } from "../../ports.js";
import { bool, exec, num, numOrNull, query, queryOne, str, strOrNull, type SqlRunner } from "../uow.js";

/** Tokens are looked up by hash, so a leaked database does not leak live credentials. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function sqlUserStore(db: SqlRunner): UserStore {
  return {
    createUser(user) {
      return db.write(function* () {
        yield* exec(
          "INSERT INTO users (user_id, password_hash, created_ts, admin, deactivated) VALUES (?, ?, ?, ?, 0)",
          user.userId, user.passwordHash, user.createdTs, user.admin ? 1 : 0,
        );
        yield* exec(
          `INSERT INTO profiles (user_id, displayname, avatar_url) VALUES (?, ?, NULL)
           ON CONFLICT (user_id) DO UPDATE SET displayname = excluded.displayname, avatar_url = NULL`,
          user.userId, user.displayname ?? null,
        );
      });
    },

    getUser(userId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT user_id, password_hash, created_ts, admin, deactivated FROM users WHERE user_id = ?", userId);
        if (!r) return null;
        return {
          userId: str(r["user_id"]) as UserId,
          passwordHash: strOrNull(r["password_hash"]),
          createdTs: num(r["created_ts"]),
          admin: bool(r["admin"]),
          deactivated: bool(r["deactivated"]),
        };
      });
    },

    async setPasswordHash(userId, passwordHash) {
      await db.write(() => exec("UPDATE users SET password_hash = ? WHERE user_id = ?", passwordHash, userId));
    },

    deactivateUser(userId) {
      return db.write(function* () {
        yield* exec("UPDATE users SET deactivated = 1 WHERE user_id = ?", userId);
        yield* exec("DELETE FROM access_tokens WHERE user_id = ?", userId);
        yield* exec("DELETE FROM devices WHERE user_id = ?", userId);
      });
    },

    getProfile(userId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT displayname, avatar_url FROM profiles WHERE user_id = ?", userId);
        return r ? { displayname: strOrNull(r["displayname"]), avatarUrl: strOrNull(r["avatar_url"]) } : null;
      });
    },

    setProfile(userId, profile) {
      return db.write(function* () {
        yield* exec("INSERT INTO profiles (user_id, displayname, avatar_url) VALUES (?, NULL, NULL) ON CONFLICT (user_id) DO NOTHING", userId);
        if (profile.displayname !== undefined) yield* exec("UPDATE profiles SET displayname = ? WHERE user_id = ?", profile.displayname, userId);
        if (profile.avatarUrl !== undefined) yield* exec("UPDATE profiles SET avatar_url = ? WHERE user_id = ?", profile.avatarUrl, userId);
      });
    },

    createLogin(login) {
      return db.write(function* () {
        yield* exec(
          `INSERT INTO devices (user_id, device_id, display_name, created_ts, last_seen_ts) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_ts = excluded.last_seen_ts`,
          login.userId, login.deviceId, login.deviceDisplayName ?? null, login.nowTs, login.nowTs,
        );
        yield* exec(
          "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts, valid_until_ts) VALUES (?, ?, ?, ?, ?)",
          tokenHash(login.accessToken), login.userId, login.deviceId, login.nowTs, login.validUntilTs ?? null,
        );
      });
    },

    getAccessTokenOwner(accessToken) {
      return db.read(function* () {
        const r = yield* queryOne(
          `SELECT t.user_id, t.device_id, t.valid_until_ts, u.deactivated FROM access_tokens t
           JOIN users u ON u.user_id = t.user_id WHERE t.token_hash = ?`,
          tokenHash(accessToken),
        );
        if (!r) return null;
        return {
          userId: str(r["user_id"]) as UserId,
          deviceId: str(r["device_id"]),
          validUntilTs: numOrNull(r["valid_until_ts"]),
          deactivated: bool(r["deactivated"]),
        };
      });
    },

    async deleteAccessToken(accessToken) {
      const n = await db.write(() => exec("DELETE FROM access_tokens WHERE token_hash = ?", tokenHash(accessToken)));
      return n > 0;
    },

    deleteDevice(userId, deviceId) {
      return db.write(function* () {
        yield* exec("DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?", userId, deviceId);
        return (yield* exec("DELETE FROM devices WHERE user_id = ? AND device_id = ?", userId, deviceId)) > 0;
      });
    },

    getDevices(userId) {
      return db.read(function* () {
        const rows = yield* query("SELECT user_id, device_id, display_name, created_ts, last_seen_ts FROM devices WHERE user_id = ? ORDER BY device_id", userId);
        return rows.map(
          (r): DeviceRecord => ({
            userId: str(r["user_id"]) as UserId,
            deviceId: str(r["device_id"]),
            displayName: strOrNull(r["display_name"]),
            createdTs: num(r["created_ts"]),
            lastSeenTs: numOrNull(r["last_seen_ts"]),
          }),
        );
      });
    },

    async touchDevice(userId, deviceId, lastSeenTs) {
      await db.write(() => exec("UPDATE devices SET last_seen_ts = ? WHERE user_id = ? AND device_id = ?", lastSeenTs, userId, deviceId));
    },
  };
}
