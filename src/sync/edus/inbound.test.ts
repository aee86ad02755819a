import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../core/clock.js";
import type { RoomId, ServerName, UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { Storage } from "../../storage/ports.js";
import { openSqliteStorage } from "../../storage/sqlite/index.js";
import { persistTestRoom } from "../../../test/harness/persisted-room.js";
import { Notifier, type NotifierTimers } from "../notifier.js";
import { TypingStream } from "../typing.js";
import { FEDERATED_TYPING_MS, InboundEdus, MAX_ENTRIES_PER_EDU } from "./inbound.js";

const R = "r.test" as ServerName;
const ROOM = "!room:a.test" as RoomId;
const ACL_ROOM = "!acl:a.test" as RoomId;
const ALICE = "@alice:a.test" as UserId;
const REM = "@rem:r.test" as UserId;
const GONE = "@gone:r.test" as UserId;
const LONELY = "@lonely:r.test" as UserId;
const EV = "$event";

/** Timers that fire only when the test says so. */
function fakeTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  const timers: NotifierTimers = {
    setTimeout: (fn, ms) => { pending.set(next, { fn, ms }); return next++; },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  return { timers, pending };
}

describe("InboundEdus", () => {
  let storage: Storage;
  const now = 50_000;
  const clock: Clock = { now: () => now, sleep: async () => {} };
  let logged: Array<Record<string, unknown>>;
  let typing: TypingStream;
  let pending: ReturnType<typeof fakeTimers>["pending"];
  let presenceEnabled = true;
  let edus: InboundEdus;

  before(async () => {
    storage = await openSqliteStorage({ path: ":memory:" });
    await persistTestRoom(storage, ROOM, ALICE, [[REM, "join"], [GONE, "leave"]]);
    await persistTestRoom(storage, ACL_ROOM, ALICE, [[REM, "join"]], { allow: ["*"], deny: ["r.test"] });
  });
  after(async () => {
    typing?.close();
    await storage?.close();
  });

  const fresh = () => {
    const t = fakeTimers();
    pending = t.pending;
    typing?.close();
    const notifier = new Notifier(t.timers);
    typing = new TypingStream({ clock, timers: t.timers, notifier });
    logged = [];
    edus = new InboundEdus({
      typing, storage, notifier, clock, get presenceEnabled() { return presenceEnabled; },
      log: { info: (o) => void logged.push(o) },
    });
  };
  const typers = (room: RoomId) => typing.changesSince([room], 0).get(room) ?? [];
  const reasons = () => logged.map((l) => String(l["reason"]));

  it("sets a joined remote user typing for FEDERATED_TYPING_MS, and stops it when typing is false", async () => {
    fresh();
    await edus.typing(R, { room_id: ROOM, user_id: REM, typing: true });
    assert.deepEqual(typers(ROOM), [REM]);
    assert.deepEqual([...pending.values()].map((p) => p.ms), [FEDERATED_TYPING_MS]);
    await edus.typing(R, { room_id: ROOM, user_id: REM, typing: false });
    assert.deepEqual(typers(ROOM), []);
    assert.deepEqual(logged, []);
  });

  it("lets a remote user's typing run out after FEDERATED_TYPING_MS when no new EDU comes", async () => {
    fresh();
    await edus.typing(R, { room_id: ROOM, user_id: REM, typing: true });
    for (const p of [...pending.values()]) p.fn();
    assert.deepEqual(typers(ROOM), []);
  });

  it("drops typing of a user of another server (step 2), of a user who left (step 4), in a room whose ACL denies the origin (step 3), and of a bad shape (step 1)", async () => {
    fresh();
    await edus.typing(R, { room_id: ROOM, user_id: ALICE, typing: true });
    await edus.typing(R, { room_id: ROOM, user_id: GONE, typing: true });
    await edus.typing(R, { room_id: ACL_ROOM, user_id: REM, typing: true });
    await edus.typing(R, { room_id: ROOM, user_id: REM, typing: "yes" });
    await edus.typing(R, { room_id: "room", user_id: REM, typing: true });
    assert.deepEqual(typers(ROOM), []);
    assert.deepEqual(typers(ACL_ROOM), []);
    const r = reasons();
    assert.equal(r.length, 5, JSON.stringify(logged));
    assert.match(r[0]!, /does not belong to r\.test/);
    assert.match(r[1]!, /is not joined/);
    assert.match(r[2]!, /server ACL .* denies r\.test/);
    assert.match(r[3]!, /typing must be a boolean/);
    assert.match(r[4]!, /room_id/);
    assert.ok(logged.every((l) => l["origin"] === R && l["edu_type"] === "m.typing"));
  });

  const receipt = (user: string, r: JsonObject, type = "m.read", room: string = ROOM): JsonObject => ({ [room]: { [type]: { [user]: r } } });

  it("stores a joined remote user's m.read receipt, its thread_id kept", async () => {
    fresh();
    await edus.receipts(R, receipt(REM, { event_ids: [EV], data: { ts: 7, thread_id: "main" } }));
    const got = await storage.receipts.get(ROOM, REM, "m.read", "main");
    assert.deepEqual({ ...got, position: 0 }, { roomId: ROOM, receiptType: "m.read", userId: REM, threadId: "main", eventId: EV, ts: 7, position: 0 });
    assert.deepEqual(logged, []);
  });

  it("drops m.read.private and unknown receipt types, receipts of other servers' or absent users, several event ids, a bad ts, and every receipt of a room whose ACL denies the origin", async () => {
    fresh();
    await edus.receipts(R, receipt(REM, { event_ids: [EV], data: { ts: 1 } }, "m.read.private"));
    await edus.receipts(R, receipt(REM, { event_ids: [EV], data: { ts: 1 } }, "m.fully_read"));
    await edus.receipts(R, receipt(ALICE, { event_ids: [EV], data: { ts: 1 } }));
    await edus.receipts(R, receipt(GONE, { event_ids: [EV], data: { ts: 1 } }));
    await edus.receipts(R, receipt(REM, { event_ids: [EV, "$other"], data: { ts: 1 } }));
    await edus.receipts(R, receipt(REM, { event_ids: [EV], data: { ts: 1.5 } }));
    await edus.receipts(R, receipt(REM, { event_ids: [EV], data: { ts: 1, thread_id: "nope" } }));
    await edus.receipts(R, receipt(REM, { event_ids: [EV], data: { ts: 1 } }, "m.read", ACL_ROOM));
    const r = reasons();
    assert.equal(r.length, 8, JSON.stringify(logged));
    assert.match(r[0]!, /m\.read\.private is not federated/);
    assert.match(r[1]!, /m\.fully_read is not federated/);
    assert.match(r[2]!, /does not belong/);
    assert.match(r[3]!, /not joined/);
    assert.match(r[4]!, /exactly one event id/);
    assert.match(r[5]!, /data\.ts must be an integer/);
    assert.match(r[6]!, /thread_id/);
    assert.match(r[7]!, /server ACL/);
    assert.equal(await storage.receipts.get(ROOM, REM, "m.read.private", null), null);
    assert.equal(await storage.receipts.get(ROOM, ALICE, "m.read", null), null);
    assert.equal(await storage.receipts.get(ROOM, GONE, "m.read", null), null);
    assert.equal(await storage.receipts.get(ACL_ROOM, REM, "m.read", null), null);
    const unthreaded = await storage.receipts.get(ROOM, REM, "m.read", null);
    assert.equal(unthreaded, null, "neither the two-event nor the bad-ts receipt was stored");
  });

  it("stores at most MAX_ENTRIES_PER_EDU receipts of one EDU", async () => {
    fresh();
    const users: Record<string, JsonObject> = {};
    for (let i = 0; i <= MAX_ENTRIES_PER_EDU; i++) users[`@u${i}:r.test`] = { event_ids: [EV], data: { ts: 1 } };
    await edus.receipts(R, { [ROOM]: { "m.read": users } });
    // None of them is joined: each of the first MAX is checked and dropped, the one past the limit is not looked at.
    assert.equal(logged.length, MAX_ENTRIES_PER_EDU + 1);
    assert.match(String(logged.at(-1)!["reason"]), /more than 1000 receipts/);
  });

  it("stores a remote user's presence with last_active_ts = now - last_active_ago, and drops other servers' users, users sharing no room, bad states, and everything when presence is disabled", async () => {
    fresh();
    await edus.presence(R, { push: [
      { user_id: REM, presence: "unavailable", status_msg: "away", last_active_ago: 2_000, currently_active: false },
      { user_id: ALICE, presence: "online", last_active_ago: 0 },
      { user_id: LONELY, presence: "online", last_active_ago: 0 },
      { user_id: REM, presence: "busy", last_active_ago: 0 },
      { user_id: REM, presence: "online", last_active_ago: -1 },
    ] });
    const p = await storage.presence.get(REM);
    assert.deepEqual({ state: p?.state, statusMsg: p?.statusMsg, lastActiveTs: p?.lastActiveTs }, { state: "unavailable", statusMsg: "away", lastActiveTs: now - 2_000 });
    assert.equal(await storage.presence.get(ALICE), null);
    assert.equal(await storage.presence.get(LONELY), null);
    const r = reasons();
    assert.equal(r.length, 4, JSON.stringify(logged));
    assert.match(r[0]!, /does not belong/);
    assert.match(r[1]!, /shares no room/);
    assert.match(r[2]!, /presence must be one of/);
    assert.match(r[3]!, /last_active_ago/);
    presenceEnabled = false;
    try {
      await edus.presence(R, { push: [{ user_id: REM, presence: "online", last_active_ago: 0 }] });
    } finally {
      presenceEnabled = true;
    }
    assert.equal((await storage.presence.get(REM))?.state, "unavailable");
    assert.match(reasons().at(-1)!, /presence\.enabled is false/);
  });
});
