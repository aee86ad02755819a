/**
 * State resolution where the specification's text is ambiguous or silent and
 * Zion resolves as Synapse does, so that servers in one room compute one
 * state (docs/interop.md, docs/state-resolution.md). test/interop/convergence.test.ts
 * checks the same against Synapse's own functions on generated rooms.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runNow } from "../generator.js";
import { stateKeyOf, type Pdu, type StateKey } from "../events/pdu.js";
import type { EventId } from "../ids/index.js";
import { V1, V11, V12, type RoomVersionRules } from "../room-versions/rules.js";
import { authDifference } from "./auth-chain.js";
import { resolveState } from "./resolve.js";
import { mapSource } from "./source.js";
import { makePdu } from "../../../test/gen/pdu.js";

const ROOM = "!c:a.test"; // v12: the room id names the create event $c:a.test
const ALICE = "@alice:a.test";
const BOB = "@bob:b.test";
const CAROL = "@carol:c.test";
const DAN = "@dan:d.test";

class Room {
  readonly events = new Map<EventId, Pdu>();
  constructor(readonly rules: RoomVersionRules) {}
  add(id: string, type: string, sender: string, stateKey: string | undefined, content: Record<string, unknown>, auth: string[], opts: { depth?: number; ts?: number } = {}): string {
    const e = makePdu(this.rules, {
      id, roomId: ROOM, type, sender, stateKey, content: content as Pdu["content"], auth, prev: auth.slice(-1),
      depth: opts.depth ?? this.events.size + 1, ts: opts.ts ?? this.events.size + 1,
    });
    this.events.set(e.eventId, e);
    return id;
  }
  /** create, alice's join, power levels, public join rules, and joins of the given users (level from `levels`). */
  static basic(rules: RoomVersionRules, levels: Record<string, number>, extraPl: Record<string, unknown> = {}): Room {
    const r = new Room(rules);
    r.add("$c:a.test", "m.room.create", ALICE, "", { creator: ALICE }, []);
    r.add("$ja:a.test", "m.room.member", ALICE, ALICE, { membership: "join" }, ["$c:a.test"]);
    r.add("$p0:a.test", "m.room.power_levels", ALICE, "", { users: { [ALICE]: 100, ...levels }, ...extraPl }, ["$c:a.test", "$ja:a.test"]);
    r.add("$jr:a.test", "m.room.join_rules", ALICE, "", { join_rule: "public" }, ["$c:a.test", "$p0:a.test", "$ja:a.test"]);
    for (const u of Object.keys(levels)) {
      r.add(`$j-${u.slice(1, u.indexOf(":"))}:a.test`, "m.room.member", u, u, { membership: "join" }, ["$c:a.test", "$p0:a.test", "$jr:a.test"]);
    }
    return r;
  }
  /** A state set of the given event ids, plus the create event. */
  state(ids: string[]): Map<StateKey, EventId> {
    const out = new Map<StateKey, EventId>([[stateKeyOf("m.room.create", ""), "$c:a.test" as EventId]]);
    for (const id of ids) {
      const e = this.events.get(id as EventId);
      assert.ok(e && e.stateKey !== undefined, id);
      out.set(stateKeyOf(e.type, e.stateKey), e.eventId);
    }
    return out;
  }
  resolve(sets: Map<StateKey, EventId>[], rejected: string[] = []) {
    const r = runNow(resolveState(this.rules, sets, mapSource(this.events, { rejected: new Set(rejected as EventId[]) })));
    assert.ok(r.ok, r.ok ? "" : r.reason);
    return r.state;
  }
}

const joinOf = (u: string): string => (u === ALICE ? "$ja:a.test" : `$j-${u.slice(1, u.indexOf(":"))}:a.test`);
const base = (users: string[]): string[] => ["$ja:a.test", "$jr:a.test", ...users.map(joinOf)];

