import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../core/clock.js";
import type { EventId, RoomId, ServerName, UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { PresenceRecord } from "../../storage/ports.js";
import { Notifier, type NotifierTimers } from "../notifier.js";
import { TypingStream } from "../typing.js";
import { JOIN_PRESENCE_DELAY_MS, OutboundEdus, TYPING_PING_MS } from "./outbound.js";

const HS = "a.test" as ServerName;
const ROOM = "!room:a.test" as RoomId;
const OTHER_ROOM = "!other:a.test" as RoomId;
const ALICE = "@alice:a.test" as UserId;
const REM = "@rem:r.test" as UserId;

/** Timers that fire only when the test advances the fake time. */
function fakeTime() {
  let t = 0;
  let next = 1;
  const pending = new Map<number, { fn: () => void; at: number }>();
  const timers: NotifierTimers = {
    setTimeout: (fn, ms) => { pending.set(next, { fn, at: t + ms }); return next++; },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  const advance = (ms: number) => {
    t += ms;
    for (;;) {
      const due = [...pending.entries()].filter(([, p]) => p.at <= t).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) return;
      pending.delete(due[0]);
      due[1].fn();
    }
  };
  const clock: Clock = { now: () => t, sleep: async () => {} };
  return { timers, advance, clock };
}

const settle = () => new Promise((r) => setImmediate(r));

function setup(opts: { sendPresence?: boolean; servers?: Record<string, ServerName[]>; presence?: Record<string, PresenceRecord>; members?: UserId[] } = {}) {
  const time = fakeTime();
  const sent: Array<{ to: readonly ServerName[]; edu: JsonObject; persistent: boolean | undefined }> = [];
  const servers = opts.servers ?? { [ROOM]: ["r.test" as ServerName, "s.test" as ServerName], [OTHER_ROOM]: ["s.test" as ServerName, "t.test" as ServerName] };
  const typing = new TypingStream({ clock: time.clock, timers: time.timers, notifier: new Notifier(time.timers) });
  const out = new OutboundEdus({
    serverName: HS,
    sender: { enqueueEdu: async (to, edu, o) => void sent.push({ to, edu, persistent: o?.persistent }) },
    roomServers: { serversForRoom: async (r) => servers[r] ?? [] },
    rooms: { getRoomsForUser: async () => [ROOM, OTHER_ROOM] },
    roomClient: { getRoomMembers: async () => opts.members ?? [] },
    presence: { get: async (u) => opts.presence?.[u] ?? null },
    timers: time.timers,
    now: time.clock.now,
    isTyping: (r, u) => typing.isTyping(r, u),
    sendPresence: opts.sendPresence ?? true,
    log: { info() {} },
  });
  typing.onChange((r, u, t) => out.typingChanged(r, u, t));
  return { time, sent, typing, out };
}

const typingEdu = (typing: boolean) => ({ edu_type: "m.typing", content: { room_id: ROOM, user_id: ALICE, typing } });

describe("OutboundEdus", () => {
  it("sends m.typing (not persistent) to the room's servers when a local user starts and stops, not on a refresh", async () => {
    const { sent, typing, out } = setup();
    typing.set(ROOM, ALICE, 30_000);
    typing.set(ROOM, ALICE, 30_000);
    typing.set(ROOM, ALICE, null);
    await settle();
    assert.deepEqual(sent, [
      { to: ["r.test", "s.test"], edu: typingEdu(true), persistent: false },
      { to: ["r.test", "s.test"], edu: typingEdu(false), persistent: false },
    ]);
    out.close();
    typing.close();
  });

  it("repeats the start every TYPING_PING_MS while the user is still typing, and sends the stop when the typing times out", async () => {
    const { sent, typing, time, out } = setup();
    typing.set(ROOM, ALICE, 100_000);
    time.advance(TYPING_PING_MS);
    time.advance(TYPING_PING_MS);
    await settle();
    assert.deepEqual(sent.map((s) => s.edu), [typingEdu(true), typingEdu(true), typingEdu(true)]);
    time.advance(100_000 - 2 * TYPING_PING_MS); // the user's own timeout runs out
    await settle();
    assert.deepEqual(sent.at(-1)!.edu, typingEdu(false));
    const n = sent.length;
    time.advance(10 * TYPING_PING_MS);
    await settle();
    assert.equal(sent.length, n, "no repeat once stopped");
    out.close();
    typing.close();
  });

  it("never sends a remote user's typing (it came over federation)", async () => {
    const { sent, typing, out } = setup();
    typing.set(ROOM, REM, 30_000);
    typing.set(ROOM, REM, null);
    await settle();
    assert.deepEqual(sent, []);
    out.close();
    typing.close();
  });

  it("sends a local user's m.read as a persistent m.receipt in the spec's shape, thread_id kept, and never m.read.private nor a remote user's", async () => {
    const { sent, out } = setup();
    const base = { roomId: ROOM, userId: ALICE, eventId: "$e" as EventId, ts: 123 };
    await out.receiptStored({ ...base, receiptType: "m.read", threadId: null });
    await out.receiptStored({ ...base, receiptType: "m.read", threadId: "$root" });
    await out.receiptStored({ ...base, receiptType: "m.read.private", threadId: null });
    await out.receiptStored({ ...base, userId: REM, receiptType: "m.read", threadId: null });
    assert.deepEqual(sent, [
      { to: ["r.test", "s.test"], persistent: true, edu: { edu_type: "m.receipt", content: { [ROOM]: { "m.read": { [ALICE]: { event_ids: ["$e"], data: { ts: 123 } } } } } } },
      { to: ["r.test", "s.test"], persistent: true, edu: { edu_type: "m.receipt", content: { [ROOM]: { "m.read": { [ALICE]: { event_ids: ["$e"], data: { ts: 123, thread_id: "$root" } } } } } } },
    ]);
  });

  const rec = (state: string, lastActiveTs: number, statusMsg: string | null = null): PresenceRecord => ({ userId: ALICE, state, statusMsg, lastActiveTs, position: 1 });

  it("sends m.presence to the union of the servers of the user's rooms on a change, not on an online user's last-active bump", async () => {
    const { sent, out, time } = setup();
    time.advance(10_000);
    await out.presenceStored(null, rec("online", 9_000, "hi"));
    await out.presenceStored(rec("online", 9_000, "hi"), rec("online", 9_500, "hi"));
    await out.presenceStored(rec("online", 9_500, "hi"), rec("unavailable", 9_500, "hi"));
    await out.presenceStored(rec("unavailable", 9_500, "hi"), rec("unavailable", 9_900, "hi"));
    assert.deepEqual(sent, [
      { to: ["r.test", "s.test", "t.test"], persistent: false, edu: { edu_type: "m.presence", content: { push: [{ user_id: ALICE, presence: "online", last_active_ago: 1_000, currently_active: true, status_msg: "hi" }] } } },
      { to: ["r.test", "s.test", "t.test"], persistent: false, edu: { edu_type: "m.presence", content: { push: [{ user_id: ALICE, presence: "unavailable", last_active_ago: 500, currently_active: false, status_msg: "hi" }] } } },
      { to: ["r.test", "s.test", "t.test"], persistent: false, edu: { edu_type: "m.presence", content: { push: [{ user_id: ALICE, presence: "unavailable", last_active_ago: 100, currently_active: false, status_msg: "hi" }] } } },
    ]);
  });

  it("sends no presence when send_presence_to_federation (or presence.enabled) is off, nor to no server", async () => {
    const off = setup({ sendPresence: false });
    await off.out.presenceStored(null, rec("online", 0));
    assert.deepEqual(off.sent, []);
    const alone = setup({ servers: {} });
    await alone.out.presenceStored(null, rec("online", 0));
    await alone.out.receiptStored({ roomId: ROOM, userId: ALICE, eventId: "$e" as EventId, ts: 1, receiptType: "m.read", threadId: null });
    assert.deepEqual(alone.sent, []);
  });

  it("on a local user's join sends their presence to the room's servers, and JOIN_PRESENCE_DELAY_MS after a remote user's join the local members' presence to that server only", async () => {
    const BOB = "@bob:a.test" as UserId;
    const NEWCOMER = "@new:s.test" as UserId;
    const t = setup({
      presence: { [ALICE]: { userId: ALICE, state: "online", statusMsg: null, lastActiveTs: 0, position: 1 }, [BOB]: { userId: BOB, state: "unavailable", statusMsg: "brb", lastActiveTs: 0, position: 2 } },
      members: [ALICE, BOB, "@never:a.test" as UserId, REM, NEWCOMER],
    });
    await t.out.joined(ROOM, []);
    assert.equal(t.sent.length, 0, "no join, nothing sent");
    await t.out.joined(ROOM, [ALICE]);
    await t.out.joined(ROOM, [NEWCOMER]);
    assert.equal(t.sent.length, 1, "the remote join's push waits");
    t.time.advance(JOIN_PRESENCE_DELAY_MS);
    await settle();
    assert.deepEqual(t.sent.map((s) => ({ to: s.to, push: ((s.edu["content"] as JsonObject)["push"] as JsonObject[]).map((p) => [p["user_id"], p["presence"]]) })), [
      { to: ["r.test", "s.test"], push: [[ALICE, "online"]] },
      { to: ["s.test"], push: [[ALICE, "online"], [BOB, "unavailable"]] },
    ]);
    const off = setup({ sendPresence: false, presence: { [ALICE]: { userId: ALICE, state: "online", statusMsg: null, lastActiveTs: 0, position: 1 } } });
    await off.out.joined(ROOM, [ALICE]);
    assert.deepEqual(off.sent, []);
  });
});
