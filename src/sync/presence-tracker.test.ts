/**
 * PresenceTracker over real SQLite storage and a real Notifier, with a clock and timers the test moves: what a
 * sync's set_presence and PUT /presence store, which changes are told (a notifier report and a stream position)
 * and which are only kept, and the offline timer (src/sync/presence.ts).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UserId } from "../core/ids/index.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import { Notifier } from "./notifier.js";
import { combinedState, parseSetPresence, presenceChange, LAST_ACTIVE_GRANULARITY_MS, SYNC_ONLINE_TIMEOUT_MS } from "./presence.js";
import { PresenceTracker } from "./presence-tracker.js";

const ALICE = "@alice:zion.test" as UserId;

/** Timers that run when the test moves the clock past them. */
function manualTime(start = 1_000_000) {
  let now = start;
  let next = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  return {
    clock: { now: () => now, sleep: async () => {} },
    timers: {
      setTimeout: (fn: () => void, ms: number) => (pending.set(++next, { at: now + ms, fn }), next),
      clearTimeout: (h: unknown) => void pending.delete(h as number),
    },
    async advance(ms: number) {
      now += ms;
      for (const [h, t] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at > now) continue;
        pending.delete(h);
        t.fn();
      }
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    },
    pending: () => pending.size,
  };
}

async function setup(enabled = true) {
  const storage = await openSqliteStorage({ path: ":memory:" });
  const time = manualTime();
  const notifier = new Notifier(time.timers);
  const tracker = new PresenceTracker({ presence: storage.presence, rooms: storage.rooms, notifier, clock: time.clock, timers: time.timers, enabled });
  return { storage, time, notifier, tracker, get: () => storage.presence.get(ALICE) };
}

describe("combinedState", () => {
  it("is the highest of the devices' states, offline with none", () => {
    assert.equal(combinedState([]), "offline");
    assert.equal(combinedState([{ state: "unavailable", lastSeenTs: 9 }, { state: "online", lastSeenTs: 1 }, { state: "offline", lastSeenTs: 10 }]), "online");
    assert.equal(combinedState([{ state: "offline", lastSeenTs: 9 }, { state: "unavailable", lastSeenTs: 1 }]), "unavailable");
  });
});

describe("parseSetPresence", () => {
  it("takes absent as online, keeps the three states and refuses the rest naming set_presence", () => {
    assert.equal(parseSetPresence(undefined), "online");
    for (const s of ["online", "unavailable", "offline"]) assert.equal(parseSetPresence(s), s);
    for (const bad of ["busy", "", 3, null]) assert.throws(() => parseSetPresence(bad), (e: Error & { errcode?: string }) => e.errcode === "M_INVALID_PARAM" && /set_presence/.test(e.message));
  });
});

describe("presenceChange (Synapse's should_notify)", () => {
  const rec = (state: string, statusMsg: string | null, lastActiveTs: number) => ({ userId: ALICE, state, statusMsg, lastActiveTs, position: 1 });
  it("tells state and status message changes, keeps an online bump past the granularity, and ignores the rest", () => {
    assert.equal(presenceChange(null, { state: "online", statusMsg: null, lastActiveTs: 5 }), "told");
    assert.equal(presenceChange(null, { state: "offline", statusMsg: null, lastActiveTs: 5 }), "same");
    assert.equal(presenceChange(rec("online", null, 0), { state: "unavailable", statusMsg: null, lastActiveTs: 0 }), "told");
    assert.equal(presenceChange(rec("online", null, 0), { state: "online", statusMsg: "hi", lastActiveTs: 0 }), "told");
    assert.equal(presenceChange(rec("online", null, 0), { state: "online", statusMsg: null, lastActiveTs: LAST_ACTIVE_GRANULARITY_MS }), "same");
    assert.equal(presenceChange(rec("online", null, 0), { state: "online", statusMsg: null, lastActiveTs: LAST_ACTIVE_GRANULARITY_MS + 1 }), "kept");
    assert.equal(presenceChange(rec("unavailable", null, 0), { state: "unavailable", statusMsg: null, lastActiveTs: LAST_ACTIVE_GRANULARITY_MS + 1 }), "told", "a bump of a user not online is told");
  });
});

