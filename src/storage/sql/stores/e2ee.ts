/**
 * The per-user stores of end-to-end encryption (keys, signatures, device lists), to-device messages, account data,
 * filters and server-side key backup, over SQL. Every method is one transaction (STYLE C8).
 */
import type { UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import {
  KeyConflictError,
  WrongBackupVersionError,
  type AccountDataStore,
  type BackupSession,
  type ClaimedKey,
  type CrossSigningKeyRecord,
  type CrossSigningKeyType,
  type E2eeStore,
  type FilterStore,
  type KeyBackupStore,
  type KeySignature,
  type ToDeviceMessage,
  type ToDeviceStore,
  type UserStreamPosition,
} from "../../ports.js";
import { bool, chunks, exec, num, placeholders, query, queryOne, str, type Row, type SqlRunner, type UnitOfWork } from "../uow.js";

/** The counters of user_stream_positions (0004; receipts, presence and push_rules from 0006). */
export type Stream = "device_lists" | "to_device" | "account_data" | "receipts" | "presence" | "push_rules" | "sliding_sync";

/** Hands out the stream's next position; the counter row stays locked until this transaction commits. */
export function* nextPosition(stream: Stream): UnitOfWork<UserStreamPosition> {
  const r = yield* queryOne("UPDATE user_stream_positions SET position = position + 1 WHERE stream = ? RETURNING position", stream);
  if (!r) throw new Error(`stream ${stream} has no counter row (migration 0004 not applied?)`);
  return num(r["position"]);
}

export function* currentPosition(stream: Stream): UnitOfWork<UserStreamPosition> {
  const r = yield* queryOne("SELECT position FROM user_stream_positions WHERE stream = ?", stream);
  return r ? num(r["position"]) : 0;
}

/** A device-list change for the user, in the caller's transaction. */
export function* deviceListChangeWork(userId: UserId): UnitOfWork<UserStreamPosition> {
  const pos = yield* nextPosition("device_lists");
  yield* exec("INSERT INTO device_list_changes (stream_id, user_id) VALUES (?, ?)", pos, userId);
  return pos;
}

/**
 * Deletes the keys, pending to-device messages and transaction ids (of /sendToDevice and of the room sends) of
 * deleted devices (UserStore's device deletion), so a device later created under the same id starts with none: its
 * first txn id is a new request, not a repeat of the deleted device's (as Synapse, whose rows cascade with the device).
 */
export function* deleteDeviceKeysWork(userId: UserId, deviceIds: readonly string[] | undefined): UnitOfWork<void> {
  const tables = ["e2e_device_keys", "e2e_one_time_keys", "e2e_fallback_keys", "to_device_inbox", "to_device_txns", "client_transactions"];
  if (deviceIds === undefined) {
    for (const t of tables) yield* exec(`DELETE FROM ${t} WHERE user_id = ?`, userId);
    yield* exec("DELETE FROM e2e_signatures WHERE target_user_id = ? AND target_key_id NOT IN (SELECT public_key FROM e2e_cross_signing_keys WHERE user_id = ?)", userId, userId);
  } else {
    for (const part of chunks([...new Set(deviceIds)])) {
      const ids = placeholders(part.length);
      for (const t of tables) yield* exec(`DELETE FROM ${t} WHERE user_id = ? AND device_id IN ${ids}`, userId, ...part);
      yield* exec(`DELETE FROM e2e_signatures WHERE target_user_id = ? AND target_key_id IN ${ids}`, userId, ...part);
    }
  }
  yield* deviceListChangeWork(userId);
}

const json = (v: unknown): string => JSON.stringify(v);
const parsed = (v: unknown): JsonObject => JSON.parse(str(v)) as JsonObject;

function* countsWork(userId: UserId, deviceId: string): UnitOfWork<Record<string, number>> {
  const rows = yield* query("SELECT algorithm, COUNT(*) AS n FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ? GROUP BY algorithm ORDER BY algorithm", userId, deviceId);
  const out: Record<string, number> = {};
  for (const r of rows) out[str(r["algorithm"])] = num(r["n"]);
  return out;
}

/** Signatures of /keys/signatures/upload for the target keys, as {target key id: {signer: {key id: sig}}}. */
function* signaturesWork(userId: UserId, targetKeyIds: readonly string[]): UnitOfWork<Map<string, Record<string, Record<string, string>>>> {
  const out = new Map<string, Record<string, Record<string, string>>>();
  for (const part of chunks([...new Set(targetKeyIds)])) {
    if (part.length === 0) continue;
    const rows = yield* query(
      `SELECT target_key_id, signer_user_id, signer_key_id, signature FROM e2e_signatures WHERE target_user_id = ? AND target_key_id IN ${placeholders(part.length)}`,
      userId, ...part,
    );
    for (const r of rows) {
      const t = str(r["target_key_id"]);
      const bySigner = out.get(t) ?? {};
      const signer = str(r["signer_user_id"]);
      bySigner[signer] = { ...bySigner[signer], [str(r["signer_key_id"])]: str(r["signature"]) };
      out.set(t, bySigner);
    }
  }
  return out;
}

function withSignatures(key: JsonObject, extra: Record<string, Record<string, string>> | undefined): JsonObject {
  if (!extra) return key;
  const sigs = { ...((key["signatures"] ?? {}) as Record<string, Record<string, string>>) };
  for (const [signer, byKey] of Object.entries(extra)) sigs[signer] = { ...sigs[signer], ...byKey };
  return { ...key, signatures: sigs };
}

export function sqlE2eeStore(db: SqlRunner): E2eeStore {
  return {
    uploadKeys(upload) {
      return db.write(function* () {
        const { userId, deviceId } = upload;
        if (upload.deviceKeys !== undefined) {
          const text = json(upload.deviceKeys);
          const old = yield* queryOne("SELECT key_json FROM e2e_device_keys WHERE user_id = ? AND device_id = ?", userId, deviceId);
          if (!old || str(old["key_json"]) !== text) {
            yield* exec(
              `INSERT INTO e2e_device_keys (user_id, device_id, key_json) VALUES (?, ?, ?)
               ON CONFLICT (user_id, device_id) DO UPDATE SET key_json = excluded.key_json`,
              userId, deviceId, text,
            );
            yield* deviceListChangeWork(userId);
          }
        }
        for (const k of upload.oneTimeKeys ?? []) {
          const text = json(k.key);
          const old = yield* queryOne("SELECT key_json FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ? AND key_id = ?", userId, deviceId, k.algorithm, k.keyId);
          if (old) {
            if (str(old["key_json"]) !== text) throw new KeyConflictError(k.keyId, `one-time key ${k.keyId} was uploaded before with other content`);
            continue;
          }
          yield* exec("INSERT INTO e2e_one_time_keys (user_id, device_id, algorithm, key_id, key_json) VALUES (?, ?, ?, ?, ?)", userId, deviceId, k.algorithm, k.keyId, text);
        }
        for (const k of upload.fallbackKeys ?? []) {
          const text = json(k.key);
          const old = yield* queryOne("SELECT key_id, key_json FROM e2e_fallback_keys WHERE user_id = ? AND device_id = ? AND algorithm = ?", userId, deviceId, k.algorithm);
          if (old && str(old["key_id"]) === k.keyId && str(old["key_json"]) === text) continue; // the same key again stays as it is
          yield* exec(
            `INSERT INTO e2e_fallback_keys (user_id, device_id, algorithm, key_id, key_json, used) VALUES (?, ?, ?, ?, ?, 0)
             ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET key_id = excluded.key_id, key_json = excluded.key_json, used = 0`,
            userId, deviceId, k.algorithm, k.keyId, text,
          );
        }
        return yield* countsWork(userId, deviceId);
      });
    },

    oneTimeKeyCounts(userId, deviceId) {
      return db.read(() => countsWork(userId, deviceId));
    },

    unusedFallbackKeyTypes(userId, deviceId) {
      return db.read(function* () {
        const rows = yield* query("SELECT algorithm FROM e2e_fallback_keys WHERE user_id = ? AND device_id = ? AND used = 0 ORDER BY algorithm", userId, deviceId);
        return rows.map((r) => str(r["algorithm"]));
      });
    },

    getDeviceKeys(q) {
      return db.read(function* () {
        const out = new Map<UserId, Map<string, JsonObject>>();
        for (const { userId, deviceIds } of q) {
          const rows: Row[] = [];
          if (deviceIds.length === 0) rows.push(...(yield* query("SELECT device_id, key_json FROM e2e_device_keys WHERE user_id = ? ORDER BY device_id", userId)));
          else for (const part of chunks([...new Set(deviceIds)])) rows.push(...(yield* query(`SELECT device_id, key_json FROM e2e_device_keys WHERE user_id = ? AND device_id IN ${placeholders(part.length)} ORDER BY device_id`, userId, ...part)));
          if (rows.length === 0) continue;
          const sigs = yield* signaturesWork(userId, rows.map((r) => str(r["device_id"])));
          const devices = out.get(userId) ?? new Map<string, JsonObject>();
          for (const r of rows) devices.set(str(r["device_id"]), withSignatures(parsed(r["key_json"]), sigs.get(str(r["device_id"]))));
          out.set(userId, devices);
        }
        return out;
      });
    },

    claimKeys(claims) {
      return db.write(function* () {
        const out: ClaimedKey[] = [];
        for (const c of claims) {
          let claimed: ClaimedKey | undefined;
          // Pick the oldest-named key and delete it; a concurrent claimer that deleted it first leaves 0 rows
          // changed (PostgreSQL waits for its commit, then re-reads), so look again: each key goes out once.
          for (let attempt = 0; attempt < 100 && claimed === undefined; attempt++) {
            const r = yield* queryOne(
              "SELECT key_id, key_json FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ? ORDER BY key_id LIMIT 1",
              c.userId, c.deviceId, c.algorithm,
            );
            if (!r) break;
            const gone = yield* exec("DELETE FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ? AND key_id = ?", c.userId, c.deviceId, c.algorithm, str(r["key_id"]));
            if (gone === 1) claimed = { ...c, keyId: str(r["key_id"]), key: JSON.parse(str(r["key_json"])) as JsonObject, fallback: false };
          }
          if (claimed === undefined) {
            const f = yield* queryOne("SELECT key_id, key_json FROM e2e_fallback_keys WHERE user_id = ? AND device_id = ? AND algorithm = ?", c.userId, c.deviceId, c.algorithm);
            if (f) {
              yield* exec("UPDATE e2e_fallback_keys SET used = 1 WHERE user_id = ? AND device_id = ? AND algorithm = ?", c.userId, c.deviceId, c.algorithm);
              claimed = { ...c, keyId: str(f["key_id"]), key: JSON.parse(str(f["key_json"])) as JsonObject, fallback: true };
            }
          }
          if (claimed) out.push(claimed);
        }
        return out;
      });
    },

    getCrossSigningKeys(userIds) {
      return db.read(function* () {
        const out = new Map<UserId, Map<CrossSigningKeyType, CrossSigningKeyRecord>>();
        for (const userId of new Set(userIds)) {
          const rows = yield* query("SELECT key_type, public_key, key_json FROM e2e_cross_signing_keys WHERE user_id = ?", userId);
          if (rows.length === 0) continue;
          const sigs = yield* signaturesWork(userId, rows.map((r) => str(r["public_key"])));
          const keys = new Map<CrossSigningKeyType, CrossSigningKeyRecord>();
          for (const r of rows) {
            const type = str(r["key_type"]) as CrossSigningKeyType;
            keys.set(type, { type, publicKey: str(r["public_key"]), key: withSignatures(parsed(r["key_json"]), sigs.get(str(r["public_key"]))) });
          }
          out.set(userId, keys);
        }
        return out;
      });
    },

    setCrossSigningKeys(userId, keys) {
      return db.write(function* () {
        for (const k of keys) {
          yield* exec(
            `INSERT INTO e2e_cross_signing_keys (user_id, key_type, public_key, key_json) VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id, key_type) DO UPDATE SET public_key = excluded.public_key, key_json = excluded.key_json`,
            userId, k.type, k.publicKey, json(k.key),
          );
        }
        yield* deviceListChangeWork(userId);
      });
    },

    addSignatures(signatures: readonly KeySignature[]) {
      return db.write(function* () {
        const targets = new Set<UserId>();
        for (const s of signatures) {
          yield* exec(
            `INSERT INTO e2e_signatures (target_user_id, target_key_id, signer_user_id, signer_key_id, signature) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (target_user_id, target_key_id, signer_user_id, signer_key_id) DO UPDATE SET signature = excluded.signature`,
            s.targetUserId, s.targetKeyId, s.signerUserId, s.signerKeyId, s.signature,
          );
          targets.add(s.targetUserId);
        }
        for (const u of [...targets].sort()) yield* deviceListChangeWork(u);
      });
    },

    markDeviceListChanged(userId) {
      return db.write(() => deviceListChangeWork(userId));
    },

    deviceListChangesSince(from, to) {
      return db.read(function* () {
        const rows = yield* query(
          "SELECT user_id, MAX(stream_id) AS pos FROM device_list_changes WHERE stream_id > ? AND stream_id <= ? GROUP BY user_id ORDER BY pos",
          from, to,
        );
        return rows.map((r) => ({ userId: str(r["user_id"]) as UserId, position: num(r["pos"]) }));
      });
    },

    maxDeviceListPosition() {
      return db.read(() => currentPosition("device_lists"));
    },
  };
}

/** Puts each message into its recipients' inboxes ("*": the user's devices now; unknown devices get nothing). */
export function* queueToDeviceWork(messages: readonly ToDeviceMessage[]): UnitOfWork<void> {
  for (const m of messages) {
    const devices = m.deviceId === "*"
      ? (yield* query("SELECT device_id FROM devices WHERE user_id = ? ORDER BY device_id", m.userId)).map((r) => str(r["device_id"]))
      : (yield* query("SELECT device_id FROM devices WHERE user_id = ? AND device_id = ?", m.userId, m.deviceId)).map((r) => str(r["device_id"]));
    const text = json(m.message);
    for (const d of devices) {
      const pos = yield* nextPosition("to_device");
      yield* exec("INSERT INTO to_device_inbox (stream_id, user_id, device_id, message_json) VALUES (?, ?, ?, ?)", pos, m.userId, d, text);
    }
  }
}

export function sqlToDeviceStore(db: SqlRunner): ToDeviceStore {
  return {
    send(sender, txnId, messages, nowTs) {
      return db.write(function* () {
        const seen = yield* queryOne("SELECT 1 AS one FROM to_device_txns WHERE user_id = ? AND device_id = ? AND txn_id = ?", sender.userId, sender.deviceId, txnId);
        if (seen) return false;
        yield* exec("INSERT INTO to_device_txns (user_id, device_id, txn_id, created_ts) VALUES (?, ?, ?, ?)", sender.userId, sender.deviceId, txnId, nowTs);
        yield* queueToDeviceWork(messages);
        return true;
      });
    },

    inbox(userId, deviceId, since, limit) {
      return db.read(function* () {
        const rows = yield* query(
          "SELECT stream_id, message_json FROM to_device_inbox WHERE user_id = ? AND device_id = ? AND stream_id > ? ORDER BY stream_id LIMIT ?",
          userId, deviceId, since, limit,
        );
        return { messages: rows.map((r) => parsed(r["message_json"])), position: rows.length === 0 ? since : num(rows[rows.length - 1]!["stream_id"]) };
      });
    },

    acknowledge(userId, deviceId, upTo) {
      return db.write(() => exec("DELETE FROM to_device_inbox WHERE user_id = ? AND device_id = ? AND stream_id <= ?", userId, deviceId, upTo));
    },

    maxPosition() {
      return db.read(() => currentPosition("to_device"));
    },
  };
}

const UPSERT_ACCOUNT_DATA = `INSERT INTO account_data (user_id, room_id, data_type, content_json, stream_id) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (user_id, room_id, data_type) DO UPDATE SET content_json = excluded.content_json, stream_id = excluded.stream_id`;

export function sqlAccountDataStore(db: SqlRunner): AccountDataStore {
  return {
    put(userId, roomId, type, content) {
      return db.write(function* () {
        const pos = yield* nextPosition("account_data");
        yield* exec(
          UPSERT_ACCOUNT_DATA,
          userId, roomId ?? "", type, json(content), pos,
        );
        return pos;
      });
    },

    update(userId, roomId, type, change) {
      return db.write(function* () {
        const pos = yield* nextPosition("account_data"); // first: the counter row lock orders concurrent updates
        const r = yield* queryOne("SELECT content_json FROM account_data WHERE user_id = ? AND room_id = ? AND data_type = ?", userId, roomId ?? "", type);
        const content = change(r ? parsed(r["content_json"]) : null);
        yield* exec(
          UPSERT_ACCOUNT_DATA,
          userId, roomId ?? "", type, json(content), pos,
        );
        return pos;
      });
    },

    get(userId, roomId, type) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT content_json FROM account_data WHERE user_id = ? AND room_id = ? AND data_type = ?", userId, roomId ?? "", type);
        return r ? parsed(r["content_json"]) : null;
      });
    },

    changesSince(userId, since) {
      return db.read(function* () {
        const rows = yield* query("SELECT room_id, data_type, content_json, stream_id FROM account_data WHERE user_id = ? AND stream_id > ? ORDER BY stream_id", userId, since);
        return rows.map((r) => ({
          roomId: str(r["room_id"]) === "" ? null : str(r["room_id"]),
          type: str(r["data_type"]),
          content: parsed(r["content_json"]),
          position: num(r["stream_id"]),
        }));
      });
    },

    maxPosition() {
      return db.read(() => currentPosition("account_data"));
    },
  };
}

