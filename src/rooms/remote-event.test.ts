/**
 * Step b of the remote pipeline on a real SQLite storage, with the origin played by an in-memory client that
 * answers /get_missing_events as a server does (walking back from latest_events, at most `limit`, oldest first):
 * a gap longer than one request is walked request after request, within the transaction's budget.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../core/clock.js";
import { signingKeyFromSeed } from "../core/crypto/keys.js";
import { buildPdu, type Pdu } from "../core/events/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../core/ids/index.js";
import { roomVersion, type RoomVersionRules } from "../core/room-versions/index.js";
import { parseCreateRoomRequest } from "../core/rooms/index.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import { MISSING_EVENTS_BUDGET, MISSING_EVENTS_LIMIT, type RemoteEventClient } from "./remote-event.js";
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

/** The origin's copy of the room: every event by id, answering /get_missing_events by walking back over prev_events. */
function originClient(events: Map<EventId, Pdu>, requests: Array<{ latest: readonly EventId[]; limit: number }>): RemoteEventClient {
  return {
    async getMissingEvents(_dest, _room, q, _rules: RoomVersionRules) {
      requests.push({ latest: q.latestEvents, limit: q.limit });
      const stop = new Set(q.earliestEvents);
      const seen = new Set<EventId>(q.latestEvents);
      const out: Pdu[] = [];
      let frontier = [...q.latestEvents];
      while (frontier.length > 0 && out.length < q.limit) {
        const next: EventId[] = [];
        for (const id of frontier) {
          for (const prev of events.get(id)?.prevEvents ?? []) {
            if (seen.has(prev) || stop.has(prev) || !events.has(prev) || out.length >= q.limit) continue;
            seen.add(prev);
            out.push(events.get(prev)!);
            next.push(prev);
          }
        }
        frontier = next;
      }
      return out.sort((a, b) => a.depth - b.depth);
    },
    getEvent: async () => { throw new Error("not needed"); },
    getStateIds: async () => { throw new Error("the gap should be walked, not filled with /state_ids"); },
    getEventAuth: async () => { throw new Error("not needed"); },
  };
}

async function roomWithRemoteMember(count: number) {
  const storage = await openSqliteStorage({ path: ":memory:" });
  await storage.users.createUser({ userId: alice, passwordHash: null, createdTs: 0 });
  const events = new Map<EventId, Pdu>();
  const requests: Array<{ latest: readonly EventId[]; limit: number }> = [];
  const rooms = new RoomService({
    serverName: server, signer: { serverName: server, key }, clock, storage,
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
  return { storage, rooms, roomId, chain, requests };
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
