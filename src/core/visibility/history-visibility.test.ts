/**
 * History visibility, table-driven from the rules of
 * https://spec.matrix.org/v1.19/client-server-api/#room-history-visibility
 * ("Server behaviour": rules 1-5, then the special cases).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ServerName, UserId } from "../ids/index.js";
import {
  historyVisibilityOf,
  membershipOf,
  serverMaySeeEvent,
  userMaySeeEvent,
  type HistoryVisibility,
  type Membership,
  type VisibilityEvent,
} from "./history-visibility.js";

const ME = "@me:here.org" as UserId;
const MSG: VisibilityEvent = { type: "m.room.message", content: { body: "x" } };

type Row = [HistoryVisibility, Membership | null, Membership | null, boolean, string];
// [visibility at the event, membership at the event, membership now, visible, rule]
const ROWS: Row[] = [
  ["world_readable", null, null, true, "1: world_readable"],
  ["world_readable", "leave", "ban", true, "1: world_readable"],
  ["joined", "join", "leave", true, "2: joined at the event"],
  ["invited", "join", null, true, "2: joined at the event"],
  ["shared", "join", "ban", true, "2: joined at the event"],
  ["shared", null, "join", true, "3: shared and joined since"],
  ["shared", "leave", "join", true, "3: shared and joined since"],
  ["shared", null, "invite", false, "5: otherwise deny"],
  ["shared", null, null, false, "5: otherwise deny"],
  ["shared", "invite", "leave", false, "5: otherwise deny"],
  ["invited", "invite", "leave", true, "4: invited at the event under invited"],
  ["invited", "invite", "join", true, "4: invited at the event under invited"],
  ["invited", null, "join", false, "5: otherwise deny"],
  ["invited", "knock", "join", false, "5: otherwise deny"],
  ["joined", "invite", "join", false, "5: otherwise deny"],
  ["joined", null, "join", false, "5: otherwise deny"],
  ["joined", "leave", "join", false, "5: otherwise deny"],
  ["joined", "ban", null, false, "5: otherwise deny"],
];

describe("userMaySeeEvent", () => {
  for (const [vis, at, now, visible, rule] of ROWS) {
    it(`${visible ? "shows" : "hides"} a message under ${vis} to a user ${at ?? "absent"} at it and ${now ?? "absent"} now (rule ${rule})`, () => {
      assert.deepEqual(userMaySeeEvent({ userId: ME, event: MSG, historyVisibility: vis, membershipAtEvent: at, currentMembership: now }), { visible, rule });
    });
  }

  it("shows a shared event to a user who joined after it and has left, when the caller says so (rule 3)", () => {
    const v = userMaySeeEvent({ userId: ME, event: MSG, historyVisibility: "shared", membershipAtEvent: null, currentMembership: "leave", joinedAfterEvent: true });
    assert.deepEqual(v, { visible: true, rule: "3: shared and joined since" });
    assert.equal(userMaySeeEvent({ userId: ME, event: MSG, historyVisibility: "shared", membershipAtEvent: null, currentMembership: "leave" }).visible, false);
  });

  describe("special case: m.room.history_visibility events are visible if the visibility before or after allows", () => {
    const hv = (to: string): VisibilityEvent => ({ type: "m.room.history_visibility", state_key: "", content: { history_visibility: to } });
    it("shows a change from world_readable to joined to a non-member", () => {
      assert.equal(userMaySeeEvent({ userId: ME, event: hv("joined"), historyVisibility: "world_readable", membershipAtEvent: null, currentMembership: null }).visible, true);
    });
    it("shows a change from joined to world_readable to a non-member", () => {
      const v = userMaySeeEvent({ userId: ME, event: hv("world_readable"), historyVisibility: "joined", membershipAtEvent: null, currentMembership: null });
      assert.deepEqual(v, { visible: true, rule: "1: world_readable" });
    });
    it("hides a change from joined to shared from a non-member", () => {
      assert.equal(userMaySeeEvent({ userId: ME, event: hv("shared"), historyVisibility: "joined", membershipAtEvent: null, currentMembership: null }).visible, false);
    });
    it("does not apply to a history_visibility event with a non-empty state key", () => {
      const odd = { ...hv("world_readable"), state_key: "x" };
      assert.equal(userMaySeeEvent({ userId: ME, event: odd, historyVisibility: "joined", membershipAtEvent: null, currentMembership: null }).visible, false);
    });
  });

  describe("special case: the user's own m.room.member events are visible if the membership before or after allows", () => {
    const member = (who: string, membership: string): VisibilityEvent => ({ type: "m.room.member", state_key: who, content: { membership } });
    it("shows the user their own join under joined", () => {
      const v = userMaySeeEvent({ userId: ME, event: member(ME, "join"), historyVisibility: "joined", membershipAtEvent: "invite", currentMembership: "join" });
      assert.deepEqual(v, { visible: true, rule: "2: joined at the event" });
    });
    it("shows the user their own leave after being joined, under joined", () => {
      assert.equal(userMaySeeEvent({ userId: ME, event: member(ME, "leave"), historyVisibility: "joined", membershipAtEvent: "join", currentMembership: "leave" }).visible, true);
    });
    it("shows the user their own invite under invited", () => {
      assert.equal(userMaySeeEvent({ userId: ME, event: member(ME, "invite"), historyVisibility: "invited", membershipAtEvent: null, currentMembership: "invite" }).visible, true);
    });
    it("hides someone else's join under joined from a user who was not there", () => {
      assert.equal(userMaySeeEvent({ userId: ME, event: member("@other:here.org", "join"), historyVisibility: "joined", membershipAtEvent: null, currentMembership: "join" }).visible, false);
    });
    it("hides the user's own ban under joined when they were not joined before it", () => {
      assert.equal(userMaySeeEvent({ userId: ME, event: member(ME, "ban"), historyVisibility: "joined", membershipAtEvent: "leave", currentMembership: "ban" }).visible, false);
    });
  });
});

describe("historyVisibilityOf and membershipOf", () => {
  it("reads the four values and assumes shared when absent or not understood", () => {
    for (const v of ["world_readable", "shared", "invited", "joined"]) assert.equal(historyVisibilityOf({ history_visibility: v }), v);
    assert.equal(historyVisibilityOf(undefined), "shared");
    assert.equal(historyVisibilityOf({}), "shared");
    assert.equal(historyVisibilityOf({ history_visibility: "everyone" }), "shared");
    assert.equal(historyVisibilityOf({ history_visibility: 1 }), "shared");
    assert.equal(historyVisibilityOf([]), "shared");
  });
  it("reads memberships and gives null for unknown ones", () => {
    assert.equal(membershipOf({ membership: "knock" }), "knock");
    assert.equal(membershipOf({ membership: "JOIN" }), null);
    assert.equal(membershipOf(null), null);
  });
});

describe("serverMaySeeEvent", () => {
  const S = "there.org" as ServerName;
  const u = (l: string) => `@${l}:there.org` as UserId;
  const m = (...entries: [string, Membership][]) => new Map(entries.map(([l, x]) => [u(l), x]));
  type SRow = [HistoryVisibility, Map<UserId, Membership>, boolean];
  const SROWS: SRow[] = [
    ["world_readable", m(), true],
    ["shared", m(), true],
    ["invited", m(["a", "invite"]), true],
    ["invited", m(["a", "leave"], ["b", "join"]), true],
    ["invited", m(["a", "leave"], ["b", "knock"]), false],
    ["joined", m(["a", "invite"], ["b", "join"]), true],
    ["joined", m(["a", "invite"]), false],
    ["joined", m(), false],
  ];
  for (const [vis, ms, visible] of SROWS) {
    it(`${visible ? "shows" : "hides"} a message under ${vis} to a server whose users were ${[...ms.values()].join(", ") || "absent"}`, () => {
      assert.equal(serverMaySeeEvent({ server: S, event: MSG, historyVisibility: vis, membershipsAtEvent: ms }).visible, visible);
    });
  }
  it("shows the join of one of its users under joined (the member special case)", () => {
    const ev: VisibilityEvent = { type: "m.room.member", state_key: u("a"), content: { membership: "join" } };
    assert.equal(serverMaySeeEvent({ server: S, event: ev, historyVisibility: "joined", membershipsAtEvent: m(["a", "invite"]) }).visible, true);
    const theirs: VisibilityEvent = { type: "m.room.member", state_key: "@x:elsewhere.org", content: { membership: "join" } };
    assert.equal(serverMaySeeEvent({ server: S, event: theirs, historyVisibility: "joined", membershipsAtEvent: m(["a", "invite"]) }).visible, false);
  });
  it("shows a change to world_readable under joined (the history_visibility special case)", () => {
    const ev: VisibilityEvent = { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "world_readable" } };
    assert.equal(serverMaySeeEvent({ server: S, event: ev, historyVisibility: "joined", membershipsAtEvent: m() }).visible, true);
  });
  it("does not count a user whose server name only ends like the asking server's", () => {
    const ev: VisibilityEvent = { type: "m.room.member", state_key: "@a:notthere.org", content: { membership: "join" } };
    assert.equal(serverMaySeeEvent({ server: S, event: ev, historyVisibility: "joined", membershipsAtEvent: m() }).visible, false);
  });
});
