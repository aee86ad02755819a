/** Migration 0023 on SQLite: an upgraded database gets its room-list rows and membership snapshots from what it holds. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadMigrations } from "../sql/migrations.js";
import { Database } from "./driver.js";

const MIGRATIONS = loadMigrations("sqlite");
/** The SQLite text of migration `n` (its override when it has one), as the runner loads it. */
function migration(n: number): string {
  const m = MIGRATIONS.find((x) => x.version === n);
  assert.ok(m, `migration ${n}`);
  return m.sql;
}

describe("migration 0023 (room-list tables)", () => {
  it("backfills each room's activity, bump stamp and state facts, and the local users' memberships without their state", () => {
    const db = new Database(":memory:");
    try {
      for (let n = 1; n <= 22; n++) db.exec(migration(n));
      const ev = db.prepare(
        `INSERT INTO events (event_id, stream_ordering, room_id, room_version, type, state_key, sender, depth, origin_server_ts, json, outlier, rejection_reason, received_ts, soft_failed, backfilled)
         VALUES (?, ?, ?, '10', ?, ?, ?, 1, 1, ?, ?, ?, 1, ?, ?)`,
      );
      const json = (type: string, content: object) => JSON.stringify({ type, content });
      const rows: [string, number, string, string, string | null, string, string, number, string | null, number, number][] = [
        ["$c", 1, "!r:x", "m.room.create", "", "@a:x", json("m.room.create", { type: "m.space" }), 0, null, 0, 0],
        ["$m", 2, "!r:x", "m.room.message", null, "@a:x", json("m.room.message", { body: "hi" }), 0, null, 0, 0],
        ["$n", 3, "!r:x", "m.room.name", "", "@a:x", json("m.room.name", { name: "Lobby" }), 0, null, 0, 0],
        ["$e", 4, "!r:x", "m.room.encryption", "", "@a:x", json("m.room.encryption", { algorithm: "x" }), 0, null, 0, 0],
        ["$j", 5, "!r:x", "m.room.member", "@a:x", "@a:x", json("m.room.member", { membership: "join" }), 0, null, 0, 0],
        ["$rej", 6, "!r:x", "m.room.message", null, "@b:y", json("m.room.message", {}), 0, "auth", 0, 0],
        ["$soft", 7, "!r:x", "m.room.message", null, "@b:y", json("m.room.message", {}), 0, null, 1, 0],
        ["$old", -1, "!r:x", "m.room.message", null, "@b:y", json("m.room.message", {}), 0, null, 0, 1],
        ["$c2", 8, "!s:x", "m.room.create", "", "@b:y", json("m.room.create", { type: 5 }), 0, null, 0, 0],
        ["$bj", 9, "!s:x", "m.room.member", "@b:y", "@b:y", json("m.room.member", { membership: "join" }), 0, null, 0, 0],
      ];
      for (const r of rows) ev.run(...r);
      const cs = db.prepare("INSERT INTO current_state_events (room_id, type, state_key, event_id) VALUES (?, ?, ?, ?)");
      for (const [r, t, k, e] of [["!r:x", "m.room.create", "", "$c"], ["!r:x", "m.room.name", "", "$n"], ["!r:x", "m.room.encryption", "", "$e"], ["!r:x", "m.room.member", "@a:x", "$j"], ["!s:x", "m.room.create", "", "$c2"], ["!s:x", "m.room.member", "@b:y", "$bj"]]) cs.run(r, t, k, e);
      db.prepare("INSERT INTO users (user_id, password_hash, created_ts, admin, deactivated) VALUES ('@a:x', NULL, 1, 0, 0)").run();
      const cm = db.prepare("INSERT INTO current_memberships (room_id, user_id, membership, event_id, stream_ordering) VALUES (?, ?, ?, ?, ?)");
      cm.run("!r:x", "@a:x", "join", "$j", 5);
      cm.run("!s:x", "@b:y", "join", "$bj", 9);

      db.exec(migration(23));

      const rooms = db.prepare("SELECT room_id, stream_ordering, bump_stamp, room_type, is_encrypted, room_name, tombstone_successor FROM room_list_rooms ORDER BY room_id").raw().all();
      assert.deepEqual(rooms, [
        ["!r:x", 5, 2, "m.space", 1, "Lobby", null],
        ["!s:x", 9, 8, null, 0, null, null], // a create `type` that is not a string is no room type
      ]);
      const members = db.prepare("SELECT room_id, user_id, membership, event_id, sender, stream_ordering, state_known FROM room_list_memberships").raw().all();
      assert.deepEqual(members, [["!r:x", "@a:x", "join", "$j", "@a:x", 5, 0]], "local users only, their state left to be read");
    } finally {
      db.close();
    }
  });
});
