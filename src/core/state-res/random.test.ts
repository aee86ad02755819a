/**
 * Randomised tests over seeded generated rooms (test/gen/room-dag.ts): several
 * servers, concurrent power changes, bans, kicks, joins and leaves on 2-4 forks.
 * - the resolved state never depends on the order of the state sets, nor on the order of the entries
 *   within each (a Map's insertion order must not leak into the ordering rules);
 * - a state set resolved against itself (v2: no conflicts) is itself;
 * - the async batched loader and the preloaded generator agree.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runNow } from "../generator.js";
import type { StateMap } from "../events/pdu.js";
import { resolveState, resolveStateAsync } from "./resolve.js";
import { generateRoomDag, prng } from "../../../test/gen/room-dag.js";

function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const sorted = (m: StateMap): Array<[string, string]> => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe("state resolution on random rooms", () => {
  for (const version of ["1", "2", "10", "11", "12"]) {
    it(`does not depend on the order of the state sets or of the entries within them (room version ${version}, 12 seeds)`, () => {
      let nonTrivial = 0;
      for (let seed = 1; seed <= 12; seed++) {
        const room = generateRoomDag({ seed, roomVersion: version, members: 40, stateEvents: 90, conflicted: 30, forks: 2 + (seed % 3) });
        if (room.stats.conflicted > 0) nonTrivial++;
        const first = runNow(resolveState(room.rules, room.forks, room.source));
        assert.ok(first.ok, first.ok ? "" : `${first.step}: ${first.reason}`);
        const rand = prng(seed * 31);
        for (let i = 0; i < 4; i++) {
          const forks = shuffled(room.forks, rand).map((f) => new Map(shuffled([...f], rand)));
          const again = runNow(resolveState(room.rules, forks, room.source));
          assert.ok(again.ok);
          assert.deepEqual(sorted(again.state), sorted(first.state), `seed ${seed}, shuffle ${i}`);
        }
      }
      assert.ok(nonTrivial >= 10, `only ${nonTrivial} seeds produced conflicts`);
    });
  }

  for (const version of ["2", "11", "12"]) {
    it(`resolves a state set conflicting with itself to itself (room version ${version})`, () => {
      for (let seed = 40; seed < 48; seed++) {
        const room = generateRoomDag({ seed, roomVersion: version, members: 30, stateEvents: 80, conflicted: 20 });
        for (const s of [room.base, ...room.forks]) {
          for (const sets of [[s, s], [s, s, s], [s]]) {
            const r = runNow(resolveState(room.rules, sets, room.source));
            assert.ok(r.ok);
            assert.deepEqual(sorted(r.state), sorted(s));
          }
        }
      }
    });
  }

  it("gives the same answer from the async batched loader as from a preloaded source", async () => {
    for (const version of ["1", "11", "12"]) {
      const room = generateRoomDag({ seed: 99, roomVersion: version, members: 60, stateEvents: 150, conflicted: 40, forks: 3 });
      const direct = runNow(resolveState(room.rules, room.forks, room.source));
      let calls = 0;
      const viaFetcher = await resolveStateAsync(room.rules, room.forks, {
        fetchEvents: async (ids) => {
          calls++;
          assert.ok(ids.length <= 25);
          return new Map(ids.flatMap((id) => (room.events.has(id) ? [[id, room.events.get(id)!] as const] : [])));
        },
      }, { batchSize: 25, pause: () => new Promise((r) => setImmediate(r)) });
      assert.ok(direct.ok && viaFetcher.ok);
      assert.deepEqual(sorted(viaFetcher.state), sorted(direct.state));
      assert.ok(calls > 1);
    }
  });

  it("keeps every unconflicted entry of the forks (step 5)", () => {
    // A ban that is in every fork's state is unconflicted and must survive.
    for (let seed = 60; seed < 66; seed++) {
      const room = generateRoomDag({ seed, roomVersion: "11", members: 40, stateEvents: 120, conflicted: 30 });
      const r = runNow(resolveState(room.rules, room.forks, room.source));
      assert.ok(r.ok);
      for (const [k, id] of room.forks[0]!) {
        if (room.forks.every((f) => f.get(k) === id)) assert.equal(r.state.get(k), id, `unconflicted ${k} must be kept`);
      }
    }
  });
});
