/** The WAL checkpointer: the writer stops checkpointing inside its commits, the worker thread does it instead. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Checkpointer } from "./checkpointer.js";
import { Database } from "./driver.js";

describe("Checkpointer", () => {
  it("turns the writer's automatic checkpoints off and checkpoints the whole WAL in its worker after commits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zion-checkpointer-"));
    const db = new Database(join(dir, "db.sqlite"));
    try {
      db.pragma("journal_mode = WAL");
      const checkpointer = new Checkpointer(join(dir, "db.sqlite"), db);
      assert.equal(db.pragma("wal_autocheckpoint", { simple: true }), 0);
      db.exec("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)");
      const insert = db.prepare("INSERT INTO t (b) VALUES (?)");
      for (let i = 0; i < 50; i++) {
        db.exec("BEGIN IMMEDIATE");
        insert.run("x".repeat(2000));
        db.exec("COMMIT");
        checkpointer.committed();
      }
      for (let waited = 0; checkpointer.lastCheckpoint === null && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      const done = checkpointer.lastCheckpoint;
      assert.ok(done && done.log > 0, `a checkpoint ran over the WAL (${JSON.stringify(done)})`);
      assert.equal(done.checkpointed, done.log, "every frame is back in the database (no reader held it)");
      await checkpointer.close();
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