describe("state resolution as the network runs it (Synapse)", () => {
  it("counts a state set's own events in its full auth chain, so an unconflicted event cited by one fork only stays out of the auth difference (item 1)", () => {
    const r = Room.basic(V11, { [BOB]: 50 });
    // $u (power levels) is in both state sets; only set B's topic cites it.
    r.add("$u:a.test", "m.room.power_levels", ALICE, "", { users: { [ALICE]: 100, [BOB]: 50 }, events_default: 0 }, ["$c:a.test", "$p0:a.test", "$ja:a.test"]);
    r.add("$ta:b.test", "m.room.topic", BOB, "", { topic: "a" }, ["$c:a.test", "$p0:a.test", "$j-bob:a.test"]);
    r.add("$tb:b.test", "m.room.topic", BOB, "", { topic: "b" }, ["$c:a.test", "$u:a.test", "$j-bob:a.test"]);
    const a = r.state([...base([BOB]), "$u:a.test", "$ta:b.test"]);
    const b = r.state([...base([BOB]), "$u:a.test", "$tb:b.test"]);
    const d = runNow(authDifference([a, b], mapSource(r.events)));
    assert.equal(d.has("$u:a.test" as EventId), false, "the spec's reading (chains without the state events themselves) would put $u in");
    assert.deepEqual([...d].sort(), ["$ta:b.test", "$tb:b.test"]);
  });

  it("resolves a ban against a kick by the order the smaller full conflicted set gives (item 1, room version 11)", () => {
    // carol (25) edits power levels ($u, unconflicted); alice's ban of dan ($d) cites $u, bob's kick of dan ($i)
    // does not. With $u in the full conflicted set (the spec's reading) the power ordering is $i, $u, $d and the
    // ban wins; without it (Synapse) it is $d, $i and the kick, applied last, wins.
    const r = Room.basic(V11, { [BOB]: 50, [CAROL]: 25, [DAN]: 0 }, { events: { "m.room.power_levels": 25 } });
    const pl = { users: { [ALICE]: 100, [BOB]: 50, [CAROL]: 25, [DAN]: 0 }, events: { "m.room.power_levels": 25 } };
    r.add("$i:b.test", "m.room.member", BOB, DAN, { membership: "leave" }, ["$c:a.test", "$p0:a.test", "$j-bob:a.test", "$j-dan:a.test"], { ts: 100 });
    r.add("$u:c.test", "m.room.power_levels", CAROL, "", pl, ["$c:a.test", "$p0:a.test", "$j-carol:a.test"], { ts: 101 });
    r.add("$d:a.test", "m.room.member", ALICE, DAN, { membership: "ban" }, ["$c:a.test", "$u:c.test", "$ja:a.test", "$j-dan:a.test"], { ts: 102 });
    const common = [...base([BOB, CAROL]), "$u:c.test"];
    const a = r.state([...common, "$i:b.test"]);
    const b = r.state([...common, "$d:a.test"]);
    const got = r.resolve([a, b]);
    assert.equal(got.get(stateKeyOf("m.room.member", DAN)), "$i:b.test");
  });

  /** Two topics, by `first` then `second` (later ts and greater depth), each in one state set over bob's room. */
  const topicFork = (rules: RoomVersionRules, first: string, second: string) => {
    const r = Room.basic(rules, { [BOB]: 50 });
    const ids = [first, second].map((sender, i) => {
      const id = `$t${i + 1}:${sender.slice(sender.indexOf(":") + 1)}`;
      r.add(id, "m.room.topic", sender, "", { topic: `t${i}` }, ["$c:a.test", "$p0:a.test", joinOf(sender)], { ts: 50 + i, depth: 9 + i });
      return id;
    });
    const sets = ids.map((id) => r.state([...base([BOB]), "$p0:a.test", id]));
    const topic = (rejected: string[] = []) => r.resolve(sets, rejected).get(stateKeyOf("m.room.topic", ""));
    return { ids, topic, has: (rejected: string[]) => r.resolve(sets, rejected).has(stateKeyOf("m.room.topic", "")) };
  };

  for (const rules of [V11, V12]) {
    it(`never admits an event rejected on receipt, even one that passes the iterative auth checks (item 2, room version ${rules.id})`, () => {
      const f = topicFork(rules, BOB, ALICE);
      assert.equal(f.topic(), f.ids[1], "the later topic wins when both are accepted");
      assert.equal(f.topic([f.ids[1]!]), f.ids[0]);
    });
  }

  it("drops rejected candidates in room version 1: one left is taken, none left leaves the key out (item 2)", () => {
    const f = topicFork(V1, BOB, ALICE);
    assert.equal(f.topic(), f.ids[1], "the deeper topic wins when both are accepted");
    assert.equal(f.topic([f.ids[1]!]), f.ids[0]);
    assert.equal(f.has(f.ids), false);
  });

  it("does not use a rejected event of R to authorise others in room version 1 (item 2)", () => {
    const f = topicFork(V1, ALICE, BOB);
    assert.equal(f.topic(), f.ids[1]);
    // bob's join, unconflicted, was rejected: bob's topic cannot pass, the other candidate is taken.
    assert.equal(f.topic([joinOf(BOB)]), f.ids[0]);
  });

  it("resolves every member key of room version 1 against the state after the join rules, whatever the user names (item 3)", () => {
    // Conflicts: bob's membership (a profile change on one side) and carol's (bob kicks her on the other side).
    // bob's key is conflicted, so R as the member step found it does not hold bob: his kick of carol fails,
    // whether his user id sorts before or after hers.
    for (const kicker of [BOB, "@zed:z.test"]) {
      const local = kicker.slice(1, kicker.indexOf(":"));
      const r = Room.basic(V1, { [kicker]: 50, [CAROL]: 10 });
      const jk = `$j-${local}:a.test`;
      r.add("$jk2:a.test", "m.room.member", kicker, kicker, { membership: "join", displayname: "K" }, ["$c:a.test", "$p0:a.test", "$jr:a.test", jk], { depth: 20 });
      r.add("$kick:a.test", "m.room.member", kicker, CAROL, { membership: "leave" }, ["$c:a.test", "$p0:a.test", jk, "$j-carol:a.test"], { depth: 20 });
      const common = ["$ja:a.test", "$jr:a.test", "$p0:a.test"];
      const a = r.state([...common, "$jk2:a.test", "$j-carol:a.test"]);
      const b = r.state([...common, jk, "$kick:a.test"]);
      const got = r.resolve([a, b]);
      assert.equal(got.get(stateKeyOf("m.room.member", CAROL)), "$j-carol:a.test", `kicker ${kicker}`);
      assert.equal(got.get(stateKeyOf("m.room.member", kicker)), "$jk2:a.test", `kicker ${kicker}`);
    }
  });
});
