/**
 * Step b of the remote pipeline on a real SQLite storage, with the origin played by an in-memory client that
 * answers /get_missing_events as a server does (walking back from latest_events, never below min_depth, at most
 * `limit`, oldest first): a gap longer than one request is walked request after request, within the transaction's
 * budget, and min_depth is the lowest depth Zion holds in the room's timeline.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../core/clock.js";
import { signingKeyFromSeed } from "../core/crypto/keys.js";
import { buildPdu, stateKeyOf, type Pdu, type StateKey } from "../core/events/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../core/ids/index.js";
import { roomVersion, type RoomVersionRules } from "../core/room-versions/index.js";
import { parseCreateRoomRequest } from "../core/rooms/index.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import { MISSING_EVENTS_BUDGET, MISSING_EVENTS_LIMIT, type RemoteEventClient } from "./remote-event.js";
import type { PersistBatch, Storage } from "../storage/ports.js";
import { TransactionGate, type TransactionAnswer } from "./transaction-gate.js";
import type { RoomNotifier } from "./notifier.js";
import { RoomService } from "./room-service.js";

const server = "zion.test" as ServerName;
const remote = "remote.test" as ServerName;
const alice = "@alice:zion.test" as UserId;
const r = "@r:remote.test" as UserId;
let now = 1_764_000_000_000;
const clock: Clock = { now: () => now++, sleep: async () => {} };
const key = signingKeyFromSeed("k1", new Uint8Array(32).fill(7));
const remoteKey = signingKeyFromSeed("r1", new Uint8Array(32).fill(9));
const V11 = roomVersion("11");

interface MissingEventsRequest {
  readonly latest: readonly EventId[];
  readonly limit: number;
  readonly minDepth: number | undefined;
}

/** The origin's copy of the room: every event by id, answering /get_missing_events by walking back over prev_events. */
function originClient(events: Map<EventId, Pdu>, requests: MissingEventsRequest[]): RemoteEventClient {
  return {
    async getMissingEvents(_dest, _room, q, _rules: RoomVersionRules) {
      requests.push({ latest: q.latestEvents, limit: q.limit, minDepth: q.minDepth });
      const stop = new Set(q.earliestEvents);
      const seen = new Set<EventId>(q.latestEvents);
      const out: Pdu[] = [];
      let frontier = [...q.latestEvents];
      while (frontier.length > 0 && out.length < q.limit) {
        const next: EventId[] = [];
        for (const id of frontier) {
          for (const prev of events.get(id)?.prevEvents ?? []) {
            if (seen.has(prev) || stop.has(prev) || !events.has(prev) || events.get(prev)!.depth < (q.minDepth ?? 0) || out.length >= q.limit) continue;
            seen.add(prev);
            out.push(events.get(prev)!);
            next.push(prev);
          }
        }
        frontier = next;
      }
      return out.sort((a, b) => a.depth - b.depth);
    },
    // /event answers what the origin holds; /event_auth it does not serve (as a server without it).
    getEvent: async (_dest, id) => {
      const e = events.get(id);
      if (!e) throw new Error(`404 M_NOT_FOUND ${id}`);
      return e;
    },
    getStateIds: async () => { throw new Error("the gap should be walked, not filled with /state_ids"); },
    getState: async () => { throw new Error("the gap should be walked, not filled with /state"); },
    getEventAuth: async () => { throw new Error("404 M_UNRECOGNIZED: no /event_auth here"); },
  };
}

