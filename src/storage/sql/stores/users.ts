/** UserStore over SQL: local users, profiles, devices, access and refresh tokens (kept as SHA-256 hashes). */
import { createHash } from "node:crypto";
import type { UserId } from "../../../core/ids/index.js";
import type { DeviceRecord, NewLogin, UserStore } from "../../ports.js";
import { deleteDeviceKeysWork, deviceListChangeWork } from "./e2ee.js";
import { deleteSlidingSyncWork } from "./sliding-sync.js";
import { bool, chunks, exec, num, numOrNull, placeholders, query, queryOne, str, strOrNull, type Row, type SqlRunner, type UnitOfWork } from "../uow.js";

/** Tokens are looked up by hash, so a leaked database does not leak live credentials. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

const DEVICE_COLUMNS = "user_id, device_id, display_name, created_ts, last_seen_ts, last_seen_ip";

function deviceOf(r: Row): DeviceRecord {
  return {
    userId: str(r["user_id"]) as UserId,
    deviceId: str(r["device_id"]),
    displayName: strOrNull(r["display_name"]),
    createdTs: num(r["created_ts"]),
    lastSeenTs: numOrNull(r["last_seen_ts"]),
    lastSeenIp: strOrNull(r["last_seen_ip"]),
  };
}

/**
 * Deletes the devices (all of the user's when `deviceIds` is undefined) with their access and refresh tokens,
 * pushers and sliding-sync connections.
 */
function* deleteDevicesWork(userId: UserId, deviceIds: readonly string[] | undefined): UnitOfWork<number> {
  if (deviceIds === undefined) {
    yield* exec("DELETE FROM access_tokens WHERE user_id = ?", userId);
    yield* exec("DELETE FROM refresh_tokens WHERE user_id = ?", userId);
    yield* exec("DELETE FROM pushers WHERE user_id = ?", userId);
    yield* deleteSlidingSyncWork(userId, undefined);
    const all = yield* exec("DELETE FROM devices WHERE user_id = ?", userId);
    if (all > 0) yield* deleteDeviceKeysWork(userId, undefined);
    return all;
  }
  let n = 0;
  for (const part of chunks([...new Set(deviceIds)])) {
    const ids = placeholders(part.length);
    yield* exec(`DELETE FROM access_tokens WHERE user_id = ? AND device_id IN ${ids}`, userId, ...part);
    yield* exec(`DELETE FROM refresh_tokens WHERE user_id = ? AND device_id IN ${ids}`, userId, ...part);
    // A device's pushers go with it (Synapse deletes pushers bound to the access token that is logged out).
    yield* exec(`DELETE FROM pushers WHERE user_id = ? AND device_id IN ${ids}`, userId, ...part);
    yield* deleteSlidingSyncWork(userId, part);
    n += yield* exec(`DELETE FROM devices WHERE user_id = ? AND device_id IN ${ids}`, userId, ...part);
  }
  // Their keys and queued to-device messages go with them, and the user's device list changed (spec: deleting a
  // device deletes its keys).
  if (n > 0) yield* deleteDeviceKeysWork(userId, deviceIds);
  return n;
}

/**
 * Creates or reuses the device and issues its tokens; true when the device is new. A new device is a change of the
 * user's device list (as Synapse counts it, before it uploads any keys), recorded in the same transaction.
 */
function* createLoginWork(login: NewLogin): UnitOfWork<boolean> {
  const existed = (yield* queryOne("SELECT 1 AS one FROM devices WHERE user_id = ? AND device_id = ?", login.userId, login.deviceId)) !== undefined;
  yield* exec(
    `INSERT INTO devices (user_id, device_id, display_name, created_ts, last_seen_ts, last_seen_ip) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_ts = excluded.last_seen_ts, last_seen_ip = excluded.last_seen_ip`,
    login.userId, login.deviceId, login.deviceDisplayName ?? null, login.nowTs, login.nowTs, login.ip ?? null,
  );
  // A login naming an existing device replaces that device's tokens (spec: POST /login, device_id).
  yield* exec("DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?", login.userId, login.deviceId);
  yield* exec("DELETE FROM refresh_tokens WHERE user_id = ? AND device_id = ?", login.userId, login.deviceId);
  const refresh = login.refreshToken === undefined ? null : tokenHash(login.refreshToken);
  yield* exec(
    "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts, valid_until_ts, refresh_token_hash, replaces_refresh) VALUES (?, ?, ?, ?, ?, ?, 0)",
    tokenHash(login.accessToken), login.userId, login.deviceId, login.nowTs, login.validUntilTs ?? null, refresh,
  );
  if (refresh !== null) {
    yield* exec("INSERT INTO refresh_tokens (token_hash, user_id, device_id, created_ts, next_token_hash) VALUES (?, ?, ?, ?, NULL)", refresh, login.userId, login.deviceId, login.nowTs);
  }
  if (!existed) yield* deviceListChangeWork(login.userId);
  return !existed;
}

