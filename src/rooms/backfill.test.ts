/**
 * Backfill (backfill.ts) on a real SQLite storage. Zion holds a room the way a remote join leaves it: the remote
 * room's state as outliers and our user's join in the timeline, its prev event unknown. The origin is played by an
 * in-memory client that answers /backfill as a server does (from the given events back over prev_events, at most
 * `limit`, newest first) and can hold its answer back or fail.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../core/clock.js";
import { signingKeyFromSeed } from "../core/crypto/keys.js";
import { buildPdu, stateKeyOf, type Pdu, type StateKey } from "../core/events/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../core/ids/index.js";
import { roomVersion, type RoomVersionRules } from "../core/room-versions/index.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import { BackfillMemo } from "./backfill.js";
import { RoomService } from "./room-service.js";

const server = "zion.test" as ServerName;
const remote = "remote.test" as ServerName;
const alice = "@alice:zion.test" as UserId;
const r = "@r:remote.test" as UserId;
const x = "@x:remote.test" as UserId;
let now = 1_764_000_000_000;
const clock: Clock = { now: () => now, sleep: async () => {} };
const key = signingKeyFromSeed("k1", new Uint8Array(32).fill(7));
const remoteKey = signingKeyFromSeed("r1", new Uint8Array(32).fill(9));

interface Origin {
  requests: number;
  stateRequests: number;
  /** When set, /state_ids waits for it before answering, having called `reached`. */
  hold?: Promise<void>;
  reached?: () => void;
  fail?: boolean;
}

/** The remote room (create, r's join, power levels, join rules, history visibility, `count` messages) and alice's join on Zion. */
async function joinedRemoteRoom(rules: RoomVersionRules, count: number, opts: { creatorInPowerLevels?: boolean; bannedSender?: boolean } = {}) {
  const storage = await openSqliteStorage({ path: ":memory:" });
  await storage.users.createUser({ userId: alice, passwordHash: null, createdTs: 0 });
  const sign = { serverName: remote, key: remoteKey };
  const v12 = rules.auth.createEventIsRoomId;
  const create = buildPdu(rules, { type: "m.room.create", stateKey: "", sender: r, ...(v12 ? {} : { roomId: `!room:${remote}` }), content: { creator: r, room_version: rules.id }, prevEvents: [], authEvents: [], depth: 1, originServerTs: now++ }, sign);
  const roomId = (v12 ? `!${create.eventId.slice(1)}` : `!room:${remote}`) as RoomId;
  const c = v12 ? [] : [create.eventId];
  const events = new Map<EventId, Pdu>([[create.eventId, create]]);
  const state = new Map<StateKey, EventId>([[stateKeyOf("m.room.create", ""), create.eventId]]);
  let prev = create;
  const add = (type: string, content: Record<string, unknown>, authEvents: EventId[], stateKey?: string, sender: UserId = r) => {
    prev = buildPdu(rules, { type, ...(stateKey !== undefined ? { stateKey } : {}), sender, roomId, content: content as never, prevEvents: [prev.eventId], authEvents, depth: prev.depth + 1, originServerTs: now++ }, sign);
    events.set(prev.eventId, prev);
    if (stateKey !== undefined) state.set(stateKeyOf(type, stateKey), prev.eventId);
    return prev;
  };
  const rJoin = add("m.room.member", { membership: "join" }, [...c], r);
  // Room version 12 refuses the creators in `users` (they outrank every level); earlier versions need them there.
  const pl = add("m.room.power_levels", { users: (opts.creatorInPowerLevels ?? !v12) ? { [r]: 100 } : {} }, [...c, rJoin.eventId], "");
  const jr = add("m.room.join_rules", { join_rule: "public" }, [...c, rJoin.eventId, pl.eventId], "");
  add("m.room.history_visibility", { history_visibility: "shared" }, [...c, rJoin.eventId, pl.eventId], "");
  // x joins, is banned by r, then sends a message whose auth events still cite the join: it passes its auth events
  // and fails against the state before it.
  let afterBan: Pdu | undefined;
  if (opts.bannedSender) {
    const xJoin = add("m.room.member", { membership: "join" }, [...c, jr.eventId, pl.eventId], x, x);
    add("m.room.member", { membership: "ban" }, [...c, rJoin.eventId, pl.eventId, xJoin.eventId], x);
    afterBan = add("m.room.message", { msgtype: "m.text", body: "after the ban" }, [...c, xJoin.eventId, pl.eventId], undefined, x);
  }
  const messages: Pdu[] = [];
  for (let i = 0; i < count; i++) messages.push(add("m.room.message", { msgtype: "m.text", body: `m${i}` }, [...c, rJoin.eventId, pl.eventId]));
  const stateEvents = [...state.values()].map((id) => events.get(id)!);
  const join = buildPdu(rules, { type: "m.room.member", stateKey: alice, sender: alice, roomId, content: { membership: "join" }, prevEvents: [prev.eventId], authEvents: [...c, jr.eventId, pl.eventId], depth: prev.depth + 1, originServerTs: now++ }, { serverName: server, key });
  const after = new Map(state).set(stateKeyOf("m.room.member", alice), join.eventId);
  await storage.events.persistEvents({
    events: [...stateEvents.map((pdu) => ({ pdu, outlier: true })), { pdu: join, stateBefore: { state } }],
    rooms: [{ roomId, roomVersion: rules.id, creator: r }],
    state: [{ roomId, replace: true, set: after }],
    receivedTs: now,
  });
  const origin: Origin = { requests: 0, stateRequests: 0 };
  const unused = async () => { throw new Error("not needed"); };
  const logged: string[] = [];
  const rooms = new RoomService({
    serverName: server, signer: { serverName: server, key }, clock, storage,
    backfillLog: { info: () => {}, warn: (o, msg) => void logged.push(`${msg} ${JSON.stringify(o)}`) },
    remote: {
      keys: { getKeysForEvents: async (s, ids) => new Map(s === remote ? ids.filter((id) => id === remoteKey.keyId).map((id) => [id, { publicKey: remoteKey.publicKey }]) : []) },
      client: {
        async backfill(_dest: ServerName, _room: RoomId, from: readonly EventId[], limit: number) {
          origin.requests++;
          if (origin.fail) throw new Error("connection refused");
          const out: Pdu[] = [];
          let frontier = [...from];
          while (frontier.length > 0 && out.length < limit) {
            const e = events.get(frontier.shift()!);
            if (!e || out.includes(e)) continue;
            out.push(e);
            frontier.push(...e.prevEvents);
          }
          return out;
        },
        // The state before an event of this linear room: the state events before it, the newest of each key.
        async getStateIds(_dest: ServerName, _room: RoomId, eventId: EventId) {
          origin.stateRequests++;
          origin.reached?.();
          if (origin.hold) await origin.hold;
          const before = new Map<StateKey, EventId>();
          for (const e of events.values()) {
            if (e.eventId === eventId) break;
            if (e.stateKey !== undefined) before.set(stateKeyOf(e.type, e.stateKey), e.eventId);
          }
          return { pduIds: [...before.values()], authChainIds: [] };
        },
        getMissingEvents: unused, getEvent: unused, getEventAuth: unused,
        makeJoin: unused, sendJoin: unused, queryDirectory: unused,
      } as never,
    },
  });
  return { storage, rooms, roomId, messages, stateEvents, origin, logged, afterBan };
}