async function roomWithRemoteMember(count: number, opts: { wrap?: (s: Storage) => Storage; notifier?: RoomNotifier } = {}) {
  const storage = await openSqliteStorage({ path: ":memory:" });
  await storage.users.createUser({ userId: alice, passwordHash: null, createdTs: 0 });
  const events = new Map<EventId, Pdu>();
  const requests: MissingEventsRequest[] = [];
  const rooms = new RoomService({
    serverName: server, signer: { serverName: server, key }, clock, storage: opts.wrap ? opts.wrap(storage) : storage,
    ...(opts.notifier ? { notifier: opts.notifier } : {}),
    remote: {
      keys: { getKeysForEvents: async (s, ids) => new Map(s === remote ? ids.filter((id) => id === remoteKey.keyId).map((id) => [id, { publicKey: remoteKey.publicKey }]) : []) },
      client: { ...originClient(events, requests), makeJoin: async () => { throw new Error("x"); }, sendJoin: async () => { throw new Error("x"); }, queryDirectory: async () => { throw new Error("x"); } } as never,
    },
  });
  const roomId = (await rooms.createRoom(alice, parseCreateRoomRequest({ preset: "public_chat" }, alice, { defaultRoomVersion: "11" }))) as RoomId;
  const id = async (type: string, k = "") => (await storage.rooms.getCurrentStateEventId(roomId, type, k))!;
  const [create, pl, jr] = [await id("m.room.create"), await id("m.room.power_levels"), await id("m.room.join_rules")];
  const [last] = await storage.rooms.getForwardExtremities(roomId);
  const lastPdu = (await storage.events.getPdus([last!])).get(last!)!;
  const sign = { serverName: remote, key: remoteKey };
  const join = buildPdu(V11, { type: "m.room.member", stateKey: r, sender: r, roomId, content: { membership: "join" }, prevEvents: [last!], authEvents: [create, pl, jr], depth: lastPdu.depth + 1, originServerTs: now++ }, sign);
  assert.deepEqual((await rooms.ingestRemote(remote, [join.raw])).map((x) => x.outcome.ok), [true]);
  // The origin's chain of `count` messages after the join, which Zion has not seen.
  let prev = join;
  const chain: Pdu[] = [];
  for (let i = 0; i < count; i++) {
    prev = buildPdu(V11, { type: "m.room.message", sender: r, roomId, content: { body: `m${i}` }, prevEvents: [prev.eventId], authEvents: [create, pl, join.eventId], depth: prev.depth + 1, originServerTs: now++ }, sign);
    chain.push(prev);
    events.set(prev.eventId, prev);
  }
  events.set(join.eventId, join);
  return { storage, rooms, roomId, chain, requests, join, events, auth: [create, pl, join.eventId] as EventId[], createAndPl: [create, pl] as EventId[] };
}

describe("remote events: filling missing prev events (step b)", () => {
  it(`walks a 95-event gap ${MISSING_EVENTS_LIMIT} events a request until it reaches what Zion holds: every event in the timeline, no /state_ids`, async () => {
    const { storage, rooms, chain, requests } = await roomWithRemoteMember(96);
    try {
      const newest = chain.at(-1)!;
      const [result] = await rooms.ingestRemote(remote, [newest.raw]);
      assert.equal(result!.outcome.ok, true, JSON.stringify(result));
      const stored = await storage.events.getEvents(chain.map((p) => p.eventId));
      assert.equal([...stored.values()].filter((e) => !e.outlier && !e.rejectionReason).length, 96, "all 96 in the timeline");
      assert.equal(requests.length, 5, "95 missing: 20 + 20 + 20 + 20 + 15");
      assert.ok(requests.every((q) => q.limit === MISSING_EVENTS_LIMIT));
      assert.deepEqual(requests[1]!.latest, [chain[75]!.eventId], "the second request walks on from the oldest event the first returned");
    } finally {
      await storage.close();
    }
  });

  it(`stops at the transaction's budget of ${MISSING_EVENTS_BUDGET} fetched events; the rest of the gap is the /state_ids path's`, async () => {
    const { storage, rooms, chain, requests } = await roomWithRemoteMember(MISSING_EVENTS_BUDGET + 30);
    try {
      const [result] = await rooms.ingestRemote(remote, [chain.at(-1)!.raw]);
      assert.equal(result!.outcome.ok, false, "the oldest fetched event's prev is a gap, and this origin cannot answer /state_ids");
      const fetched = requests.reduce((n, q) => n + q.limit, 0);
      assert.equal(fetched, MISSING_EVENTS_BUDGET, "never asks for more than the budget");
      assert.equal(requests.length, MISSING_EVENTS_BUDGET / MISSING_EVENTS_LIMIT);
    } finally {
      await storage.close();
    }
  });
});

/**
 * A room of remote.test that Zion joined: the room's state (create, r's join, power levels, join rules) stored as
 * outliers, as a remote join leaves it, alice's join the first timeline event; the origin holds `count` messages
 * after alice's join that Zion has not seen.
 */