describe("PresenceTracker", () => {
  it("a first sync marks the user online and is told; repeat syncs are not, and a bump a minute on is kept without a position", async () => {
    const t = await setup();
    const round0 = t.notifier.round();
    (await t.tracker.syncing(ALICE, "PHONE", "online"))();
    const first = await t.get();
    assert.equal(first?.state, "online");
    assert.equal(t.notifier.round(), round0 + 1, "the first sync is reported");
    for (let i = 0; i < 3; i++) (await t.tracker.syncing(ALICE, "PHONE", "online"))();
    assert.equal(t.notifier.round(), round0 + 1, "repeat syncs report nothing");
    assert.equal((await t.get())?.position, first!.position, "nor take a stream position");
    const end = await t.tracker.syncing(ALICE, "PHONE", "online");
    await t.time.advance(LAST_ACTIVE_GRANULARITY_MS + 1);
    end();
    (await t.tracker.syncing(ALICE, "PHONE", "online"))();
    const bumped = await t.get();
    assert.equal(bumped?.position, first!.position, "the bump takes no position");
    assert.equal(bumped?.lastActiveTs, t.time.clock.now(), "but the last activity is kept");
    assert.equal(t.notifier.round(), round0 + 1);
  });

  it("set_presence=offline records nothing and does not count as syncing", async () => {
    const t = await setup();
    const end = await t.tracker.syncing(ALICE, "PHONE", "offline");
    assert.equal(await t.get(), null);
    assert.equal(t.tracker.isSyncing(ALICE), false);
    end();
    assert.equal(t.time.pending(), 0, "no offline timer");
  });

  it("a sync's online replaces an explicit unavailable and keeps its status message (the spec and Synapse)", async () => {
    const t = await setup();
    await t.tracker.set(ALICE, "PHONE", "unavailable", "lunch");
    (await t.tracker.syncing(ALICE, "PHONE", "online"))();
    const p = await t.get();
    assert.equal(p?.state, "online");
    assert.equal(p?.statusMsg, "lunch");
    (await t.tracker.syncing(ALICE, "PHONE", "unavailable"))();
    assert.equal((await t.get())?.state, "unavailable", "set_presence=unavailable marks the user idle");
  });

  it("goes offline SYNC_ONLINE_TIMEOUT_MS after the last sync ended, not while one is under way, and a new sync brings it back", async () => {
    const t = await setup();
    const long = await t.tracker.syncing(ALICE, "PHONE", "online");
    (await t.tracker.syncing(ALICE, "PHONE", "online"))();
    await t.time.advance(SYNC_ONLINE_TIMEOUT_MS * 3);
    assert.equal((await t.get())?.state, "online", "a sync is still under way");
    long();
    await t.time.advance(SYNC_ONLINE_TIMEOUT_MS - 1);
    assert.equal((await t.get())?.state, "online");
    const round = t.notifier.round();
    await t.time.advance(2);
    assert.equal((await t.get())?.state, "offline");
    assert.equal(t.notifier.round(), round + 1, "going offline is told");
    (await t.tracker.syncing(ALICE, "PHONE", "online"))();
    assert.equal((await t.get())?.state, "online");
  });

  it("an explicit online without syncs times out as Synapse's does, a later sync cancelling the timer; close stops it", async () => {
    const t = await setup();
    await t.tracker.set(ALICE, "PHONE", "online", "here");
    await t.time.advance(SYNC_ONLINE_TIMEOUT_MS + 1);
    const off = await t.get();
    assert.equal(off?.state, "offline");
    assert.equal(off?.statusMsg, "here", "the status message stays");
    await t.tracker.set(ALICE, "PHONE", "online", undefined);
    const end = await t.tracker.syncing(ALICE, "PHONE", "online");
    await t.time.advance(SYNC_ONLINE_TIMEOUT_MS * 2);
    assert.equal((await t.get())?.state, "online");
    end();
    t.tracker.close();
    assert.equal(t.time.pending(), 0);
  });

  it("takes the user's state from their devices' (online over unavailable), each device timing out on its own", async () => {
    const t = await setup();
    const desk = await t.tracker.syncing(ALICE, "DESK", "unavailable");
    assert.equal((await t.get())?.state, "unavailable");
    (await t.tracker.syncing(ALICE, "PHONE", "online"))();
    assert.equal((await t.get())?.state, "online");
    const round = t.notifier.round();
    for (let i = 0; i < 3; i++) {
      (await t.tracker.syncing(ALICE, "DESK", "unavailable"))();
      (await t.tracker.syncing(ALICE, "PHONE", "online"))();
    }
    assert.equal(t.notifier.round(), round, "the two devices' syncs do not turn the state back and forth");
    await t.time.advance(SYNC_ONLINE_TIMEOUT_MS + 1);
    assert.equal((await t.get())?.state, "unavailable", "the phone stopped syncing: the desk's sync, still under way, is what is left");
    desk();
    await t.time.advance(SYNC_ONLINE_TIMEOUT_MS + 1);
    assert.equal((await t.get())?.state, "offline");
  });

  it("records nothing with presence disabled", async () => {
    const t = await setup(false);
    (await t.tracker.syncing(ALICE, "PHONE", "online"))();
    await t.tracker.set(ALICE, "PHONE", "online", "x");
    assert.equal(await t.get(), null);
  });
});

describe("PresenceTracker.resume (start-up)", () => {
  it("takes a local user stored online after a restart offline once the timeout passes without a sync, and tells it", async () => {
    const { storage, time, tracker, get } = await setup();
    try {
      const BOB = "@bob:zion.test" as UserId;
      const REMOTE = "@carol:other.test" as UserId;
      await storage.presence.put(ALICE, "online", "here", time.clock.now());
      await storage.presence.put(BOB, "unavailable", null, time.clock.now());
      await storage.presence.put(REMOTE, "online", null, time.clock.now());
      // A new tracker is what a restart leaves: nothing in memory.
      assert.equal(await tracker.resume("zion.test"), 2, "both local users who are not offline, not the remote one");
      const before = (await get())!.position;
      await time.advance(SYNC_ONLINE_TIMEOUT_MS - 1);
      assert.equal((await get())!.state, "online", "still online within the grace a reconnecting client has");
      await time.advance(1);
      const after = (await get())!;
      assert.equal(after.state, "offline");
      assert.equal(after.statusMsg, "here", "the status message is kept");
      assert.ok(after.position > before, "told with a new position");
      assert.equal((await storage.presence.get(BOB))!.state, "offline");
      assert.equal((await storage.presence.get(REMOTE))!.state, "online", "a remote user's presence is its server's business");
    } finally {
      tracker.close();
      await storage.close();
    }
  });

  it("leaves online a resumed user whose client syncs again within the timeout", async () => {
    const { storage, time, tracker, get } = await setup();
    try {
      await storage.presence.put(ALICE, "online", null, time.clock.now());
      await tracker.resume("zion.test");
      await time.advance(SYNC_ONLINE_TIMEOUT_MS / 2);
      const end = await tracker.syncing(ALICE, "DEV", "online");
      await time.advance(SYNC_ONLINE_TIMEOUT_MS);
      assert.equal((await get())!.state, "online", "the sync under way keeps the user online: the resume timer is gone");
      end();
    } finally {
      tracker.close();
      await storage.close();
    }
  });
});
