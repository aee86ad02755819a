/**
 * The storage conformance suite on SQLite (a file in a temp dir, and
 * :memory:), plus what only SQLite has: WAL, the busy timeout against another
 * process's write lock, and several processes writing one file at once.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { Database, SQLITE_DRIVER_PATH } from "./driver.js";
import { runStorageConformance } from "../conformance/suite.js";
import { StorageUnavailableError, type Storage } from "../ports.js";
import type { UserId } from "../../core/ids/index.js";
import { openSqliteStorage } from "./index.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "zion-sqlite-"));
  dirs.push(d);
  return d;
}
function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

runStorageConformance({
  name: "sqlite (file)",
  async fresh() {
    const path = join(tempDir(), "homeserver.db");
    return {
      open: (o) => openSqliteStorage({ path, ...(o?.migrate === false ? { migrate: false } : {}) }),
      worker: { moduleUrl: new URL("./index.js", import.meta.url).href, exportName: "openSqliteStorage", options: { path, busyTimeoutMs: 30_000 } },
    };
  },
  async cleanup() {
    removeTempDirs();
  },
});

runStorageConformance({
  name: "sqlite (:memory:)",
  noReopenReason: "a :memory: database lives and dies with its one connection, so it cannot be reopened or shared",
  async fresh() {
    return { open: (o) => openSqliteStorage({ path: ":memory:", ...(o?.migrate === false ? { migrate: false } : {}) }) };
  },
});

/**
 * Holds the write lock of `path` from a worker thread (another connection).
 * `releaseAfter(ms)` lets the worker commit on its own after `ms`: a waiting
 * better-sqlite3 call blocks this thread, so the release must come from there.
 */