async function joinedRemoteRoom(count: number) {
  const storage = await openSqliteStorage({ path: ":memory:" });
  await storage.users.createUser({ userId: alice, passwordHash: null, createdTs: 0 });
  const sign = { serverName: remote, key: remoteKey };
  const roomId = `!joined:${remote}` as RoomId;
  const events = new Map<EventId, Pdu>();
  const state = new Map<StateKey, EventId>();
  let prev: Pdu | undefined;
  const add = (type: string, sender: UserId, content: Record<string, unknown>, authEvents: EventId[], stateKey?: string, signer = sign) => {
    prev = buildPdu(V11, { type, ...(stateKey !== undefined ? { stateKey } : {}), sender, roomId, content: content as never, prevEvents: prev ? [prev.eventId] : [], authEvents, depth: (prev?.depth ?? 0) + 1, originServerTs: now++ }, signer);
    events.set(prev.eventId, prev);
    if (stateKey !== undefined) state.set(stateKeyOf(type, stateKey), prev.eventId);
    return prev;
  };
  const create = add("m.room.create", r, { room_version: "11" }, [], "");
  const rJoin = add("m.room.member", r, { membership: "join" }, [create.eventId], r);
  const pl = add("m.room.power_levels", r, { users: { [r]: 100 } }, [create.eventId, rJoin.eventId], "");
  const jr = add("m.room.join_rules", r, { join_rule: "public" }, [create.eventId, rJoin.eventId, pl.eventId], "");
  const stateBefore = new Map(state);
  const outliers = [...events.values()];
  const join = add("m.room.member", alice, { membership: "join" }, [create.eventId, pl.eventId, jr.eventId], alice, { serverName: server, key });
  await storage.events.persistEvents({
    events: [...outliers.map((pdu) => ({ pdu, outlier: true })), { pdu: join, stateBefore: { state: stateBefore } }],
    rooms: [{ roomId, roomVersion: "11", creator: r }],
    state: [{ roomId, replace: true, set: state }],
    receivedTs: now,
  });
  const chain: Pdu[] = [];
  for (let i = 0; i < count; i++) chain.push(add("m.room.message", r, { body: `m${i}` }, [create.eventId, pl.eventId, rJoin.eventId]));
  const requests: MissingEventsRequest[] = [];
  const rooms = new RoomService({
    serverName: server, signer: { serverName: server, key }, clock, storage,
    remote: {
      keys: { getKeysForEvents: async (s, ids) => new Map(s === remote ? ids.filter((id) => id === remoteKey.keyId).map((id) => [id, { publicKey: remoteKey.publicKey }]) : []) },
      client: { ...originClient(events, requests), makeJoin: async () => { throw new Error("x"); }, sendJoin: async () => { throw new Error("x"); }, queryDirectory: async () => { throw new Error("x"); } } as never,
    },
  });
  return { storage, rooms, roomId, chain, requests, join };
}

describe("remote events: the min_depth of /get_missing_events", () => {
  it("in a room Zion joined, asks for nothing below its join: min_depth is the join's depth (its state is outliers), not 0", async () => {
    const { storage, rooms, chain, requests, join } = await joinedRemoteRoom(3);
    try {
      const [result] = await rooms.ingestRemote(remote, [chain.at(-1)!.raw]);
      assert.equal(result!.outcome.ok, true, JSON.stringify(result));
      assert.equal(join.depth, 5, "create, r's join, power levels and join rules come before it");
      assert.deepEqual(requests.map((q) => q.minDepth), [join.depth]);
      const stored = await storage.events.getEvents(chain.map((p) => p.eventId));
      assert.equal([...stored.values()].filter((e) => !e.outlier && !e.rejectionReason).length, 3, "the gap is filled all the same");
    } finally {
      await storage.close();
    }
  });

  it("in a room created here, min_depth is the create event's depth, the lowest Zion holds", async () => {
    const { storage, rooms, roomId, chain, requests } = await roomWithRemoteMember(3);
    try {
      await rooms.ingestRemote(remote, [chain.at(-1)!.raw]);
      const createId = (await storage.rooms.getCurrentStateEventId(roomId, "m.room.create", ""))!;
      const createDepth = (await storage.events.getPdus([createId])).get(createId)!.depth;
      assert.ok(createDepth > 0, `the create event's depth is ${createDepth}`);
      assert.deepEqual(requests.map((q) => q.minDepth), [createDepth]);
    } finally {
      await storage.close();
    }
  });
});

