/**
 * partial-state.ts step 2 on a real SQLite storage: a remote member whose join the state lacks (as an omitted member
 * would be, known only as an outlier) sends a message citing that join as an auth event. In a partial-state room the
 * auth event stands in for the absent membership; in a complete room the message is rejected.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../core/clock.js";
import { signingKeyFromSeed } from "../core/crypto/keys.js";
import { buildPdu } from "../core/events/index.js";
import type { RoomId, ServerName, UserId } from "../core/ids/index.js";
import { roomVersion } from "../core/room-versions/index.js";
import { parseCreateRoomRequest } from "../core/rooms/index.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
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
const unused = async () => { throw new Error("not needed"); };

async function messageFromOmittedMember(partial: boolean) {
  const storage = await openSqliteStorage({ path: ":memory:" });
  try {
    await storage.users.createUser({ userId: alice, passwordHash: null, createdTs: 0 });
    const rooms = new RoomService({
      serverName: server, signer: { serverName: server, key }, clock, storage,
      remote: {
        keys: { getKeysForEvents: async (s, ids) => new Map(s === remote ? ids.filter((id) => id === remoteKey.keyId).map((id) => [id, { publicKey: remoteKey.publicKey }]) : []) },
        client: { getMissingEvents: unused, getEvent: unused, getStateIds: unused, getEventAuth: unused, makeJoin: unused, sendJoin: unused, queryDirectory: unused } as never,
      },
    });
    const roomId = (await rooms.createRoom(alice, parseCreateRoomRequest({ preset: "public_chat" }, alice, { defaultRoomVersion: "11" }))) as RoomId;
    const id = async (type: string, k = "") => (await storage.rooms.getCurrentStateEventId(roomId, type, k))!;
    const [create, pl, jr] = [await id("m.room.create"), await id("m.room.power_levels"), await id("m.room.join_rules")];
    const [last] = await storage.rooms.getForwardExtremities(roomId);
    const depth = (await storage.events.getPdus([last!])).get(last!)!.depth;
    const sign = { serverName: remote, key: remoteKey };
    // r's join, known as an outlier only: the room's state does not name r (as when the resident omitted it).
    const join = buildPdu(V11, { type: "m.room.member", stateKey: r, sender: r, roomId, content: { membership: "join" }, prevEvents: [create], authEvents: [create, pl, jr], depth: 2, originServerTs: now++ }, sign);
    await storage.events.persistEvents({
      events: [{ pdu: join, outlier: true }], receivedTs: now,
      ...(partial ? { partialStateJoin: { roomId, joinEventId: last!, serversInRoom: [remote], joinedTs: now } } : {}),
    });
    const msg = buildPdu(V11, { type: "m.room.message", sender: r, roomId, content: { msgtype: "m.text", body: "hi" }, prevEvents: [last!], authEvents: [create, pl, join.eventId], depth: depth + 1, originServerTs: now++ }, sign);
    const [res] = await rooms.ingestRemote(remote, [msg.raw]);
    return res!.outcome;
  } finally {
    await storage.close();
  }
}

describe("remote events in a partial-state room (partial-state.ts step 2)", () => {
  it("accepts a message whose sender's membership is absent from the state but among its auth events when the room is partial", async () => {
    const outcome = await messageFromOmittedMember(true);
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    assert.ok(!("softFailed" in outcome && outcome.softFailed), "nor soft-failed against the current state");
  });
  it("rejects the same message in a complete room (the sender is not in the room there)", async () => {
    const outcome = await messageFromOmittedMember(false);
    assert.equal(outcome.ok, false);
  });
});