export function sqlFilterStore(db: SqlRunner): FilterStore {
  return {
    create(userId, filter) {
      return db.write(function* () {
        const r = yield* queryOne("SELECT MAX(filter_id) AS m FROM user_filters WHERE user_id = ?", userId);
        const id = r && r["m"] !== null ? num(r["m"]) + 1 : 0;
        yield* exec("INSERT INTO user_filters (user_id, filter_id, filter_json) VALUES (?, ?, ?)", userId, id, json(filter));
        return String(id);
      });
    },

    get(userId, filterId) {
      if (!/^(0|[1-9][0-9]{0,15})$/.test(filterId)) return Promise.resolve(null);
      return db.read(function* () {
        const r = yield* queryOne("SELECT filter_json FROM user_filters WHERE user_id = ? AND filter_id = ?", userId, Number(filterId));
        return r ? parsed(r["filter_json"]) : null;
      });
    },
  };
}

const VERSION = /^[1-9][0-9]{0,15}$/;

function sessionOf(r: Row): BackupSession {
  return {
    roomId: str(r["room_id"]),
    sessionId: str(r["session_id"]),
    firstMessageIndex: num(r["first_message_index"]),
    forwardedCount: num(r["forwarded_count"]),
    isVerified: bool(r["is_verified"]),
    sessionData: parsed(r["session_data_json"]),
  };
}