async function holdWriteLock(path: string): Promise<{ releaseAfter(ms: number): void; release(): Promise<void> }> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const Database = require(workerData.driver);
    const db = new Database(workerData.path);
    db.exec("BEGIN IMMEDIATE");
    parentPort.postMessage("locked");
    let open = true;
    const commit = () => { if (!open) return; open = false; db.exec("COMMIT"); db.close(); parentPort.postMessage("released"); };
    parentPort.on("message", (m) => { if (m === "release") commit(); else setTimeout(commit, m); });
  `;
  const w = new Worker(code, { eval: true, workerData: { path, driver: SQLITE_DRIVER_PATH } });
  const next = () => new Promise<string>((resolve, reject) => { w.once("message", resolve); w.once("error", reject); });
  assert.equal(await next(), "locked");
  const released = next();
  released.catch(() => {}); // awaited in release()
  return {
    releaseAfter(ms: number) {
      w.postMessage(ms);
    },
    async release() {
      w.postMessage("release");
      assert.equal(await released, "released");
      await w.terminate();
    },
  };
}

describe("sqlite backend specifics", () => {
  after(removeTempDirs);

  it("opens a file database in WAL mode and creates its folder", async () => {
    const path = join(tempDir(), "nested", "dir", "homeserver.db");
    const s = await openSqliteStorage({ path });
    await s.close();
    const raw = new Database(path, { readonly: true });
    try {
      assert.equal(raw.pragma("journal_mode", { simple: true }), "wal");
      const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
      for (const t of ["events", "rooms", "schema_migrations", "server_keys", "users"]) assert.ok(tables.includes(t), `table ${t} exists`);
    } finally {
      raw.close();
    }
  });

  it("waits out another connection's write lock within the busy timeout", { timeout: 30_000 }, async () => {
    const path = join(tempDir(), "homeserver.db");
    const s = await openSqliteStorage({ path, busyTimeoutMs: 20_000 });
    try {
      const lock = await holdWriteLock(path);
      // The worker commits a second from now; this write starts at once, finds the lock taken and waits.
      lock.releaseAfter(1000);
      await s.users.createUser({ userId: "@waiter:zion.test" as UserId, passwordHash: "h", createdTs: 1 });
      await lock.release();
      assert.equal((await s.users.getUser("@waiter:zion.test" as UserId))?.passwordHash, "h");
    } finally {
      await s.close();
    }
  });

  it("fails with StorageUnavailableError, writing nothing, when the lock outlasts the busy timeout", { timeout: 30_000 }, async () => {
    const path = join(tempDir(), "homeserver.db");
    const s = await openSqliteStorage({ path, busyTimeoutMs: 50 });
    const lock = await holdWriteLock(path);
    try {
      await assert.rejects(s.users.createUser({ userId: "@late:zion.test" as UserId, passwordHash: "h", createdTs: 1 }), StorageUnavailableError);
    } finally {
      await lock.release();
    }
    try {
      assert.equal(await s.users.getUser("@late:zion.test" as UserId), null);
    } finally {
      await s.close();
    }
  });

  it("serialises writers from four threads on one file: every batch lands with distinct orderings", { timeout: 60_000 }, async () => {
    const path = join(tempDir(), "homeserver.db");
    const first: Storage = await openSqliteStorage({ path });
    await first.close();
    const moduleUrl = new URL("./index.js", import.meta.url).href;
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      (async () => {
        const { openSqliteStorage } = await import(workerData.moduleUrl);
        const s = await openSqliteStorage({ path: workerData.path, busyTimeoutMs: 30000 });
        const room = "!room:zion.test";
        for (let i = 0; i < 40; i++) {
          const id = "$" + workerData.name + "-" + i;
          const raw = { room_id: room, type: "m.room.message", sender: "@a:zion.test", content: {}, prev_events: [], auth_events: [], depth: 1, origin_server_ts: 1 };
          const pdu = { eventId: id, roomId: room, sender: "@a:zion.test", type: "m.room.message", stateKey: undefined, content: {}, prevEvents: [], authEvents: [], depth: 1, originServerTs: 1, redacts: undefined, roomVersion: { id: "10" }, raw };
          await s.events.persistEvents({ events: [{ pdu }], receivedTs: 1 });
        }
        await s.close();
        parentPort.postMessage("done");
      })().catch((e) => parentPort.postMessage("error: " + (e && e.stack || e)));
    `;
    const workers = ["w0", "w1", "w2", "w3"].map((name) => new Worker(code, { eval: true, workerData: { moduleUrl, path, name } }));
    const results = await Promise.all(workers.map((w) => new Promise<string>((resolve, reject) => { w.once("message", resolve); w.once("error", reject); })));
    await Promise.all(workers.map((w) => w.terminate()));
    assert.deepEqual(results, ["done", "done", "done", "done"]);
    const s = await openSqliteStorage({ path });
    try {
      assert.equal(await s.events.maxStreamOrdering(), 160);
      const all = await s.events.getRoomEventsBetween("!room:zion.test" as never, 0, 160, 1000);
      assert.deepEqual(all.map((e) => e.streamOrdering), Array.from({ length: 160 }, (_, i) => i + 1));
    } finally {
      await s.close();
    }
  });
});

describe("sqlite opening for inspection", () => {
  after(removeTempDirs);

  it("with mustExist, refuses a missing file (StorageUnavailableError) and creates nothing", async () => {
    const dir = tempDir();
    for (const path of [join(dir, "missing.db"), join(dir, "no-such-dir", "missing.db")]) {
      await assert.rejects(openSqliteStorage({ path, mustExist: true, migrate: false }), StorageUnavailableError);
      assert.equal(existsSync(path), false);
    }
  });

  it("with migrate: false, reports an old database as not migrated without changing it", async () => {
    const path = join(tempDir(), "homeserver.db");
    const raw = new Database(path);
    raw.exec("CREATE TABLE unrelated (x INTEGER)");
    raw.close();
    const s = await openSqliteStorage({ path, mustExist: true, migrate: false });
    try {
      assert.equal(await s.isMigrated(), false);
      assert.equal((await s.migrationStatus()).current, 0);
    } finally {
      await s.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      assert.deepEqual(check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(), ["unrelated"]);
    } finally {
      check.close();
    }
  });
});
