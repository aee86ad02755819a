import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { stateKeyOf, type StateKey } from "../core/events/index.js";
import type { EventId, RoomId, ServerName } from "../core/ids/index.js";
import { systemClock } from "../app/clock.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import { PartialStateCompleter, completionDelta, completionServers } from "./partial-state.js";

const room = "!big:hs1.test" as RoomId;
const k = (user: string): StateKey => stateKeyOf("m.room.member", user);
const id = (s: string) => `$${s}` as EventId;

describe("completionDelta (step 3c)", () => {
  it("fills only the keys the partial state at the join lacked, and adds to current state only those it lacks too", () => {
    const create = stateKeyOf("m.room.create", "");
    const full = new Map([[create, id("c")], [k("@a:hs1.test"), id("a")], [k("@b:hs1.test"), id("b0")], [k("@me:hs2.test"), id("x")]]);
    const atJoin = new Map([[create, id("c")], [k("@me:hs2.test"), id("x")]]);
    // @b joined again after our join (received while partial): current state has the newer event.
    const current = new Map([...atJoin, [k("@b:hs1.test"), id("b1")]]);
    const d = completionDelta(full, atJoin, current);
    assert.deepEqual(d.fill, new Map([[k("@a:hs1.test"), id("a")], [k("@b:hs1.test"), id("b0")]]));
    assert.deepEqual(d.current, new Map([[k("@a:hs1.test"), id("a")]]), "the newer @b is kept");
  });
});

describe("completionServers (step 3a)", () => {
  it("asks the room id's server first, then the others, never this server, each once", () => {
    const rec = { roomId: room, joinEventId: id("j"), joinedTs: 0, serversInRoom: ["hs3.test", "hs2.test", "hs1.test", "hs3.test"] as ServerName[] };
    assert.deepEqual(completionServers(rec, "hs2.test" as ServerName), ["hs1.test", "hs3.test"]);
  });
});

describe("PartialStateCompleter.waitForComplete", () => {
  it("answers at once for a room that is not partial, and false after the bound for one that stays partial", async () => {
    const storage = await openSqliteStorage({ path: ":memory:" });
    try {
      let slept = 0;
      const completer = new PartialStateCompleter({
        serverName: "hs2.test" as ServerName, storage,
        remote: { keys: { getKeysForEvents: async () => new Map() }, client: { getStateIds: async () => { throw new Error("unused"); }, getState: async () => { throw new Error("unused"); }, getEvent: async () => { throw new Error("unused"); } } } as never,
        clock: { now: () => 0, sleep: async (ms) => { slept += ms; } },
        inRoomQueue: (_r, fn) => fn(), notify: () => {},
      });
      assert.equal(await completer.waitForComplete(room, 5_000), true);
      assert.equal(slept, 0, "no wait for a complete room");
      await storage.events.persistEvents({ events: [], receivedTs: 0, partialStateJoin: { roomId: room, joinEventId: id("j"), serversInRoom: ["hs1.test" as ServerName], joinedTs: 0 } });
      assert.equal(await completer.isPartial(room), true);
      assert.equal(await completer.waitForComplete(room, 5_000), false);
      assert.equal(slept, 5_000, "waited for the bound");
    } finally {
      await storage.close();
    }
  });
});

describe("PartialStateCompleter.stop", () => {
  it("ends a completion sleeping in its back-off and a /members wait at once, with the real clock's timers cleared", { timeout: 10_000 }, async () => {
    const storage = await openSqliteStorage({ path: ":memory:" });
    try {
      // The room row is absent, so each round fails at once (as an unreachable server would) and the loop backs off.
      let failed = 0;
      const completer = new PartialStateCompleter({
        serverName: "hs2.test" as ServerName, storage,
        remote: { keys: { getKeysForEvents: async () => new Map() }, client: { getStateIds: async () => { throw new Error("unused"); }, getState: async () => { throw new Error("unused"); }, getEvent: async () => { throw new Error("unused"); } } } as never,
        clock: systemClock, retryMinMs: 600_000, log: { warn: () => void failed++ } as never,
        inRoomQueue: (_r, fn) => fn(), notify: () => {},
      });
      const record = { roomId: room, joinEventId: id("j"), serversInRoom: ["hs1.test" as ServerName], joinedTs: 0 };
      await storage.events.persistEvents({ events: [], receivedTs: 0, partialStateJoin: record });
      completer.start(record);
      for (let i = 0; failed === 0 && i < 10_000; i++) await new Promise((r) => setImmediate(r));
      assert.equal(failed, 1, "the first round failed and the loop went to sleep");
      const waiting = completer.waitForComplete(room, 600_000);
      // The wait wakes the completion once (see "wake" below); it fails again and sleeps again.
      for (let i = 0; failed < 2 && i < 10_000; i++) await new Promise((r) => setImmediate(r));
      assert.equal(failed, 2);
      const timersBefore = process.getActiveResourcesInfo().filter((x) => x === "Timeout").length;
      assert.ok(timersBefore >= 2, `the back-off and the /members bound are timers (${timersBefore})`);
      completer.stop();
      await completer.whenIdle();
      assert.equal(await waiting, false, "the wait ends, the room still partial");
      assert.equal(failed, 2, "no further round after stop");
      const timersAfter = process.getActiveResourcesInfo().filter((x) => x === "Timeout").length;
      assert.equal(timersAfter, timersBefore - 2, "both timers cleared, none left to hold the process for minutes");
    } finally {
      await storage.close();
    }
  });
});

describe("PartialStateCompleter wake", () => {
  it("lets a /members wait cut a long back-off short, at most once per 30 s for a room", { timeout: 10_000 }, async () => {
    const storage = await openSqliteStorage({ path: ":memory:" });
    try {
      let failed = 0;
      let now = 1_000_000;
      const completer = new PartialStateCompleter({
        serverName: "hs2.test" as ServerName, storage,
        remote: { keys: { getKeysForEvents: async () => new Map() }, client: { getStateIds: async () => { throw new Error("unused"); }, getState: async () => { throw new Error("unused"); }, getEvent: async () => { throw new Error("unused"); } } } as never,
        clock: { now: () => now, sleep: systemClock.sleep }, retryMinMs: 600_000, log: { warn: () => void failed++ } as never,
        inRoomQueue: (_r, fn) => fn(), notify: () => {},
      });
      const record = { roomId: room, joinEventId: id("j"), serversInRoom: ["hs1.test" as ServerName], joinedTs: 0 };
      await storage.events.persistEvents({ events: [], receivedTs: 0, partialStateJoin: record });
      const rounds = async (n: number) => {
        for (let i = 0; failed < n && i < 10_000; i++) await new Promise((r) => setImmediate(r));
      };
      completer.start(record);
      await rounds(1);
      assert.equal(failed, 1, "the first round failed: a 10-minute back-off follows");
      assert.equal(await completer.waitForComplete(room, 50), false);
      await rounds(2);
      assert.equal(failed, 2, "the wait woke the completion for a second round");
      now += 1_000;
      assert.equal(await completer.waitForComplete(room, 50), false);
      await rounds(3);
      assert.equal(failed, 2, "a second wait within 30 s does not wake it again");
      now += 30_000;
      assert.equal(await completer.waitForComplete(room, 50), false);
      await rounds(3);
      assert.equal(failed, 3, "after 30 s a wait wakes it again");
      completer.stop();
      await completer.whenIdle();
    } finally {
      await storage.close();
    }
  });
});