/** The spec's rule for a session already backed up: true when `incoming` should replace `stored`. */
export function backupReplaces(stored: BackupSession, incoming: BackupSession): boolean {
  if (stored.isVerified !== incoming.isVerified) return incoming.isVerified;
  if (stored.firstMessageIndex !== incoming.firstMessageIndex) return incoming.firstMessageIndex < stored.firstMessageIndex;
  return incoming.forwardedCount < stored.forwardedCount;
}

function* currentVersionWork(userId: UserId): UnitOfWork<Row | undefined> {
  return yield* queryOne("SELECT version, algorithm, auth_data_json, etag FROM room_key_backup_versions WHERE user_id = ? AND deleted = 0 ORDER BY version DESC LIMIT 1", userId);
}

function* countWork(userId: UserId, version: number): UnitOfWork<number> {
  const r = yield* queryOne("SELECT COUNT(*) AS n FROM room_key_backup_keys WHERE user_id = ? AND version = ?", userId, version);
  return r ? num(r["n"]) : 0;
}

function* bumpEtagWork(userId: UserId, version: number): UnitOfWork<{ etag: string; count: number }> {
  const r = yield* queryOne("UPDATE room_key_backup_versions SET etag = etag + 1 WHERE user_id = ? AND version = ? RETURNING etag", userId, version);
  return { etag: String(num(r!["etag"])), count: yield* countWork(userId, version) };
}