export function sqlUserStore(db: SqlRunner): UserStore {
  return {
    createUser(user, login) {
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
        if (login) yield* createLoginWork({ ...login, userId: user.userId });
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

    setPasswordHash(userId, passwordHash, logout) {
      return db.write(function* () {
        yield* exec("UPDATE users SET password_hash = ? WHERE user_id = ?", passwordHash, userId);
        if (!logout) return;
        if (logout.keepDeviceId === null) {
          yield* deleteDevicesWork(userId, undefined);
          return;
        }
        const others = (yield* query("SELECT device_id FROM devices WHERE user_id = ? AND device_id <> ?", userId, logout.keepDeviceId)).map((r) => str(r["device_id"]));
        yield* exec("DELETE FROM access_tokens WHERE user_id = ? AND device_id <> ?", userId, logout.keepDeviceId);
        if (others.length > 0) yield* deleteDevicesWork(userId, others);
      });
    },

    deactivateUser(userId) {
      return db.write(function* () {
        yield* exec("UPDATE users SET deactivated = 1 WHERE user_id = ?", userId);
        yield* deleteDevicesWork(userId, undefined);
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
      return db.write(() => createLoginWork(login));
    },

    getAccessTokenOwner(accessToken) {
      return db.read(function* () {
        const r = yield* queryOne(
          `SELECT t.user_id, t.device_id, t.valid_until_ts, t.replaces_refresh, u.deactivated FROM access_tokens t
           JOIN users u ON u.user_id = t.user_id WHERE t.token_hash = ?`,
          tokenHash(accessToken),
        );
        if (!r) return null;
        return {
          userId: str(r["user_id"]) as UserId,
          deviceId: str(r["device_id"]),
          validUntilTs: numOrNull(r["valid_until_ts"]),
          deactivated: bool(r["deactivated"]),
          replacesRefreshToken: bool(r["replaces_refresh"]),
        };
      });
    },

    async retireReplacedRefreshToken(accessToken) {
      await db.write(function* () {
        const r = yield* queryOne("SELECT refresh_token_hash FROM access_tokens WHERE token_hash = ? AND replaces_refresh = 1", tokenHash(accessToken));
        if (!r) return;
        yield* exec("UPDATE access_tokens SET replaces_refresh = 0 WHERE token_hash = ?", tokenHash(accessToken));
        const refresh = strOrNull(r["refresh_token_hash"]);
        if (refresh !== null) yield* exec("DELETE FROM refresh_tokens WHERE next_token_hash = ?", refresh);
      });
    },

    refreshLogin(request) {
      return db.write(function* () {
        const oldHash = tokenHash(request.refreshToken);
        const r = yield* queryOne("SELECT user_id, device_id FROM refresh_tokens WHERE token_hash = ?", oldHash);
        if (!r) return null;
        const userId = str(r["user_id"]) as UserId;
        const deviceId = str(r["device_id"]);
        const newHash = tokenHash(request.newRefreshToken);
        // Using this token retires the one it replaced, if any (the spec's "old refresh token is revoked").
        yield* exec("DELETE FROM refresh_tokens WHERE next_token_hash = ?", oldHash);
        yield* exec("DELETE FROM access_tokens WHERE refresh_token_hash = ?", oldHash);
        yield* exec("INSERT INTO refresh_tokens (token_hash, user_id, device_id, created_ts, next_token_hash) VALUES (?, ?, ?, ?, NULL)", newHash, userId, deviceId, request.nowTs);
        yield* exec("UPDATE refresh_tokens SET next_token_hash = ? WHERE token_hash = ?", newHash, oldHash);
        yield* exec(
          "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts, valid_until_ts, refresh_token_hash, replaces_refresh) VALUES (?, ?, ?, ?, ?, ?, 1)",
          tokenHash(request.newAccessToken), userId, deviceId, request.nowTs, request.validUntilTs, newHash,
        );
        return { userId, deviceId };
      });
    },

    async deleteAccessToken(accessToken) {
      return db.write(function* () {
        const r = yield* queryOne("SELECT refresh_token_hash FROM access_tokens WHERE token_hash = ?", tokenHash(accessToken));
        if (!r) return false;
        const refresh = strOrNull(r["refresh_token_hash"]);
        if (refresh !== null) yield* exec("DELETE FROM refresh_tokens WHERE token_hash = ? OR next_token_hash = ?", refresh, refresh);
        return (yield* exec("DELETE FROM access_tokens WHERE token_hash = ?", tokenHash(accessToken))) > 0;
      });
    },

    deleteDevice(userId, deviceId) {
      return db.write(function* () {
        return (yield* deleteDevicesWork(userId, [deviceId])) > 0;
      });
    },

    deleteDevices(userId, deviceIds) {
      if (deviceIds.length === 0) return Promise.resolve(0);
      return db.write(() => deleteDevicesWork(userId, deviceIds));
    },

    deleteAllDevices(userId) {
      return db.write(() => deleteDevicesWork(userId, undefined));
    },

    getDevice(userId, deviceId) {
      return db.read(function* () {
        const r = yield* queryOne(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE user_id = ? AND device_id = ?`, userId, deviceId);
        return r ? deviceOf(r) : null;
      });
    },

    getDevices(userId) {
      return db.read(function* () {
        const rows = yield* query(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE user_id = ? ORDER BY device_id`, userId);
        return rows.map(deviceOf);
      });
    },

    async setDeviceDisplayName(userId, deviceId, displayName) {
      const n = await db.write(() => exec("UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?", displayName, userId, deviceId));
      return n > 0;
    },

    async touchDevice(userId, deviceId, lastSeenTs) {
      await db.write(() => exec("UPDATE devices SET last_seen_ts = ? WHERE user_id = ? AND device_id = ?", lastSeenTs, userId, deviceId));
    },
  };
}
