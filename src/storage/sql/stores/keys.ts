/** KeyStore over SQL: remote servers' verify keys and the signed responses that carried them. */
import type { KeyId, ServerName } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { KeyStore, ServerKeyRecord } from "../../ports.js";
import { chunks, exec, num, numOrNull, placeholders, query, str, type Row, type SqlRunner } from "../uow.js";

const COLUMNS = "server_name, key_id, public_key, valid_until_ts, expired_ts, fetched_ts, fetched_from, key_json";

function toRecord(r: Row): ServerKeyRecord {
  return {
    serverName: str(r["server_name"]) as ServerName,
    keyId: str(r["key_id"]) as KeyId,
    publicKey: str(r["public_key"]),
    validUntilTs: num(r["valid_until_ts"]),
    expiredTs: numOrNull(r["expired_ts"]),
    fetchedTs: num(r["fetched_ts"]),
    fetchedFrom: str(r["fetched_from"]) as ServerName,
    keyJson: JSON.parse(str(r["key_json"])) as JsonObject,
  };
}

export function sqlKeyStore(db: SqlRunner): KeyStore {
  return {
    upsertServerKeys(keys) {
      return db.write(function* () {
        for (const k of keys) {
          yield* exec(
            `INSERT INTO server_keys (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (server_name, key_id) DO UPDATE SET
               public_key = excluded.public_key, valid_until_ts = excluded.valid_until_ts,
               expired_ts = excluded.expired_ts, fetched_ts = excluded.fetched_ts,
               fetched_from = excluded.fetched_from, key_json = excluded.key_json`,
            k.serverName, k.keyId, k.publicKey, k.validUntilTs, k.expiredTs, k.fetchedTs, k.fetchedFrom, JSON.stringify(k.keyJson),
          );
        }
      });
    },

    getServerKeys(serverName, keyIds) {
      return db.read(function* () {
        const out = new Map<KeyId, ServerKeyRecord>();
        for (const part of chunks([...new Set(keyIds)])) {
          const rows = yield* query(`SELECT ${COLUMNS} FROM server_keys WHERE server_name = ? AND key_id IN ${placeholders(part.length)}`, serverName, ...part);
          for (const r of rows) {
            const rec = toRecord(r);
            out.set(rec.keyId, rec);
          }
        }
        return out;
      });
    },

    getAllServerKeys(serverName) {
      return db.read(function* () {
        const rows = yield* query(`SELECT ${COLUMNS} FROM server_keys WHERE server_name = ? ORDER BY key_id`, serverName);
        return rows.map(toRecord);
      });
    },
  };
}