describe("backfill", () => {
  it("holds the room's queue only to write: a local event is sent while the origin has not answered /state_ids yet", async () => {
    const { storage, rooms, roomId, messages, origin } = await joinedRemoteRoom(roomVersion("11"), 30);
    try {
      let release!: () => void;
      origin.hold = new Promise((res) => { release = res; });
      const reached = new Promise<void>((res) => { origin.reached = res; });
      const running = rooms.backfill(roomId, 10);
      await reached;
      const sent = await rooms.send(roomId, { type: "m.room.message", sender: alice, content: { msgtype: "m.text", body: "while backfilling" } });
      assert.ok(sent.eventId, "sent while the backfill waits for the network");
      release();
      assert.equal(await running, 10);
      const stored = await storage.events.getEvents(messages.slice(-10).map((m) => m.eventId));
      assert.deepEqual([...stored.values()].map((e) => [e.backfilled, e.outlier, e.rejectionReason ?? null]), Array(10).fill([true, false, null]));
    } finally {
      await storage.close();
    }
  });

  for (const version of ["11", "12"]) {
    it(`pages back to the create event in room version ${version}, then asks no more; the state the join brought stays accepted`, async () => {
      const { storage, rooms, roomId, messages, stateEvents, origin, logged } = await joinedRemoteRoom(roomVersion(version), 150);
      try {
        let total = 0;
        for (let round = 0; round < 10; round++) {
          const n = await rooms.backfill(roomId, 100);
          if (n === 0) break;
          total += n;
        }
        assert.equal(total, 150 + stateEvents.length, `every message and the state events, once: ${logged.join("\n")}`);
        const requests = origin.requests;
        assert.equal(origin.stateRequests, requests - 1, "one /state_ids per answer, for its oldest event, except the answer reaching the create event");
        assert.equal(await rooms.backfill(roomId, 100), 0);
        assert.equal(origin.requests, requests, "no gap left: nothing asked");
        const held = await storage.events.getEvents([...messages, ...stateEvents].map((p) => p.eventId));
        assert.deepEqual([...held.values()].filter((e) => e.rejectionReason || e.outlier).map((e) => [e.pdu.type, e.rejectionReason]), []);
        const joinRules = await storage.rooms.getCurrentStateEventId(roomId, "m.room.join_rules", "");
        assert.ok(joinRules && !(await storage.events.getEvents([joinRules])).get(joinRules)!.rejectionReason);
      } finally {
        await storage.close();
      }
    });
  }

  it("never overturns the verdict of an accepted outlier the room's state relies on; the events after it are left out", async () => {
    // A state event the join brought (accepted by the join's checks) that fails backfill's: room version 12 power
    // levels listing the creator.
    const { storage, rooms, roomId, messages, logged } = await joinedRemoteRoom(roomVersion("12"), 10, { creatorInPowerLevels: true });
    try {
      await rooms.backfill(roomId, 100);
      const pl = (await storage.rooms.getCurrentStateEventId(roomId, "m.room.power_levels", ""))!;
      const held = (await storage.events.getEvents([pl])).get(pl)!;
      assert.equal(held.rejectionReason ?? null, null, "still accepted");
      assert.equal(held.outlier, true, "left as it was");
      assert.ok(logged.some((l) => l.includes(pl) && l.includes("does not overturn")), logged.join("\n"));
      const after = await storage.events.getEvents(messages.map((m) => m.eventId));
      assert.equal([...after.values()].filter((e) => !e.outlier).length, 0, "the messages after it cannot be placed");
    } finally {
      await storage.close();
    }
  });

  it("rejects an event that passes its own auth events but fails against the state before it (a banned sender)", async () => {
    const { storage, rooms, roomId, messages, afterBan, logged } = await joinedRemoteRoom(roomVersion("11"), 5, { bannedSender: true });
    try {
      await rooms.backfill(roomId, 100);
      const held = (await storage.events.getEvents([afterBan!.eventId])).get(afterBan!.eventId);
      assert.ok(held && !held.outlier, "stored in the timeline");
      assert.match(held.rejectionReason ?? "", /against the state before the event/, logged.join("\n"));
      const later = await storage.events.getEvents(messages.map((m) => m.eventId));
      assert.equal([...later.values()].filter((e) => !e.outlier && !e.rejectionReason).length, 5, "the messages after it are accepted");
    } finally {
      await storage.close();
    }
  });

  it("does not ask again for a gap whose backfill failed until the memo forgets it", async () => {
    const { storage, rooms, roomId, origin } = await joinedRemoteRoom(roomVersion("11"), 5);
    try {
      origin.fail = true;
      for (let i = 0; i < 3; i++) assert.equal(await rooms.backfill(roomId, 10), 0);
      assert.equal(origin.requests, 1, "asked once for three /messages calls");
      origin.fail = false;
      now += 121_000;
      assert.equal(await rooms.backfill(roomId, 10), 5 + 5);
      assert.equal(origin.requests, 2);
    } finally {
      await storage.close();
    }
  });

  it("BackfillMemo forgets after its time and keeps at most its capacity, the oldest dropped first", () => {
    let t = 0;
    const memo = new BackfillMemo(() => t, 1000, 2);
    const k = (n: string) => BackfillMemo.keyOf("!r:x" as RoomId, [`$${n}` as EventId]);
    memo.remember(k("a"));
    assert.equal(memo.has(k("a")), true);
    t = 1000;
    assert.equal(memo.has(k("a")), false, "expired");
    memo.remember(k("a"));
    memo.remember(k("b"));
    memo.remember(k("c"));
    assert.equal(memo.size, 2);
    assert.deepEqual([memo.has(k("a")), memo.has(k("b")), memo.has(k("c"))], [false, true, true]);
    assert.equal(BackfillMemo.keyOf("!r:x" as RoomId, ["$b" as EventId, "$a" as EventId]), BackfillMemo.keyOf("!r:x" as RoomId, ["$a" as EventId, "$b" as EventId]), "order of the gap's events does not matter");
  });
});
