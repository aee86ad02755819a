/** Notifier rounds: each report opens one, so requests woken by one report can share reads made after it. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RoomId, UserId } from "../core/ids/index.js";
import { Notifier } from "./notifier.js";
import { ZERO_TOKEN } from "./token.js";

const timers = { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
const room = "!r:zion.test" as RoomId;

describe("Notifier.round", () => {
  it("counts every report, whether it wakes anyone or not, and the woken requests resume in the round of their report", async () => {
    const n = new Notifier(timers);
    assert.equal(n.round(), 0);
    n.notifyRoom("typing", room, 1);
    assert.equal(n.round(), 1, "a report nobody waits for opens a round too");
    const waits = ["@a:zion.test", "@b:zion.test"].map((u) => n.wait({ userId: u as UserId, rooms: new Set([room]), token: { ...ZERO_TOKEN, typing: 1 } }, 10_000).then((reason) => ({ reason, round: n.round() })));
    n.notifyUser("accountData", "@c:zion.test" as UserId, 4);
    n.notifyRoom("events", room, 7);
    assert.deepEqual(await Promise.all(waits), [{ reason: "notified", round: 3 }, { reason: "notified", round: 3 }]);
    n.notifyPresence("@a:zion.test" as UserId, [room], 2);
    assert.equal(n.round(), 5, "a presence report is one per user and room told");
  });
});
