/** Migration 0022 on SQLite: push actions stored one row per (user, event) under 0020 become runs, one per bucket. */
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

describe("migration 0022 (push actions as runs)", () => {
  it("groups 0020's rows by user, room, bucket of 64 orderings, thread, highlight and actions, keeping every ordering", () => {
    const db = new Database(":memory:");
    try {
      for (let n = 1; n <= 21; n++) db.exec(migration(n));
      const insert = db.prepare("INSERT INTO event_push_actions (user_id, room_id, event_id, stream_ordering, thread_id, highlight, actions_json) VALUES (?, ?, ?, ?, ?, ?, ?)");
      const notify = '["notify"]';
      const highlight = '["notify",{"set_tweak":"highlight"}]';
      for (const [u, r, so, thread, h, actions] of [
        ["@a:x", "!r:x", 5, null, 0, notify], ["@a:x", "!r:x", 9, null, 0, notify], ["@a:x", "!r:x", 63, null, 0, notify],
        ["@a:x", "!r:x", 64, null, 0, notify], // the next bucket
        ["@a:x", "!r:x", 7, null, 1, highlight], ["@a:x", "!r:x", 8, "$root", 0, notify],
        ["@a:x", "!s:x", 6, null, 0, notify], ["@b:x", "!r:x", 5, null, 0, notify],
      ] as const) insert.run(u, r, `$${so}`, so, thread, h, actions);

      db.exec(migration(22));

      const runs = db.prepare("SELECT user_id, room_id, first_ordering, last_ordering, n, thread_id, highlight, actions_json, orderings_json FROM event_push_action_runs ORDER BY user_id, room_id, first_ordering").raw().all();
      assert.deepEqual(runs, [
        ["@a:x", "!r:x", 5, 63, 3, null, 0, notify, "[5,9,63]"],
        ["@a:x", "!r:x", 7, 7, 1, null, 1, highlight, "[7]"],
        ["@a:x", "!r:x", 8, 8, 1, "$root", 0, notify, "[8]"],
        ["@a:x", "!r:x", 64, 64, 1, null, 0, notify, "[64]"],
        ["@a:x", "!s:x", 6, 6, 1, null, 0, notify, "[6]"],
        ["@b:x", "!r:x", 5, 5, 1, null, 0, notify, "[5]"],
      ]);
      assert.equal((db.prepare("SELECT COUNT(*) AS c FROM event_push_action_runs_recent").get() as { c: number }).c, 0);
      assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'event_push_actions'").get(), undefined, "0020's table is gone");
    } finally {
      db.close();
    }
  });
});
