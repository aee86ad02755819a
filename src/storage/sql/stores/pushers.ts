/** PusherStore over SQL (migration 0015). */
import type { UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { PusherDelivery, PusherRecord, PusherStore } from "../../ports.js";
import { exec, num, numOrNull, placeholders, query, str, strOrNull, type Row, type SqlRunner } from "../uow.js";
import { NEWEST_ACTION_SQL } from "./push-actions.js";

const COLUMNS = "user_id, app_id, pushkey, kind, app_display_name, device_display_name, profile_tag, lang, data_json, device_id, pushkey_ts";

function pusherOf(r: Row): PusherRecord {
  return {
    userId: str(r["user_id"]) as UserId,
    appId: str(r["app_id"]),
    pushkey: str(r["pushkey"]),
    kind: str(r["kind"]),
    appDisplayName: str(r["app_display_name"]),
    deviceDisplayName: str(r["device_display_name"]),
    profileTag: strOrNull(r["profile_tag"]),
    lang: str(r["lang"]),
    data: JSON.parse(str(r["data_json"])) as JsonObject,
    deviceId: str(r["device_id"]),
    pushkeyTs: num(r["pushkey_ts"]),
  };
}

function deliveryOf(r: Row): PusherDelivery {
  return { ...pusherOf(r), lastStreamOrdering: num(r["last_stream_ordering"]), failingSince: numOrNull(r["failing_since"]) };
}

export function sqlPusherStore(db: SqlRunner): PusherStore {
  return {
    list(userId) {
      return db.read(function* () {
        return (yield* query(`SELECT ${COLUMNS} FROM pushers WHERE user_id = ? ORDER BY app_id, pushkey`, userId)).map(pusherOf);
      });
    },

    set(p, append) {
      return db.write(function* () {
        if (!append) yield* exec("DELETE FROM pushers WHERE app_id = ? AND pushkey = ? AND user_id <> ?", p.appId, p.pushkey, p.userId);
        // A new pusher starts at the user's newest push action (no history is sent); a replaced one keeps its place.
        yield* exec(
          `INSERT INTO pushers (${COLUMNS}, last_stream_ordering)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (${NEWEST_ACTION_SQL}))
           ON CONFLICT (user_id, app_id, pushkey) DO UPDATE SET kind = excluded.kind, app_display_name = excluded.app_display_name,
             device_display_name = excluded.device_display_name, profile_tag = excluded.profile_tag, lang = excluded.lang,
             data_json = excluded.data_json, device_id = excluded.device_id, pushkey_ts = excluded.pushkey_ts`,
          p.userId, p.appId, p.pushkey, p.kind, p.appDisplayName, p.deviceDisplayName, p.profileTag, p.lang, JSON.stringify(p.data), p.deviceId, p.pushkeyTs, p.userId, p.userId, p.userId,
        );
      });
    },

    delete(userId, appId, pushkey) {
      return db.write(function* () {
        return (yield* exec("DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?", userId, appId, pushkey)) > 0;
      });
    },

    deliveries(kind, userIds) {
      return db.read(function* () {
        const cols = `${COLUMNS}, last_stream_ordering, failing_since`;
        if (userIds === undefined) return (yield* query(`SELECT ${cols} FROM pushers WHERE kind = ? ORDER BY user_id, app_id, pushkey`, kind)).map(deliveryOf);
        const out: PusherDelivery[] = [];
        for (let i = 0; i < userIds.length; i += 500) {
          const part = userIds.slice(i, i + 500);
          if (part.length === 0) continue;
          out.push(...(yield* query(`SELECT ${cols} FROM pushers WHERE kind = ? AND user_id IN ${placeholders(part.length)} ORDER BY user_id, app_id, pushkey`, kind, ...part)).map(deliveryOf));
        }
        return out;
      });
    },

    updateDelivery(userId, appId, pushkey, lastStreamOrdering, failingSince) {
      return db.write(function* () {
        yield* exec(
          "UPDATE pushers SET last_stream_ordering = ?, failing_since = ? WHERE user_id = ? AND app_id = ? AND pushkey = ?",
          lastStreamOrdering, failingSince, userId, appId, pushkey,
        );
      });
    },

    deleteByPushkey(appId, pushkey) {
      return db.write(function* () {
        return yield* exec("DELETE FROM pushers WHERE app_id = ? AND pushkey = ?", appId, pushkey);
      });
    },
  };
}