describe("remote events: a transaction's PDUs of one room", () => {
  const sign = { serverName: remote, key: remoteKey };

  it("writes a room's 50 PDUs of one transaction in one storage call with one notification, each checked over the ones before it", async () => {
    let persistCalls = 0;
    const notified: EventId[][] = [];
    const { storage, rooms, roomId, join, auth, createAndPl } = await roomWithRemoteMember(0, {
      wrap: (s) => ({ ...s, events: { ...s.events, persistEvents: (batch) => (persistCalls++, s.events.persistEvents(batch)) } }),
      notifier: { notify: (_p, _r, events) => notified.push(events.map((e) => e.eventId)) },
    });
    try {
      persistCalls = 0;
      notified.length = 0;
      let prev = join;
      const pdus: Pdu[] = [];
      for (let i = 0; i < 49; i++) {
        prev = buildPdu(V11, { type: "m.room.message", sender: r, roomId, content: { body: `t${i}` }, prevEvents: [prev.eventId], authEvents: auth, depth: prev.depth + 1, originServerTs: now++ }, sign);
        pdus.push(prev);
      }
      // A sender who is not in the room, between them: rejected against its auth events, the others go on.
      const stranger = buildPdu(V11, { type: "m.room.message", sender: "@stranger:remote.test", roomId, content: { body: "no" }, prevEvents: [pdus[20]!.eventId], authEvents: createAndPl, depth: pdus[20]!.depth + 1, originServerTs: now++ }, sign);
      pdus.splice(21, 0, stranger);
      const results = await rooms.ingestRemote(remote, pdus.map((p) => p.raw));
      assert.equal(persistCalls, 1, "one write for the transaction");
      const accepted = pdus.filter((p) => p !== stranger).map((p) => p.eventId);
      assert.deepEqual(notified, [accepted], "one notification naming the accepted events in order");
      assert.deepEqual(results.map((x) => x.outcome.ok), pdus.map((p) => p !== stranger));
      const stored = await storage.events.getEvents(pdus.map((p) => p.eventId));
      assert.equal(stored.get(stranger.eventId)!.rejectionReason !== null, true, "the stranger's message is stored rejected");
      assert.equal([...stored.values()].filter((e) => !e.outlier && !e.rejectionReason && !e.softFailed).length, 49);
      assert.deepEqual(await storage.rooms.getForwardExtremities(roomId), [pdus.at(-1)!.eventId]);
      const before = await storage.state.getStateAtEvent(pdus.at(-1)!.eventId, "before");
      assert.equal(before?.get(`m.room.member\u0000${r}` as never), join.eventId, "the state before the last is the room's, member joined");
    } finally {
      await storage.close();
    }
  });

  it("writes the transaction's answer in the storage call of its PDUs, so a repeat is answered from storage without running again", async () => {
    const batches: PersistBatch[] = [];
    let stores = 0;
    const { storage, rooms, roomId, join, auth } = await roomWithRemoteMember(0, {
      wrap: (s) => ({ ...s, events: { ...s.events, persistEvents: (batch) => (batches.push(batch), s.events.persistEvents(batch)) } }),
    });
    try {
      batches.length = 0;
      const m1 = buildPdu(V11, { type: "m.room.message", sender: r, roomId, content: { body: "a" }, prevEvents: [join.eventId], authEvents: auth, depth: join.depth + 1, originServerTs: now++ }, sign);
      const m2 = buildPdu(V11, { type: "m.room.message", sender: r, roomId, content: { body: "b" }, prevEvents: [m1.eventId], authEvents: auth, depth: m1.depth + 1, originServerTs: now++ }, sign);
      const gate = new TransactionGate({ ...storage.transactions, storeTransactionResponse: (...a) => (stores++, storage.transactions.storeTransactionResponse(...a)) }, () => now);
      let runs = 0;
      const work = async (answer: TransactionAnswer) => {
        runs++;
        const results = await rooms.ingestRemote(remote, [m1.raw, m2.raw], { slot: answer, respond: (rs) => ({ pdus: Object.fromEntries(rs.map((x) => [x.eventId, x.outcome.ok ? {} : { error: "no" }])) }) });
        return { pdus: Object.fromEntries(results.map((x) => [x.eventId, {}])) };
      };
      const expected = { pdus: { [m1.eventId]: {}, [m2.eventId]: {} } };
      assert.deepEqual(await gate.once(remote, "t1", work), expected);
      assert.equal(batches.length, 1, "one write for the events and the answer");
      assert.deepEqual(batches[0]!.inboundTxn, { origin: remote, txnId: "t1", response: expected });
      assert.equal(stores, 0, "no second write for the answer");
      assert.deepEqual((await storage.transactions.getTransactionResponse(remote, "t1"))?.response, expected);
      assert.deepEqual(await gate.once(remote, "t1", work), expected, "the repeat gets the stored answer");
      assert.equal(runs, 1, "and is not processed again");
      // PDUs all known already: nothing to write, so the answer is stored by itself.
      assert.deepEqual(await gate.once(remote, "t2", work), expected);
      assert.equal(batches.length, 1);
      assert.equal(stores, 1);
    } finally {
      await storage.close();
    }
  });

  it("fetches an auth event it lacks with /event when the origin does not answer /event_auth, and judges the PDU on it", async () => {
    const { storage, rooms, roomId, join, createAndPl, events } = await roomWithRemoteMember(0);
    try {
      const s = "@s:remote.test" as UserId;
      const jr = (await storage.rooms.getCurrentStateEventId(roomId, "m.room.join_rules", ""))!;
      // s's join, which the origin holds and never sent; a message of s beside it (a fork from r's join) cites it.
      const sJoin = buildPdu(V11, { type: "m.room.member", stateKey: s, sender: s, roomId, content: { membership: "join" }, prevEvents: [join.eventId], authEvents: [...createAndPl, jr], depth: join.depth + 1, originServerTs: now++ }, sign);
      const said = buildPdu(V11, { type: "m.room.message", sender: s, roomId, content: { body: "hi" }, prevEvents: [join.eventId], authEvents: [...createAndPl, sJoin.eventId], depth: join.depth + 1, originServerTs: now++ }, sign);
      events.set(sJoin.eventId, sJoin);
      const [result] = await rooms.ingestRemote(remote, [said.raw]);
      assert.ok((await storage.events.haveEvents([sJoin.eventId])).has(sJoin.eventId), "the auth event was fetched with /event and stored");
      // It passes its auth events (s joined there); the state before it (r's join) has no s: refused on that, not on a fetch.
      assert.ok(result && !result.outcome.ok && result.outcome.error.includes("against the state before the event"), JSON.stringify(result?.outcome));
    } finally {
      await storage.close();
    }
  });

  it("applies a state change of the transaction to the PDUs after it: a message after its sender's leave is rejected, the leave is current state", async () => {
    const { storage, rooms, roomId, join, auth } = await roomWithRemoteMember(0);
    try {
      const m1 = buildPdu(V11, { type: "m.room.message", sender: r, roomId, content: { body: "before" }, prevEvents: [join.eventId], authEvents: auth, depth: join.depth + 1, originServerTs: now++ }, sign);
      const leave = buildPdu(V11, { type: "m.room.member", stateKey: r, sender: r, roomId, content: { membership: "leave" }, prevEvents: [m1.eventId], authEvents: auth, depth: m1.depth + 1, originServerTs: now++ }, sign);
      const after = [auth[0]!, auth[1]!, leave.eventId];
      const m2 = buildPdu(V11, { type: "m.room.message", sender: r, roomId, content: { body: "after" }, prevEvents: [leave.eventId], authEvents: after, depth: leave.depth + 1, originServerTs: now++ }, sign);
      // Citing the join as if the leave had not happened: passes its auth events, fails the state before it.
      const m3 = buildPdu(V11, { type: "m.room.message", sender: r, roomId, content: { body: "stale auth" }, prevEvents: [leave.eventId], authEvents: auth, depth: leave.depth + 1, originServerTs: now++ }, sign);
      const results = await rooms.ingestRemote(remote, [m1.raw, leave.raw, m2.raw, m3.raw]);
      assert.deepEqual(results.map((x) => [x.eventId, x.outcome.ok]), [[m1.eventId, true], [leave.eventId, true], [m2.eventId, false], [m3.eventId, false]]);
      const m3Outcome = results[3]!.outcome;
      assert.ok(!m3Outcome.ok && m3Outcome.error.includes("against the state before the event"), JSON.stringify(m3Outcome));
      assert.equal(await storage.rooms.getCurrentStateEventId(roomId, "m.room.member", r), leave.eventId);
      assert.deepEqual(await storage.rooms.getForwardExtremities(roomId), [leave.eventId]);
    } finally {
      await storage.close();
    }
  });
});
