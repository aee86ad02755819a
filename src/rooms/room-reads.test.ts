/**
 * RoomReads.visibleTo with what the caller knows (the history visibility at the events, read once for many users
 * by /sync, and the user's current membership): the same verdicts as reading everything per user.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../core/clock.js";
import { signingKeyFromSeed } from "../core/crypto/keys.js";
import type { Pdu } from "../core/events/index.js";
import type { RoomId, ServerName, UserId } from "../core/ids/index.js";
import { parseCreateRoomRequest } from "../core/rooms/index.js";
import type { Storage } from "../storage/ports.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import { RoomReads } from "./room-reads.js";
import { RoomService } from "./room-service.js";

const server = "zion.test" as ServerName;
const alice = "@alice:zion.test" as UserId;
const bob = "@bob:zion.test" as UserId;
let now = 1_764_000_000_000;
const clock: Clock = { now: () => now++, sleep: async () => {} };
const key = signingKeyFromSeed("k1", new Uint8Array(32).fill(9));

describe("RoomReads.visibleTo", () => {
  let storage: Storage;
  let rooms: RoomService;
  let reads: RoomReads;
  before(async () => {
    storage = await openSqliteStorage({ path: ":memory:" });
    for (const u of [alice, bob]) await storage.users.createUser({ userId: u, passwordHash: null, createdTs: 0 });
    rooms = new RoomService({ serverName: server, signer: { serverName: server, key }, clock, storage });
    reads = new RoomReads(storage);
  });
  after(() => storage?.close());

  /** A room whose history visibility is `vis`: alice's message, bob's join, alice's second message. */
  async function room(vis: string): Promise<{ roomId: RoomId; events: Pdu[] }> {
    const roomId = await rooms.createRoom(alice, parseCreateRoomRequest({ preset: "public_chat", initial_state: [{ type: "m.room.history_visibility", state_key: "", content: { history_visibility: vis } }] }, alice, { defaultRoomVersion: "11" }));
    const before = await rooms.send(roomId, { type: "m.room.message", sender: alice, content: { body: "before bob" } });
    await rooms.join(roomId, bob);
    const afterJoin = await rooms.send(roomId, { type: "m.room.message", sender: alice, content: { body: "after bob" } });
    return { roomId, events: [before, afterJoin] };
  }

  for (const [vis, bobSees] of [["joined", ["after bob"]], ["invited", ["after bob"]], ["shared", ["before bob", "after bob"]], ["world_readable", ["before bob", "after bob"]]] as const) {
    it(`gives a joined user the same events under ${vis} with the history visibility read once for everyone as when it reads all itself`, async () => {
      const { roomId, events } = await room(vis);
      const historyVisibility = await reads.historyVisibilityAt(events);
      assert.deepEqual([...historyVisibility.values()], [vis, vis]);
      const alone = await reads.visibleTo(bob, roomId, events);
      const knowing = await reads.visibleTo(bob, roomId, events, { currentMembership: "join", historyVisibility });
      assert.deepEqual(alone.map((p) => p.content["body"]), bobSees);
      assert.deepEqual(knowing.map((p) => p.content["body"]), bobSees);
      assert.deepEqual((await reads.visibleTo(alice, roomId, events, { currentMembership: "join", historyVisibility })).length, 2, "the creator was joined at both");
    });
  }
});
