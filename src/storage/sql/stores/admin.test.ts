import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Database } from "../../sqlite/driver.js";
import { loadMigrations, migrationsDir } from "../migrations.js";
import { PURGE_KEEPS, PURGE_STEPS } from "./admin.js";

describe("room purge coverage", () => {
  it("names every table with a room_id column, as deleted or as kept, so a new room table cannot be forgotten", () => {
    const db = new Database(":memory:");
    try {
      for (const m of loadMigrations("sqlite", migrationsDir())) db.exec(m.sql);
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
      const withRoomId = tables.filter((t) => (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).some((c) => c.name === "room_id"));
      const purged = new Set(PURGE_STEPS.map(([t]) => t));
      const unnamed = withRoomId.filter((t) => !purged.has(t) && !PURGE_KEEPS.includes(t));
      assert.deepEqual(unnamed, [], "add these tables to PURGE_STEPS or PURGE_KEEPS in stores/admin.ts");
      assert.ok(withRoomId.length >= 20, `found ${withRoomId.length} tables with room_id`);
      for (const t of purged) assert.ok(tables.includes(t), `PURGE_STEPS names ${t}, which no migration creates`);
    } finally {
      db.close();
    }
  });
});
