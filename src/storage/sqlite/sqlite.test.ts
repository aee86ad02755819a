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
import { pdu, eid } from "../conformance/fixtures.js";
import { stateKeyOf } from "../../core/events/pdu.js";
import type { EventToPersist } from "../ports.js";
import type { EventId, RoomId } from "../../core/ids/index.js";

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

/**
 * Runs `body` (JavaScript; `s` is a storage opened on `path` with its own connection, `name` the thread's name) in
 * one worker thread per name, all at once; resolves to what each body returned.
 */
async function inThreads(path: string, names: readonly string[], body: string): Promise<unknown[]> {
  const moduleUrl = new URL("./index.js", import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    (async () => {
      const { openSqliteStorage } = await import(workerData.moduleUrl);
      const s = await openSqliteStorage({ path: workerData.path, busyTimeoutMs: 30000 });
      const name = workerData.name;
      const result = await (async () => { ${body} })();
      await s.close();
      parentPort.postMessage(result);
    })().catch((e) => parentPort.postMessage("error: " + (e && e.stack || e)));
  `;
  const workers = names.map((name) => new Worker(code, { eval: true, workerData: { moduleUrl, path, name } }));
  try {
    return await Promise.all(workers.map((w) => new Promise<unknown>((resolve, reject) => { w.once("message", resolve); w.once("error", reject); })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
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
    const results = await inThreads(path, ["w0", "w1", "w2", "w3"], `
      const room = "!room:zion.test";
      for (let i = 0; i < 40; i++) {
        const id = "$" + name + "-" + i;
        const raw = { room_id: room, type: "m.room.message", sender: "@a:zion.test", content: {}, prev_events: [], auth_events: [], depth: 1, origin_server_ts: 1 };
        const pdu = { eventId: id, roomId: room, sender: "@a:zion.test", type: "m.room.message", stateKey: undefined, content: {}, prevEvents: [], authEvents: [], depth: 1, originServerTs: 1, redacts: undefined, roomVersion: { id: "10" }, raw };
        await s.events.persistEvents({ events: [{ pdu }], receivedTs: 1 });
      }
      return "done";
    `);
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

describe("sqlite one-time key claims from several threads", () => {
  after(removeTempDirs);

  it("hands each one-time key to exactly one of four threads claiming at once on one file", { timeout: 60_000 }, async () => {
    const path = join(tempDir(), "homeserver.db");
    const first: Storage = await openSqliteStorage({ path });
    const keys = Array.from({ length: 50 }, (_, i) => ({ algorithm: "signed_curve25519", keyId: `signed_curve25519:K${String(i).padStart(3, "0")}`, key: { key: `k${i}` } }));
    await first.e2ee.uploadKeys({ userId: "@a:zion.test" as UserId, deviceId: "D", oneTimeKeys: keys });
    await first.close();
    // Each thread opens its own connection and claims 20 times as fast as it can: 80 claims for 50 keys.
    const results = await inThreads(path, ["c0", "c1", "c2", "c3"], `
      const got = [];
      for (let i = 0; i < 20; i++) {
        for (const k of await s.e2ee.claimKeys([{ userId: "@a:zion.test", deviceId: "D", algorithm: "signed_curve25519" }])) got.push(k.keyId);
      }
      return got;
    `);
    for (const r of results) assert.ok(Array.isArray(r), String(r));
    const ids = (results as string[][]).flat();
    assert.equal(ids.length, 50, "every key claimed, none twice");
    assert.equal(new Set(ids).size, 50);
    const s = await openSqliteStorage({ path });
    try {
      assert.deepEqual(await s.e2ee.oneTimeKeyCounts("@a:zion.test" as UserId, "D"), {});
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

/** create + n joins in one room, each with the state before it (a room growing by member joins). */
function joins(n: number, room = "!big:zion.test" as RoomId): EventToPersist[] {
  const create = pdu({ id: "create", room, type: "m.room.create", stateKey: "" });
  const out: EventToPersist[] = [{ pdu: create, stateBefore: { state: new Map() } }];
  let prev: EventId = create.eventId;
  for (let i = 0; i < n; i++) {
    const user = `@u${i}:zion.test` as UserId;
    const p = pdu({ id: `j${i}`, room, type: "m.room.member", stateKey: user, sender: user, content: { membership: "join" }, prev: [prev], auth: [create.eventId], depth: i + 2 });
    out.push({ pdu: p, stateBefore: { after: prev } });
    prev = p.eventId;
  }
  return out;
}

describe("sqlite: rooms storage", () => {
  after(removeTempDirs);

  it("stores the state of a room growing to 4,000 members in O(n log n) delta rows, not O(n^2)", async () => {
    const path = join(tempDir(), "homeserver.db");
    const s = await openSqliteStorage({ path });
    const n = 4000;
    try {
      await s.events.persistEvents({ events: joins(n), receivedTs: 1 });
      const last = await s.state.getStateAtEvent(eid(`j${n - 1}`), "after");
      assert.equal(last?.size, n + 1, "the last state has every member and the create event");
      assert.equal(last?.get(stateKeyOf("m.room.member", "@u17:zion.test")), eid("j17"));
    } finally {
      await s.close();
    }
    const raw = new Database(path, { readonly: true });
    try {
      const rows = raw.prepare("SELECT count(*) AS n FROM state_group_deltas").get() as { n: number };
      const groups = raw.prepare("SELECT count(*) AS n FROM state_groups").get() as { n: number };
      const bound = (n + 1) * (Math.log2(n + 1) + 1);
      assert.equal(groups.n, n + 2, "one group per state change (plus the empty state before the create)");
      assert.ok(rows.n <= bound, `${rows.n} delta rows <= ${Math.round(bound)} (n log n); a snapshot per event would be ${((n + 1) * (n + 2)) / 2}`);
    } finally {
      raw.close();
    }
  });

  it("lets the event loop run during a long write, and reads meanwhile see none of it until it commits", { timeout: 60_000 }, async () => {
    const s = await openSqliteStorage({ path: join(tempDir(), "homeserver.db") });
    try {
      const events = joins(5000);
      const ids = events.map((e) => e.pdu.eventId);
      let done = false;
      let turns = 0;
      let partial = 0;
      const write = s.events.persistEvents({ events, receivedTs: 1 }).then(() => (done = true));
      while (!done) {
        await new Promise((r) => setImmediate(r));
        if (done) break;
        turns++;
        const seen = (await s.events.haveEvents([ids[0]!, ids[ids.length - 1]!])).size;
        if (seen !== 0) partial++;
      }
      await write;
      assert.ok(turns > 0, "the event loop ran while the write was in progress");
      assert.equal(partial, 0, "no read saw the uncommitted write");
      assert.equal((await s.events.haveEvents(ids)).size, ids.length);
    } finally {
      await s.close();
    }
  });
});
