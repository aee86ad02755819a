/**
 * Bad input to state resolution (missing events, cycles, malformed events, a
 * failing fetcher) is a typed failure naming the step, never an exception or
 * an endless loop.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runNow } from "../generator.js";
import { stateKeyOf, type Pdu, type StateKey } from "../events/pdu.js";
import type { EventId } from "../ids/index.js";
import { V1, V11, V12, type RoomVersionRules } from "../room-versions/rules.js";
import { resolveState, resolveStateAsync } from "./resolve.js";
import { authChainOf, authDifference } from "./auth-chain.js";
import { mapSource, memoryAuthChainCache } from "./source.js";
import { makePdu } from "../../../test/gen/pdu.js";
import { generateRoomDag, prng } from "../../../test/gen/room-dag.js";

const ROOM = "!r:a.test";
const A = "@a:a.test";
const B = "@b:b.test";

function ev(rules: RoomVersionRules, id: string, type: string, sender: string, stateKey: string | undefined, content: Record<string, unknown>, auth: string[]): Pdu {
  return makePdu(rules, { id, roomId: ROOM, type, sender, stateKey, content: content as Pdu["content"], auth, prev: auth.slice(0, 1) });
}

function room(rules: RoomVersionRules) {
  const create = ev(rules, "$c:a.test", "m.room.create", A, "", { creator: A }, []);
  const join = ev(rules, "$j:a.test", "m.room.member", A, A, { membership: "join" }, ["$c:a.test"]);
  const pl = ev(rules, "$p:a.test", "m.room.power_levels", A, "", { users: { [A]: 100 } }, ["$c:a.test", "$j:a.test"]);
  return [create, join, pl];
}
const state = (...pairs: Array<[string, string, string]>): Map<StateKey, EventId> =>
  new Map(pairs.map(([t, k, id]) => [stateKeyOf(t, k), id as EventId]));

describe("state resolution on bad input", () => {
  for (const rules of [V1, V11, V12]) {
    it(`reports a conflicted event nobody can supply as missing_event (room version ${rules.id})`, () => {
      const events = new Map(room(rules).map((e) => [e.eventId, e]));
      const s1 = state(["m.room.create", "", "$c:a.test"], ["m.room.topic", "", "$t1:a.test"]);
      const s2 = state(["m.room.create", "", "$c:a.test"], ["m.room.topic", "", "$t2:a.test"]);
      const r = runNow(resolveState(rules, [s1, s2], mapSource(events)));
      assert.equal(r.ok, false);
      assert.equal(r.ok ? "" : r.error, "missing_event");
      assert.match(r.ok ? "" : r.reason, /\$t[12]:a\.test/);
    });
  }

  it("reports a missing auth event deep in the chain as missing_event naming the step", () => {
    const [create, join, pl] = room(V11);
    const t1 = ev(V11, "$t1:a.test", "m.room.topic", A, "", { topic: "1" }, ["$c:a.test", "$p:a.test", "$j:a.test"]);
    const t2 = ev(V11, "$t2:a.test", "m.room.topic", A, "", { topic: "2" }, ["$c:a.test", "$gone:a.test", "$j:a.test"]);
    const events = new Map([create!, join!, pl!, t1, t2].map((e) => [e.eventId, e]));
    const r = runNow(resolveState(V11, [state(["m.room.topic", "", "$t1:a.test"]), state(["m.room.topic", "", "$t2:a.test"])], mapSource(events)));
    assert.ok(!r.ok);
    assert.equal(r.error, "missing_event");
    assert.equal(r.eventId, "$gone:a.test");
    assert.match(r.step, /^v2 step 0/);
  });

  for (const rules of [V11, V12]) {
    it(`reports a cycle among power events as a cycle and stops (room version ${rules.id})`, () => {
      const [create, join] = room(rules);
      // Two power levels events citing each other.
      const p1 = ev(rules, "$p1:a.test", "m.room.power_levels", A, "", { users: { [A]: 100 } }, ["$c:a.test", "$j:a.test", "$p2:a.test"]);
      const p2 = ev(rules, "$p2:a.test", "m.room.power_levels", A, "", { users: { [A]: 90 } }, ["$c:a.test", "$j:a.test", "$p1:a.test"]);
      const events = new Map([create!, join!, p1, p2].map((e) => [e.eventId, e]));
      const r = runNow(resolveState(rules, [state(["m.room.power_levels", "", "$p1:a.test"]), state(["m.room.power_levels", "", "$p2:a.test"])], mapSource(events)));
      assert.ok(!r.ok);
      assert.equal(r.error, "cycle");
    });
  }

  it("terminates on a cycle through non-power events' auth chains", () => {
    const [create, join, pl] = room(V11);
    const t1 = ev(V11, "$t1:a.test", "m.room.topic", A, "", { topic: "1" }, ["$c:a.test", "$p:a.test", "$j:a.test", "$t2:a.test"]);
    const t2 = ev(V11, "$t2:a.test", "m.room.topic", A, "", { topic: "2" }, ["$c:a.test", "$p:a.test", "$j:a.test", "$t1:a.test"]);
    const events = new Map([create!, join!, pl!, t1, t2].map((e) => [e.eventId, e]));
    const r = runNow(resolveState(V11, [state(["m.room.topic", "", "$t1:a.test"]), state(["m.room.topic", "", "$t2:a.test"])], mapSource(events)));
    // Topics are not power events and auth chain walks stop at visited events, so the
    // cycle cannot change the order or loop: the topics resolve (mainline, then ts, then id).
    assert.ok(r.ok);
    assert.equal(r.state.get(stateKeyOf("m.room.topic", "")), "$t2:a.test");
  });

  it("reports an event without an auth_events list as malformed", () => {
    const [create, join, pl] = room(V11);
    const bad = { ...ev(V11, "$t1:a.test", "m.room.topic", A, "", {}, []), authEvents: null as unknown as Pdu["authEvents"] };
    const t2 = ev(V11, "$t2:a.test", "m.room.topic", A, "", {}, ["$c:a.test", "$p:a.test", "$j:a.test"]);
    const events = new Map([create!, join!, pl!, bad, t2].map((e) => [e.eventId, e]));
    const r = runNow(resolveState(V11, [state(["m.room.topic", "", "$t1:a.test"]), state(["m.room.topic", "", "$t2:a.test"])], mapSource(events)));
    assert.ok(!r.ok);
    assert.equal(r.error, "malformed");
  });

  it("turns a failing fetcher into a typed failure", async () => {
    const r = await resolveStateAsync(V11, [state(["m.room.topic", "", "$t1:a.test"]), state(["m.room.topic", "", "$t2:a.test"])], {
      fetchEvents: async () => {
        throw new Error("network down");
      },
    });
    assert.ok(!r.ok);
    assert.equal(r.error, "missing_event");
    assert.match(r.reason, /network down/);
  });

  it("fills and reuses the auth chain cache", () => {
    const [create, join, pl] = room(V11);
    const t1 = ev(V11, "$t1:a.test", "m.room.topic", A, "", {}, ["$c:a.test", "$p:a.test", "$j:a.test"]);
    const events = new Map([create!, join!, pl!, t1].map((e) => [e.eventId, e]));
    const cache = memoryAuthChainCache();
    const src = mapSource(events, { authChainCache: cache });
    assert.deepEqual([...runNow(authChainOf("$t1:a.test" as EventId, src))].sort(), ["$c:a.test", "$j:a.test", "$p:a.test"]);
    assert.equal(cache.size, 1);
    // A cached chain is used as is: events behind it are no longer read.
    events.delete("$j:a.test" as EventId);
    events.delete("$c:a.test" as EventId);
    assert.deepEqual([...runNow(authChainOf("$t1:a.test" as EventId, src))].sort(), ["$c:a.test", "$j:a.test", "$p:a.test"]);
  });

  it("computes the auth difference as the union minus the intersection of the full auth chains, each holding its state set's own events", () => {
    // c <- j <- p <- x (only in set 1), c <- j <- y <- z (only in set 2): x and z count as part of their set's chain
    const [create, join, pl] = room(V11);
    const x = ev(V11, "$x:a.test", "m.room.topic", A, "", {}, ["$p:a.test"]);
    const y = ev(V11, "$y:b.test", "m.room.member", B, B, { membership: "join" }, ["$j:a.test"]);
    const z = ev(V11, "$z:b.test", "m.room.name", B, "", {}, ["$y:b.test"]);
    const events = new Map([create!, join!, pl!, x, y, z].map((e) => [e.eventId, e]));
    const d = runNow(authDifference([state(["m.room.topic", "", "$x:a.test"]), state(["m.room.name", "", "$z:b.test"])], mapSource(events)));
    assert.deepEqual([...d].sort(), ["$p:a.test", "$x:a.test", "$y:b.test", "$z:b.test"]);
  });

  it("resolves or fails with a typed result, never throwing, on randomly damaged rooms (seeded)", () => {
    // Damage: extra auth edges (possible cycles), deleted events, junk auth_events, junk content or fields, self-loops.
    const junk: unknown[] = [null, 1, "x", [], [1], {}, ["$nope:x.test"], undefined];
    const fields = ["sender", "type", "stateKey", "originServerTs", "depth", "prevEvents"] as const;
    const kinds = new Set<string>();
    for (const version of ["1", "2", "11", "12"]) {
      for (let seed = 1; seed <= 30; seed++) {
        const r = generateRoomDag({ seed, roomVersion: version, members: 20, stateEvents: 50, conflicted: 15, forks: 2 });
        const rand = prng(seed * 7 + 1);
        const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
        const events = new Map(r.events);
        const ids = [...events.keys()];
        const mode = seed % 6;
        for (let m = 0; m < 3; m++) {
          const id = pick(ids);
          const e = events.get(id);
          if (!e) continue;
          if (mode === 0) events.set(id, { ...e, authEvents: [...e.authEvents, pick(ids)] });
          else if (mode === 1) events.delete(id);
          else if (mode === 2) events.set(id, { ...e, authEvents: pick(junk) as Pdu["authEvents"] });
          else if (mode === 3) events.set(id, { ...e, content: pick(junk) as Pdu["content"] });
          else if (mode === 4) events.set(id, { ...e, [pick(fields)]: pick(junk) });
          else events.set(id, { ...e, authEvents: [id] });
        }
        const out = runNow(resolveState(r.rules, r.forks, mapSource(events)));
        if (!out.ok) {
          assert.ok(["missing_event", "cycle", "malformed"].includes(out.error), out.error);
          assert.ok(out.step.length > 0 && out.reason.length > 0);
        }
        kinds.add(out.ok ? "ok" : out.error);
      }
    }
    // The damage reaches every failure kind, so the test exercises each typed path.
    assert.deepEqual([...kinds].sort(), ["cycle", "malformed", "missing_event", "ok"]);
  });
});
