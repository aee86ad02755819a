/**
 * The room pipeline on a real SQLite storage: room creation for every room version, local events built over the
 * state before them and checked by the auth rules, one queue per room (a room's writes serialised into one chain,
 * other rooms not waiting), and profile changes reaching member events.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../core/clock.js";
import { signingKeyFromSeed } from "../core/crypto/keys.js";
import { MatrixError } from "../core/errors.js";
import { roomIdFromCreateEventId } from "../core/events/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../core/ids/index.js";
import { ROOM_VERSIONS } from "../core/room-versions/index.js";
import { parseCreateRoomRequest } from "../core/rooms/index.js";
import type { Storage } from "../storage/ports.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import { KeyedQueue } from "./keyed-queue.js";
import { MAX_PREV_EVENTS, buildLocalEvent } from "./local-event.js";
import { RoomService } from "./room-service.js";

const server = "zion.test" as ServerName;
const alice = "@alice:zion.test" as UserId;
const bob = "@bob:zion.test" as UserId;
let now = 1_764_000_000_000;
const clock: Clock = { now: () => now++, sleep: async () => {} };
const key = signingKeyFromSeed("k1", new Uint8Array(32).fill(7));

describe("RoomService", () => {
  let storage: Storage;
  let rooms: RoomService;
  const notified: Array<{ roomId: RoomId; ids: readonly EventId[] }> = [];
  before(async () => {
    storage = await openSqliteStorage({ path: ":memory:" });
    await storage.users.createUser({ userId: alice, passwordHash: null, createdTs: 0, displayname: "Alice" });
    await storage.users.createUser({ userId: bob, passwordHash: null, createdTs: 0, displayname: "Bob" });
    rooms = new RoomService({ serverName: server, signer: { serverName: server, key }, clock, storage, notifier: { notify: (_p, roomId, events) => notified.push({ roomId, ids: events.map((e) => e.eventId) }) } });
  });
  after(() => storage?.close());

  const create = (body: Record<string, unknown>, creator = alice) => rooms.createRoom(creator, parseCreateRoomRequest(body, creator, { defaultRoomVersion: "11" }));

  for (const version of ROOM_VERSIONS.keys()) {
    it(`creates a room of version ${version}: the planned chain persisted in one call, current state, creator joined, notified`, async () => {
      const before = notified.length;
      const roomId = await create({ room_version: version, preset: "public_chat", name: `v${version}` });
      const room = await storage.rooms.getRoom(roomId);
      assert.equal(room?.roomVersion, version);
      const state = await storage.rooms.getCurrentState(roomId);
      const createId = await storage.rooms.getCurrentStateEventId(roomId, "m.room.create", "");
      assert.ok(createId);
      if (version === "12") assert.equal(roomId, roomIdFromCreateEventId(createId), "a v12 room id is the create event's hash");
      else assert.match(roomId, /^![A-Za-z0-9_-]+:zion\.test$/);
      assert.equal(await rooms.membership(roomId, alice), "join");
      assert.ok(state.size >= 6, `state has ${state.size} entries`);
      const extremities = await storage.rooms.getForwardExtremities(roomId);
      assert.equal(extremities.length, 1, "the creation events form one chain");
      assert.equal(notified.length, before + 1);
      assert.equal(notified[notified.length - 1]!.ids.length, (await storage.events.getRoomEventsBetween(roomId, 0, Number.MAX_SAFE_INTEGER, 100)).length);
      // A message after creation cites the chain's end with depth + 1 and the auth events the spec selects.
      const msg = await rooms.send(roomId, { type: "m.room.message", sender: alice, content: { msgtype: "m.text", body: "hi" } });
      const last = (await storage.events.getPdus([extremities[0]!])).get(extremities[0]!)!;
      assert.deepEqual(msg.prevEvents, [last.eventId]);
      assert.equal(msg.depth, last.depth + 1);
      const authTypes = [...(await storage.events.getPdus(msg.authEvents)).values()].map((p) => p.type).sort();
      const expected = version === "12" ? ["m.room.member", "m.room.power_levels"] : ["m.room.create", "m.room.member", "m.room.power_levels"];
      assert.deepEqual(authTypes, expected);
    });
  }

  it("refuses an event the auth rules refuse with 403 naming the rule, and writes nothing", async () => {
    const roomId = await create({ preset: "private_chat" });
    const before = await storage.events.maxStreamOrdering();
    await assert.rejects(rooms.send(roomId, { type: "m.room.message", sender: bob, content: { body: "x" } }), (e: unknown) => e instanceof MatrixError && e.errcode === "M_FORBIDDEN" && /rule/.test(e.message));
    assert.equal(await storage.events.maxStreamOrdering(), before);
    await assert.rejects(rooms.join(roomId, bob), (e: unknown) => e instanceof MatrixError && e.errcode === "M_FORBIDDEN");
    await rooms.invite(roomId, alice, bob);
    await rooms.join(roomId, bob);
    assert.equal(await rooms.membership(roomId, bob), "join");
  });

  it("serialises one room's writes: 50 concurrent sends get distinct depths and form one linear chain", async () => {
    const roomId = await create({ preset: "public_chat" });
    const pdus = await Promise.all(Array.from({ length: 50 }, (_, i) => rooms.send(roomId, { type: "m.room.message", sender: alice, content: { body: `m${i}` } })));
    const depths = new Set(pdus.map((p) => p.depth));
    assert.equal(depths.size, 50);
    const byDepth = [...pdus].sort((a, b) => a.depth - b.depth);
    for (let i = 1; i < byDepth.length; i++) assert.deepEqual(byDepth[i]!.prevEvents, [byDepth[i - 1]!.eventId], `event at depth ${byDepth[i]!.depth} cites the one before`);
    assert.deepEqual(await storage.rooms.getForwardExtremities(roomId), [byDepth[49]!.eventId]);
  });

  it("writes concurrent client sends of one room in one storage call: each event cites the one before, every txn recorded, one notification", async () => {
    const roomId = await create({ preset: "public_chat" });
    let persistCalls = 0;
    const counting: Storage = { ...storage, events: { ...storage.events, persistEvents: (batch) => (persistCalls++, storage.events.persistEvents(batch)) } };
    const seen: EventId[][] = [];
    const batching = new RoomService({ serverName: server, signer: { serverName: server, key }, clock, storage: counting, notifier: { notify: (_p, _r, events) => seen.push(events.map((e) => e.eventId)) } });
    const txn = (i: number) => ({ userId: alice, deviceId: "DEV", endpoint: "send" as const, roomId, txnId: `batch-${i}` });
    const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => batching.sendOnce(txn(i), { type: "m.room.message", sender: alice, content: { body: `b${i}` } })));
    assert.equal(persistCalls, 1, "the 20 sends queued together are one write");
    const pdus = sent.map((r) => r.pdu!);
    for (let i = 1; i < pdus.length; i++) {
      assert.deepEqual(pdus[i]!.prevEvents, [pdus[i - 1]!.eventId], `send ${i} cites send ${i - 1}`);
      assert.equal(pdus[i]!.depth, pdus[i - 1]!.depth + 1);
    }
    assert.deepEqual(await storage.rooms.getForwardExtremities(roomId), [pdus[19]!.eventId]);
    assert.deepEqual(seen, [pdus.map((p) => p.eventId)]);
    for (let i = 0; i < 20; i++) assert.equal(await storage.roomClient.getClientTxn(txn(i)), pdus[i]!.eventId);
    const retry = await batching.sendOnce(txn(7), { type: "m.room.message", sender: alice, content: { body: "b7" } });
    assert.deepEqual(retry, { pdu: null, eventId: pdus[7]!.eventId });
  });

  it("refuses only the send the auth rules refuse in a batch; the next is built on the last one accepted", async () => {
    const roomId = await create({ preset: "private_chat" });
    const txn = (id: string, userId: UserId) => ({ userId, deviceId: "DEV", endpoint: "send" as const, roomId, txnId: id });
    const [first, refused, last] = await Promise.allSettled([
      rooms.sendOnce(txn("ok-1", alice), { type: "m.room.message", sender: alice, content: { body: "first" } }),
      rooms.sendOnce(txn("no", bob), { type: "m.room.message", sender: bob, content: { body: "not a member" } }),
      rooms.sendOnce(txn("ok-2", alice), { type: "m.room.message", sender: alice, content: { body: "last" } }),
    ]);
    assert.equal(refused.status, "rejected");
    assert.ok(refused.status === "rejected" && refused.reason instanceof MatrixError && refused.reason.errcode === "M_FORBIDDEN");
    assert.ok(first.status === "fulfilled" && last.status === "fulfilled");
    assert.deepEqual(last.value.pdu!.prevEvents, [first.value.eventId]);
    assert.equal(await storage.roomClient.getClientTxn(txn("no", bob)), null);
  });

  it("answers a client transaction repeated within one batch with the first send's event, written once", async () => {
    const roomId = await create({ preset: "public_chat" });
    const txn = { userId: alice, deviceId: "DEV", endpoint: "send" as const, roomId, txnId: "twice-in-a-batch" };
    const input = { type: "m.room.message", sender: alice, content: { body: "twice" } };
    const [a, b] = await Promise.all([rooms.sendOnce(txn, input), rooms.sendOnce(txn, input)]);
    assert.ok(a.pdu);
    assert.deepEqual(b, { pdu: null, eventId: a.eventId });
    const all = await storage.events.getRoomEventsBetween(roomId, 0, Number.MAX_SAFE_INTEGER, 100);
    assert.equal(all.filter((e) => e.pdu.content["body"] === "twice").length, 1);
  });

  it("lets another room write while one room's queue is held (rooms never wait on each other)", async () => {
    const a = await create({ preset: "public_chat" });
    const b = await create({ preset: "public_chat" });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const holding = rooms.queue.run(a, () => held);
    let aDone = false;
    const aSend = rooms.send(a, { type: "m.room.message", sender: alice, content: { body: "queued behind the hold" } }).then((p) => ((aDone = true), p));
    const bSend = await rooms.send(b, { type: "m.room.message", sender: alice, content: { body: "not waiting" } });
    assert.equal(bSend.roomId, b);
    assert.equal(aDone, false, "room A's write waits for its queue");
    release();
    await holding;
    assert.equal((await aSend).roomId, a);
  });

  it("updates the member event in every joined room when the profile changes", async () => {
    const r1 = await create({ preset: "public_chat" });
    const r2 = await create({ preset: "public_chat" });
    await storage.users.setProfile(alice, { displayname: "Alice Liddell" });
    const ids = await rooms.updateProfileInJoinedRooms(alice);
    assert.ok(ids.length >= 2);
    for (const r of [r1, r2]) assert.equal((await rooms.currentStateEvent(r, "m.room.member", alice))?.content["displayname"], "Alice Liddell");
  });

  it("returns the same event to a client retry after a crash that came right after the event was persisted", async () => {
    const roomId = await create({ preset: "private_chat" });
    const txn = { userId: alice, deviceId: "DEV", endpoint: "send" as const, roomId, txnId: "crash-1" };
    // The process dies once the persist call has committed, before anything else runs (before the reply).
    const crashing: Storage = {
      ...storage,
      events: {
        ...storage.events,
        persistEvents: async (batch) => {
          await storage.events.persistEvents(batch);
          throw new Error("crashed after the commit");
        },
      },
    };
    const doomed = new RoomService({ serverName: server, signer: { serverName: server, key }, clock, storage: crashing });
    const input = { type: "m.room.message", sender: alice, content: { msgtype: "m.text", body: "once" } };
    await assert.rejects(doomed.sendOnce(txn, input), /crashed after the commit/);
    const before = await storage.events.maxStreamOrdering();
    // The restarted server (a new service, empty queues) gets the client's retry.
    const restarted = new RoomService({ serverName: server, signer: { serverName: server, key }, clock, storage });
    const retry = await restarted.sendOnce(txn, input);
    assert.equal(retry.pdu, null, "the retry writes nothing");
    assert.equal(await storage.events.maxStreamOrdering(), before);
    const all = await storage.events.getRoomEventsBetween(roomId, 0, Number.MAX_SAFE_INTEGER, 100);
    const sent = all.filter((e) => e.pdu.content["body"] === "once");
    assert.equal(sent.length, 1, "one event for the transaction");
    assert.equal(retry.eventId, sent[0]!.pdu.eventId);
  });

  it("writes one event when two services (two processes) race the same client transaction", async () => {
    const roomId = await create({ preset: "private_chat" });
    const txn = { userId: alice, deviceId: "DEV", endpoint: "send" as const, roomId, txnId: "race-1" };
    const other = new RoomService({ serverName: server, signer: { serverName: server, key }, clock, storage });
    const input = { type: "m.room.message", sender: alice, content: { msgtype: "m.text", body: "raced" } };
    const [a, b] = await Promise.all([rooms.sendOnce(txn, input), other.sendOnce(txn, input)]);
    assert.equal(a.eventId, b.eventId);
    assert.equal([a.pdu, b.pdu].filter((p) => p !== null).length, 1, "exactly one of them wrote");
    const all = await storage.events.getRoomEventsBetween(roomId, 0, Number.MAX_SAFE_INTEGER, 100);
    assert.equal(all.filter((e) => e.pdu.content["body"] === "raced").length, 1);
  });
});

describe("buildLocalEvent", () => {
  it(`cites every extremity up to ${MAX_PREV_EVENTS} (the PDU limit), the deepest first (the oldest for a dummy event), and takes depth from the deepest`, async () => {
    const storage = await openSqliteStorage({ path: ":memory:" });
    try {
      await storage.users.createUser({ userId: alice, passwordHash: null, createdTs: 0 });
      const rooms = new RoomService({ serverName: server, signer: { serverName: server, key }, clock, storage });
      const roomId = await rooms.createRoom(alice, parseCreateRoomRequest({ preset: "public_chat" }, alice, { defaultRoomVersion: "10" }));
      const create = (await rooms.currentStateEvent(roomId, "m.room.create", ""))!;
      const member = (await rooms.currentStateEvent(roomId, "m.room.member", alice))!;
      const pl = (await rooms.currentStateEvent(roomId, "m.room.power_levels", ""))!;
      const state = new Map([create, member, pl].map((p) => [`${p.type}\u0000${p.stateKey}`, p]));
      assert.equal(MAX_PREV_EVENTS, 20);
      const fakes = Array.from({ length: 22 }, (_, i) => ({ ...member, eventId: `$fake${String(i).padStart(2, "0")}` as EventId, depth: 100 + i }));
      const build = (extremities: typeof fakes, oldestFirst = false) => buildLocalEvent(
        { rules: ROOM_VERSIONS.get("10")!, roomId, extremities, state: (k) => state.get(k), nowTs: 1, signer: { serverName: server, key }, mintEventId: () => "$x:zion.test", oldestFirst },
        { type: "m.room.message", sender: alice, content: { body: "merge" } },
      );
      const twelve = build(fakes.slice(0, 12));
      assert.deepEqual([...twelve.prevEvents].sort(), fakes.slice(0, 12).map((f) => f.eventId), "12 extremities: all cited");
      assert.equal(twelve.depth, 112);
      const pdu = build(fakes);
      assert.equal(pdu.prevEvents.length, MAX_PREV_EVENTS);
      assert.equal(pdu.depth, 122);
      assert.ok(!pdu.prevEvents.includes("$fake00" as EventId) && !pdu.prevEvents.includes("$fake01" as EventId), "the two shallowest are left for a later event");
      const dummy = build(fakes, true);
      assert.equal(dummy.prevEvents.length, MAX_PREV_EVENTS);
      assert.ok(!dummy.prevEvents.includes("$fake20" as EventId) && !dummy.prevEvents.includes("$fake21" as EventId), "oldest first: the two deepest are left");
      assert.equal(dummy.depth, 120, "depth still one more than the deepest cited");
    } finally {
      await storage.close();
    }
  });
});

describe("KeyedQueue", () => {
  it("runs one key's tasks in order even when one fails, and forgets idle keys", async () => {
    const q = new KeyedQueue();
    const order: number[] = [];
    const tasks = [1, 2, 3].map((n) => q.run("k", async () => {
      order.push(n);
      if (n === 2) throw new Error("fails");
      return n;
    }));
    const results = await Promise.allSettled(tasks);
    assert.deepEqual(order, [1, 2, 3]);
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
    await new Promise((r) => setImmediate(r));
    assert.equal(q.activeKeys, 0);
  });
});