function keyFilter(roomId: string | undefined, sessionId: string | undefined): { sql: string; params: string[] } {
  if (roomId === undefined) return { sql: "", params: [] };
  if (sessionId === undefined) return { sql: " AND room_id = ?", params: [roomId] };
  return { sql: " AND room_id = ? AND session_id = ?", params: [roomId, sessionId] };
}

export function sqlKeyBackupStore(db: SqlRunner): KeyBackupStore {
  return {
    createVersion(userId, algorithm, authData) {
      return db.write(function* () {
        const r = yield* queryOne("SELECT MAX(version) AS m FROM room_key_backup_versions WHERE user_id = ?", userId);
        const v = r && r["m"] !== null ? num(r["m"]) + 1 : 1;
        yield* exec("INSERT INTO room_key_backup_versions (user_id, version, algorithm, auth_data_json, etag, deleted) VALUES (?, ?, ?, ?, 0, 0)", userId, v, algorithm, json(authData));
        return String(v);
      });
    },

    getVersion(userId, version) {
      if (version !== undefined && !VERSION.test(version)) return Promise.resolve(null);
      return db.read(function* () {
        const r = version === undefined
          ? yield* currentVersionWork(userId)
          : yield* queryOne("SELECT version, algorithm, auth_data_json, etag FROM room_key_backup_versions WHERE user_id = ? AND version = ? AND deleted = 0", userId, Number(version));
        if (!r) return null;
        const v = num(r["version"]);
        return { version: String(v), algorithm: str(r["algorithm"]), authData: parsed(r["auth_data_json"]), etag: String(num(r["etag"])), count: yield* countWork(userId, v) };
      });
    },

    updateVersion(userId, version, authData) {
      if (!VERSION.test(version)) return Promise.resolve(false);
      return db.write(function* () {
        return (yield* exec("UPDATE room_key_backup_versions SET auth_data_json = ? WHERE user_id = ? AND version = ? AND deleted = 0", json(authData), userId, Number(version))) === 1;
      });
    },

    deleteVersion(userId, version) {
      if (!VERSION.test(version)) return Promise.resolve(false);
      return db.write(function* () {
        const n = yield* exec("UPDATE room_key_backup_versions SET deleted = 1 WHERE user_id = ? AND version = ? AND deleted = 0", userId, Number(version));
        if (n === 1) yield* exec("DELETE FROM room_key_backup_keys WHERE user_id = ? AND version = ?", userId, Number(version));
        return n === 1;
      });
    },

    putKeys(userId, version, sessions) {
      return db.write(function* () {
        const current = yield* currentVersionWork(userId);
        const currentVersion = current ? String(num(current["version"])) : null;
        if (currentVersion === null || currentVersion !== version) throw new WrongBackupVersionError(currentVersion);
        const v = Number(version);
        let changed = false;
        for (const s of sessions) {
          const old = yield* queryOne(
            "SELECT room_id, session_id, first_message_index, forwarded_count, is_verified, session_data_json FROM room_key_backup_keys WHERE user_id = ? AND version = ? AND room_id = ? AND session_id = ?",
            userId, v, s.roomId, s.sessionId,
          );
          if (old && !backupReplaces(sessionOf(old), s)) continue;
          yield* exec(
            `INSERT INTO room_key_backup_keys (user_id, version, room_id, session_id, first_message_index, forwarded_count, is_verified, session_data_json)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (user_id, version, room_id, session_id) DO UPDATE SET first_message_index = excluded.first_message_index,
               forwarded_count = excluded.forwarded_count, is_verified = excluded.is_verified, session_data_json = excluded.session_data_json`,
            userId, v, s.roomId, s.sessionId, s.firstMessageIndex, s.forwardedCount, s.isVerified ? 1 : 0, json(s.sessionData),
          );
          changed = true;
        }
        if (changed) return yield* bumpEtagWork(userId, v);
        return { etag: String(num(current!["etag"])), count: yield* countWork(userId, v) };
      });
    },

    getKeys(userId, version, roomId, sessionId) {
      if (!VERSION.test(version)) return Promise.resolve([]);
      return db.read(function* () {
        const f = keyFilter(roomId, sessionId);
        const rows = yield* query(
          `SELECT k.room_id, k.session_id, k.first_message_index, k.forwarded_count, k.is_verified, k.session_data_json FROM room_key_backup_keys k
           JOIN room_key_backup_versions v ON v.user_id = k.user_id AND v.version = k.version AND v.deleted = 0
           WHERE k.user_id = ? AND k.version = ?${f.sql.replaceAll("room_id", "k.room_id").replaceAll("session_id", "k.session_id")} ORDER BY k.room_id, k.session_id`,
          userId, Number(version), ...f.params,
        );
        return rows.map(sessionOf);
      });
    },

    deleteKeys(userId, version, roomId, sessionId) {
      if (!VERSION.test(version)) return Promise.resolve(null);
      return db.write(function* () {
        const v = Number(version);
        const exists = yield* queryOne("SELECT etag FROM room_key_backup_versions WHERE user_id = ? AND version = ? AND deleted = 0", userId, v);
        if (!exists) return null;
        const f = keyFilter(roomId, sessionId);
        const n = yield* exec(`DELETE FROM room_key_backup_keys WHERE user_id = ? AND version = ?${f.sql}`, userId, v, ...f.params);
        if (n > 0) return yield* bumpEtagWork(userId, v);
        return { etag: String(num(exists["etag"])), count: yield* countWork(userId, v) };
      });
    },
  };
}
