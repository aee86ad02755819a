import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../core/clock.js";
import type { RoomId, ServerName, UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import { openSqliteStorage } from "../../storage/sqlite/index.js";
import { persistTestRoom } from "../../../test/harness/persisted-room.js";
import { EduRegistry } from "../../rooms/index.js";
import { Notifier, type NotifierTimers } from "../notifier.js";
import { TypingStream } from "../typing.js";
import { registerPresenceTypingReceiptEdus } from "./register.js";

const ROOM = "!room:a.test" as RoomId;
const ALICE = "@alice:a.test" as UserId;
const REM = "@rem:r.test" as UserId;
const timers: NotifierTimers = { setTimeout: () => 0, clearTimeout: () => {} };
const clock: Clock = { now: () => 10_000, sleep: async () => {} };
const settle = () => new Promise((r) => setTimeout(r, 20));

describe("registerPresenceTypingReceiptEdus", () => {
  it("registers m.typing, m.receipt and m.presence, and wraps the stores so a local m.read is queued and a remote one's write is not", async () => {
    const storage = await openSqliteStorage({ path: ":memory:" });
    try {
      await persistTestRoom(storage, ROOM, ALICE, [[REM, "join"]]);
      const notifier = new Notifier(timers);
      const typing = new TypingStream({ clock, timers, notifier });
      const edus = new EduRegistry();
      const sent: JsonObject[] = [];
      const r = registerPresenceTypingReceiptEdus({
        serverName: "a.test" as ServerName, edus, typing, storage, notifier, clock, timers,
        sender: { enqueueEdu: async (_to, edu) => void sent.push(edu) }, roomServers: { serversForRoom: async () => ["r.test" as ServerName] },
        presenceEnabled: true, sendPresenceToFederation: true, log: { info() {} },
      });
      assert.ok(["m.typing", "m.receipt", "m.presence"].every((t) => edus.has(t)));
      await r.receipts.put({ roomId: ROOM, userId: ALICE, receiptType: "m.read", threadId: null, eventId: "$e" as never, ts: 1 });
      await r.receipts.put({ roomId: ROOM, userId: ALICE, receiptType: "m.read.private", threadId: null, eventId: "$e" as never, ts: 1 });
      assert.deepEqual(sent.map((e) => e["edu_type"]), ["m.receipt"]);
      assert.equal((await storage.receipts.get(ROOM, ALICE, "m.read.private", null))?.eventId, "$e", "the private receipt is stored all the same");
      r.close();
      typing.close();
    } finally {
      await storage.close();
    }
  });

  it("stops the typing of a user whose membership is no longer join when the room pipeline reports it", async () => {
    const storage = await openSqliteStorage({ path: ":memory:" });
    try {
      const events = await persistTestRoom(storage, ROOM, ALICE, [[REM, "leave"]]);
      const leave = events.at(-1)!;
      assert.equal(leave.content["membership"], "leave");
      const notifier = new Notifier(timers);
      const typing = new TypingStream({ clock, timers, notifier });
      const r = registerPresenceTypingReceiptEdus({
        serverName: "a.test" as ServerName, edus: new EduRegistry(), typing, storage, notifier, clock, timers,
        sender: { enqueueEdu: async () => {} }, roomServers: { serversForRoom: async () => [] },
        presenceEnabled: true, sendPresenceToFederation: true, log: { info() {} },
      });
      typing.set(ROOM, REM, 60_000); // as an m.typing EDU from before the leave would
      notifier.notify(1, ROOM, [events[1]!]); // alice's join: nothing stops
      await settle();
      assert.equal(typing.isTyping(ROOM, REM), true);
      notifier.notify(2, ROOM, [leave]);
      await settle();
      assert.equal(typing.isTyping(ROOM, REM), false);
      r.close();
      typing.close();
    } finally {
      await storage.close();
    }
  });
});
