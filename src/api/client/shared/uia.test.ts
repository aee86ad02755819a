import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UserId } from "../../../core/ids/index.js";
import { openSqliteStorage } from "../../../storage/sqlite/index.js";
import type { Storage } from "../../../storage/ports.js";
import { storedUiaSessions, runUia } from "./uia.js";
import { storedNonceStore } from "../admin/nonces.js";
import { HttpResponse } from "../../http/index.js";

describe("UIA sessions", () => {
  let storage: Storage;
  before(async () => { storage = await openSqliteStorage({ path: ":memory:" }); });
  after(() => storage.close());

  it("expire after their time to live and never exceed the cap (oldest go first)", async () => {
    let now = 0;
    const s = storedUiaSessions(storage.uiaSessions, { now: () => now, sleep: async () => {} }, { ttlMs: 1000, maxSessions: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) { now = i; ids.push(await s.create("register", undefined)); }
    assert.equal(await s.get(ids[0]!), undefined, "the oldest was dropped");
    assert.notEqual(await s.get(ids[1]!), undefined);
    now = 1002;
    assert.notEqual(await s.get(ids[3]!), undefined, "created at 3: alive until 1003");
    now = 1003;
    assert.equal(await s.get(ids[3]!), undefined, "expired");
  });

  it("refuse a session made for another operation or user", async () => {
    const s = storedUiaSessions(storage.uiaSessions, { now: () => 0, sleep: async () => {} });
    const alice = "@alice:x" as UserId;
    const id = await s.create("password", alice);
    const base = { stage: "m.login.password" as const, verify: async () => undefined };
    await assert.rejects(runUia(s, { ...base, operation: "deactivate", userId: alice, auth: { type: "m.login.password", session: id } }), /another request/);
    await assert.rejects(runUia(s, { ...base, operation: "password", userId: "@bob:x" as UserId, auth: { type: "m.login.password", session: id } }), /another request/);
    assert.equal(await runUia(s, { ...base, operation: "password", userId: alice, auth: { type: "m.login.password", session: id } }), undefined);
    assert.equal(await s.get(id), undefined, "a completed session is used up");
  });

  it("report a failed stage as 401 M_FORBIDDEN keeping the session", async () => {
    const s = storedUiaSessions(storage.uiaSessions, { now: () => 0, sleep: async () => {} });
    const r = await runUia(s, { operation: "x", userId: undefined, stage: "m.login.password", auth: { type: "m.login.password" }, verify: async () => "invalid password" });
    assert.ok(r instanceof HttpResponse);
    assert.equal(r.status, 401);
    const body = (r.body as { value: Record<string, unknown> }).value;
    assert.equal(body["errcode"], "M_FORBIDDEN");
    assert.notEqual(await s.get(String(body["session"])), undefined);
  });

  it("finds a session another instance (another process) created over the same store", async () => {
    const clock = { now: () => 0, sleep: async () => {} };
    const first = storedUiaSessions(storage.uiaSessions, clock);
    const second = storedUiaSessions(storage.uiaSessions, clock);
    const id = await first.create("deactivate", "@carol:x" as UserId);
    assert.deepEqual(await second.get(id), { operation: "deactivate", userId: "@carol:x" });
  });
});

describe("shared-secret registration nonces", () => {
  let storage: Storage;
  before(async () => { storage = await openSqliteStorage({ path: ":memory:" }); });
  after(() => storage.close());

  it("are single use, expire after a minute, and are capped", async () => {
    let now = 0;
    const n = storedNonceStore(storage.registrationNonces, { now: () => now, sleep: async () => {} }, { max: 2 });
    const a = await n.issue();
    assert.equal(await n.consume(a), true);
    assert.equal(await n.consume(a), false, "used up");
    const b = await n.issue();
    now = 60_000;
    assert.equal(await n.consume(b), false, "expired");
    const c = await n.issue();
    now += 1;
    const d = await n.issue();
    now += 1;
    const e = await n.issue();
    assert.equal(await n.consume(c), false, "dropped at the cap");
    assert.equal(await n.consume(d), true);
    assert.equal(await n.consume(e), true);
    assert.equal(await n.consume("never-issued"), false);
  });

  it("a nonce one process issued is accepted by another sharing the database, once", async () => {
    const clock = { now: () => 1_000, sleep: async () => {} };
    const [first, second] = [storedNonceStore(storage.registrationNonces, clock), storedNonceStore(storage.registrationNonces, clock)];
    const nonce = await first.issue();
    const [x, y] = await Promise.all([second.consume(nonce), first.consume(nonce)]);
    assert.deepEqual([x, y].sort(), [false, true], "exactly one of two concurrent consumers gets it");
  });
});
