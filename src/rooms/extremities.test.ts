import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EventId, RoomId } from "../core/ids/index.js";
import { ExtremityMerger, type MergeTimers } from "./extremities.js";

/** Timers the test fires by hand. */
function manualTimers(): MergeTimers & { pending: Map<number, { fn: () => void; ms: number }>; fireAll(): void } {
  let next = 1;
  const pending = new Map<number, { fn: () => void; ms: number }>();
  return {
    pending,
    setTimeout: (fn, ms) => { pending.set(next, { fn, ms }); return next++; },
    clearTimeout: (h) => void pending.delete(h as number),
    fireAll() { const all = [...pending.values()]; pending.clear(); for (const t of all) t.fn(); },
  };
}

const room = "!r:zion.test" as RoomId;

describe("ExtremityMerger", () => {
  it("arms one check per room only when a room is over the threshold, after the delay", () => {
    const timers = manualTimers();
    const m = new ExtremityMerger({ threshold: 10, delayMs: 1234, timers }, { extremityCount: async () => 0, sendDummyEvent: async () => null });
    m.note(room, 10);
    assert.equal(timers.pending.size, 0, "10 is not over the threshold of 10");
    m.note(room, 11);
    m.note(room, 30);
    assert.equal(timers.pending.size, 1, "armed once");
    assert.equal([...timers.pending.values()][0]!.ms, 1234);
  });

  it("sends dummy events until at most the threshold remain, re-reading the count each time (a local event may have merged them)", async () => {
    let count = 45;
    const sent: number[] = [];
    const m = new ExtremityMerger({ threshold: 10, delayMs: 1, timers: manualTimers() }, {
      extremityCount: async () => count,
      // Each dummy cites up to 20 and becomes one extremity itself.
      sendDummyEvent: async () => { sent.push(count); count = count - Math.min(20, count) + 1; return "$d" as EventId; },
    });
    assert.equal(await m.check(room), 2);
    assert.deepEqual(sent, [45, 26], "45 -> 26 -> 7: two dummies, then 7 is under the threshold");
    assert.equal(count, 7);
  });

  it("stops when no local member may send one, and sends nothing once closed", async () => {
    let asked = 0;
    const timers = manualTimers();
    const m = new ExtremityMerger({ threshold: 10, delayMs: 1, timers }, { extremityCount: async () => 50, sendDummyEvent: async () => { asked++; return null; } });
    assert.equal(await m.check(room), 0);
    assert.equal(asked, 1);
    m.note(room, 50);
    m.close();
    assert.equal(timers.pending.size, 0, "close() clears the armed check");
    assert.equal(await m.check(room), 0);
    assert.equal(asked, 1);
  });
});
