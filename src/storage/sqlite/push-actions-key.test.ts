/** Migration 0020 on SQLite: push actions stored under migration 0018 survive the change of key, which then holds. */
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

describe("migration 0020 (push actions keyed by user, room and stream ordering)", () => {
  it("keeps every row of 0018's table, keys them by (user_id, room_id, stream_ordering) and drops 0018's room index", () => {
    const db = new Database(":memory:");
    try {
      for (let n = 1; n <= 18; n++) db.exec(migration(n));
      const insert = db.prepare("INSERT INTO event_push_actions (user_id, room_id, event_id, stream_ordering, thread_id, highlight, actions_json) VALUES (?, ?, ?, ?, ?, ?, ?)");
      const rows = [
        ["@a:x", "!r:x", "$1", 5, null, 0, '["notify"]'],
        ["@a:x", "!r:x", "$2", 6, "$root", 1, '["notify",{"set_tweak":"highlight"}]'],
        ["@b:x", "!r:x", "$1", 5, null, 0, '["notify"]'],
        ["@a:x", "!s:x", "$3", 7, null, 0, '["notify"]'],
      ] as const;
      for (const r of rows) insert.run(...r);

      db.exec(migration(20));

      const after = db.prepare("SELECT user_id, room_id, event_id, stream_ordering, thread_id, highlight, actions_json FROM event_push_actions ORDER BY user_id, room_id, stream_ordering").raw().all();
      assert.deepEqual(after, [rows[0], rows[1], rows[3], rows[2]].map((r) => [...r]));
      const key = (db.prepare("PRAGMA index_list(event_push_actions)").all() as { name: string; origin: string }[]);
      assert.deepEqual(key.map((k) => k.name).sort(), ["event_push_actions_user_id_stream_ordering_idx", "sqlite_autoindex_event_push_actions_1"]);
      const pk = (db.prepare("PRAGMA table_info(event_push_actions)").all() as { name: string; pk: number }[]).filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
      assert.deepEqual(pk, ["user_id", "room_id", "stream_ordering"]);
      // The statement persistWork runs: a row already stored under the key is left alone.
      const upsert = db.prepare("INSERT INTO event_push_actions (user_id, room_id, event_id, stream_ordering, thread_id, highlight, actions_json) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id, stream_ordering) DO NOTHING");
      assert.equal(upsert.run("@a:x", "!r:x", "$1", 5, null, 1, "[]").changes, 0);
      assert.equal(upsert.run("@c:x", "!r:x", "$1", 5, null, 0, '["notify"]').changes, 1);
      assert.throws(() => insert.run("@a:x", "!r:x", "$1", 5, null, 0, "[]"), /UNIQUE constraint failed/);
    } finally {
      db.close();
    }
  });
});
