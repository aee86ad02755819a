/**
 * DeviceFederationStore over SQL (migration 0016): our users' m.device_list_update sequences, the cached device
 * lists of remote users, and delivered m.direct_to_device message ids. Every method is one transaction (STYLE C8).
 */
import type { ServerName, UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { DeviceFederationStore, RemoteDevice, RemoteDeviceList } from "../../ports.js";
import { chunks, exec, num, placeholders, query, queryOne, str, strOrNull, type SqlRunner, type UnitOfWork } from "../uow.js";
import { deviceListChangeWork, queueToDeviceWork } from "./e2ee.js";

const json = (v: unknown): string => JSON.stringify(v);
const parsedOrNull = (v: unknown): JsonObject | null => {
  const s = strOrNull(v);
  return s === null ? null : (JSON.parse(s) as JsonObject);
};

function* upsertDeviceWork(userId: UserId, d: RemoteDevice): UnitOfWork<void> {
  yield* exec(
    `INSERT INTO remote_devices (user_id, device_id, display_name, keys_json) VALUES (?, ?, ?, ?)
     ON CONFLICT (user_id, device_id) DO UPDATE SET display_name = excluded.display_name, keys_json = excluded.keys_json`,
    userId, d.deviceId, d.displayName, d.keys === null ? null : json(d.keys),
  );
}

export function sqlDeviceFederationStore(db: SqlRunner): DeviceFederationStore {
  return {
    nextOutboundStreamIds(userId, count) {
      return db.write(function* () {
        // One statement, so concurrent writers for one user never get the same ids.
        const r = yield* queryOne(
          `INSERT INTO device_list_outbound_streams (user_id, stream_id) VALUES (?, ?)
           ON CONFLICT (user_id) DO UPDATE SET stream_id = device_list_outbound_streams.stream_id + excluded.stream_id RETURNING stream_id`,
          userId, count,
        );
        const last = num(r!["stream_id"]);
        const prev = last - count;
        return { prev, ids: Array.from({ length: count }, (_, i) => prev + 1 + i) };
      });
    },

    outboundStreamId(userId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT stream_id FROM device_list_outbound_streams WHERE user_id = ?", userId);
        return r ? num(r["stream_id"]) : 0;
      });
    },

    getRemoteDeviceLists(userIds) {
      return db.read(function* () {
        const out = new Map<UserId, RemoteDeviceList>();
        for (const part of chunks([...new Set(userIds)])) {
          if (part.length === 0) continue;
          const ids = placeholders(part.length);
          const lists = yield* query(`SELECT user_id, stream_id, stale, master_key_json, self_signing_key_json, updated_ts FROM remote_device_lists WHERE user_id IN ${ids}`, ...part);
          if (lists.length === 0) continue;
          const devices = yield* query(`SELECT user_id, device_id, display_name, keys_json FROM remote_devices WHERE user_id IN ${ids} ORDER BY user_id, device_id`, ...part);
          const byUser = new Map<string, RemoteDevice[]>();
          for (const d of devices) {
            const l = byUser.get(str(d["user_id"])) ?? [];
            l.push({ deviceId: str(d["device_id"]), displayName: strOrNull(d["display_name"]), keys: parsedOrNull(d["keys_json"]) });
            byUser.set(str(d["user_id"]), l);
          }
          for (const r of lists) {
            const userId = str(r["user_id"]) as UserId;
            out.set(userId, {
              userId,
              streamId: num(r["stream_id"]),
              stale: num(r["stale"]) === 1,
              devices: byUser.get(userId) ?? [],
              masterKey: parsedOrNull(r["master_key_json"]),
              selfSigningKey: parsedOrNull(r["self_signing_key_json"]),
              updatedTs: num(r["updated_ts"]),
            });
          }
        }
        return out;
      });
    },

    replaceRemoteDeviceList(list, nowTs) {
      return db.write(function* () {
        yield* exec("DELETE FROM remote_devices WHERE user_id = ?", list.userId);
        for (const d of list.devices) yield* upsertDeviceWork(list.userId, d);
        yield* exec(
          `INSERT INTO remote_device_lists (user_id, stream_id, stale, master_key_json, self_signing_key_json, updated_ts) VALUES (?, ?, 0, ?, ?, ?)
           ON CONFLICT (user_id) DO UPDATE SET stream_id = excluded.stream_id, stale = 0, master_key_json = excluded.master_key_json,
             self_signing_key_json = excluded.self_signing_key_json, updated_ts = excluded.updated_ts`,
          list.userId, list.streamId, list.masterKey === null ? null : json(list.masterKey), list.selfSigningKey === null ? null : json(list.selfSigningKey), nowTs,
        );
        return yield* deviceListChangeWork(list.userId);
      });
    },

    applyDeviceListUpdate(u, nowTs) {
      return db.write(function* () {
        const row = yield* queryOne("SELECT stream_id FROM remote_device_lists WHERE user_id = ?", u.userId);
        if (!row) return { outcome: "untracked" as const, position: yield* deviceListChangeWork(u.userId) };
        const known = num(row["stream_id"]);
        if (u.streamId <= known) return { outcome: "old" as const };
        // Every update at or below `known` is in the list already (updates are applied only when their prev_ids
        // are), so a prev_id above it names an update we never got: the list can no longer be trusted.
        if (u.prevIds.some((p) => p > known)) {
          yield* exec("UPDATE remote_device_lists SET stale = 1, updated_ts = ? WHERE user_id = ?", nowTs, u.userId);
          return { outcome: "gap" as const, position: yield* deviceListChangeWork(u.userId) };
        }
        if (u.deleted) yield* exec("DELETE FROM remote_devices WHERE user_id = ? AND device_id = ?", u.userId, u.deviceId);
        else yield* upsertDeviceWork(u.userId, { deviceId: u.deviceId, displayName: u.displayName, keys: u.keys });
        yield* exec("UPDATE remote_device_lists SET stream_id = ?, updated_ts = ? WHERE user_id = ?", u.streamId, nowTs, u.userId);
        return { outcome: "applied" as const, position: yield* deviceListChangeWork(u.userId) };
      });
    },

    applySigningKeyUpdate(userId, keys, nowTs) {
      return db.write(function* () {
        if (keys.master !== undefined) yield* exec("UPDATE remote_device_lists SET master_key_json = ?, updated_ts = ? WHERE user_id = ?", json(keys.master), nowTs, userId);
        if (keys.selfSigning !== undefined) yield* exec("UPDATE remote_device_lists SET self_signing_key_json = ?, updated_ts = ? WHERE user_id = ?", json(keys.selfSigning), nowTs, userId);
        return yield* deviceListChangeWork(userId);
      });
    },

    forgetRemoteDeviceList(userId) {
      return db.write(function* () {
        yield* exec("DELETE FROM remote_devices WHERE user_id = ?", userId);
        return (yield* exec("DELETE FROM remote_device_lists WHERE user_id = ?", userId)) > 0;
      });
    },

    receiveToDevice(origin: ServerName, messageId, messages, nowTs, forgetBeforeTs) {
      return db.write(function* () {
        yield* exec("DELETE FROM federation_to_device_ids WHERE received_ts < ?", forgetBeforeTs);
        const fresh = yield* exec("INSERT INTO federation_to_device_ids (origin, message_id, received_ts) VALUES (?, ?, ?) ON CONFLICT (origin, message_id) DO NOTHING", origin, messageId, nowTs);
        if (fresh === 0) return false;
        yield* queueToDeviceWork(messages);
        return true;
      });
    },
  };
}
