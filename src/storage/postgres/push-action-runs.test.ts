/** Migration 0022 on PostgreSQL: push actions stored one row per (user, event) under 0020 become runs, one per bucket. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { startTestPostgres, type TestPostgres } from "../../../test/harness/postgres.js";
import { loadMigrations } from "../sql/migrations.js";

let server: TestPostgres | undefined;

after(async () => {
  await server?.stop();
}, { timeout: 30_000 });

describe("migration 0022 on postgres (push actions as runs)", () => {
  it("groups 0020's rows by user, room, bucket of 64 orderings, thread, highlight and actions, keeping every ordering", { timeout: 120_000 }, async () => {
    server = await startTestPostgres();
    const client = new pg.Client(await server.createDatabase());
    await client.connect();
    try {
      const migrations = loadMigrations("postgres");
      for (const m of migrations.filter((m) => m.version <= 21)) await client.query(m.sql);
      const notify = '["notify"]';
      const highlight = '["notify",{"set_tweak":"highlight"}]';
      for (const [u, r, so, thread, h, actions] of [
        ["@a:x", "!r:x", 5, null, 0, notify], ["@a:x", "!r:x", 9, null, 0, notify], ["@a:x", "!r:x", 63, null, 0, notify],
        ["@a:x", "!r:x", 64, null, 0, notify], // the next bucket
        ["@a:x", "!r:x", 7, null, 1, highlight], ["@a:x", "!r:x", 8, "$root", 0, notify],
        ["@a:x", "!s:x", 6, null, 0, notify], ["@b:x", "!r:x", 5, null, 0, notify],
      ] as const) {
        await client.query("INSERT INTO event_push_actions (user_id, room_id, event_id, stream_ordering, thread_id, highlight, actions_json) VALUES ($1, $2, $3, $4, $5, $6, $7)", [u, r, `$${so}`, so, thread, h, actions]);
      }

      await client.query(migrations.find((m) => m.version === 22)!.sql);

      const runs = await client.query({
        text: "SELECT user_id, room_id, first_ordering::int, last_ordering::int, n, thread_id, highlight, actions_json, orderings_json FROM event_push_action_runs ORDER BY user_id, room_id, first_ordering",
        rowMode: "array",
      });
      assert.deepEqual(runs.rows.map((r: unknown[]) => [...r.slice(0, 8), JSON.parse(r[8] as string)]), [
        ["@a:x", "!r:x", 5, 63, 3, null, 0, notify, [5, 9, 63]],
        ["@a:x", "!r:x", 7, 7, 1, null, 1, highlight, [7]],
        ["@a:x", "!r:x", 8, 8, 1, "$root", 0, notify, [8]],
        ["@a:x", "!r:x", 64, 64, 1, null, 0, notify, [64]],
        ["@a:x", "!s:x", 6, 6, 1, null, 0, notify, [6]],
        ["@b:x", "!r:x", 5, 5, 1, null, 0, notify, [5]],
      ]);
      assert.equal((await client.query("SELECT COUNT(*)::int AS c FROM event_push_action_runs_recent")).rows[0].c, 0);
      assert.equal((await client.query("SELECT to_regclass('event_push_actions') AS t")).rows[0].t, null, "0020's table is gone");
    } finally {
      await client.end();
    }
  });
});
