/** LazyMembersSent: the member events each device was sent while lazy-loading members, and when they count. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EventId, RoomId, UserId } from "../core/ids/index.js";
import { LazyMembersSent } from "./lazy-members.js";

const ME = "@me:x.org" as UserId;
const R = "!r:x.org" as RoomId;
const R2 = "!r2:x.org" as RoomId;
const BOB = "@bob:x.org";
const E1 = "$e1" as EventId;
const E2 = "$e2" as EventId;

describe("LazyMembersSent", () => {
  it("counts a member event once a sync's since is at or past the response that carried it", () => {
    const sent = new LazyMembersSent();
    sent.forSync(ME, "D", 5).record(R, BOB, E1, 10);
    assert.ok(sent.forSync(ME, "D", 10).has(R, BOB, E1));
    assert.ok(sent.forSync(ME, "D", 12).has(R, BOB, E1));
    assert.ok(!sent.forSync(ME, "D", 12).has(R, BOB, E2), "another member event for bob: his membership changed");
    assert.ok(!sent.forSync(ME, "D", 12).has(R2, BOB, E1), "another room");
    assert.ok(!sent.forSync(ME, "OTHER", 12).has(R, BOB, E1), "another device");
  });

  it("drops what was sent after the since of a sync from an earlier position (a lost response), for good", () => {
    const sent = new LazyMembersSent();
    sent.forSync(ME, "D", 5).record(R, BOB, E1, 10);
    assert.ok(!sent.forSync(ME, "D", 5).has(R, BOB, E1), "the client syncs from before it: it may not have it");
    assert.ok(!sent.forSync(ME, "D", 20).has(R, BOB, E1), "the retry did not send it again: still not counted");
    assert.equal(sent.size().entries, 0);
  });

  it("starts a device afresh with an initial sync", () => {
    const sent = new LazyMembersSent();
    sent.forSync(ME, "D", 5).record(R, BOB, E1, 10);
    sent.forSync(ME, "D", null);
    assert.ok(!sent.forSync(ME, "D", 30).has(R, BOB, E1));
  });

  it("keeps the most recently used entries of a device and the most recently syncing devices within its limits", () => {
    const sent = new LazyMembersSent({ perDevice: 2, total: 3 });
    const d = sent.forSync(ME, "D", 0);
    d.record(R, "@a:x.org", E1, 1);
    d.record(R, "@b:x.org", E1, 1);
    assert.ok(sent.forSync(ME, "D", 1).has(R, "@a:x.org", E1), "touching a keeps it");
    sent.forSync(ME, "D", 1).record(R, "@c:x.org", E1, 2);
    const now = sent.forSync(ME, "D", 2);
    assert.deepEqual([now.has(R, "@a:x.org", E1), now.has(R, "@b:x.org", E1), now.has(R, "@c:x.org", E1)], [true, false, true]);
    sent.forSync(ME, "OTHER", 0).record(R, "@a:x.org", E1, 3);
    assert.deepEqual(sent.size(), { devices: 2, entries: 3 });
    sent.forSync(ME, "THIRD", 0).record(R, "@a:x.org", E1, 4);
    assert.deepEqual(sent.size(), { devices: 2, entries: 2 }, "over the total: the device idle longest (D) goes whole");
    assert.ok(!sent.forSync(ME, "D", 5).has(R, "@a:x.org", E1));
    assert.ok(sent.forSync(ME, "OTHER", 5).has(R, "@a:x.org", E1));
  });
});
