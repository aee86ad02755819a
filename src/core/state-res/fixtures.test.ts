/**
 * Runs the data-driven scenarios of test/fixtures/state-res/ (see its README):
 * each scenario builds its DAG per room version, resolves, and compares the
 * keys that changed since the baseline with the expected winners.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { roomVersion } from "../room-versions/rules.js";
import { stateKeyOf, type StateKey } from "../events/pdu.js";
import type { EventId } from "../ids/index.js";
import { runNow } from "../generator.js";
import { resolveState, resolveStateAsync } from "./resolve.js";
import { mapSource } from "./source.js";
import { buildDag, type StoryEvent } from "../../../test/gen/dag.js";

const dir = fileURLToPath(new URL("../../../../test/fixtures/state-res/", import.meta.url));

interface EventsFile {
  readonly preamble?: string;
  readonly room_versions: readonly string[];
  readonly events: readonly StoryEvent[];
}
interface ExpectedFile {
  readonly at?: string;
  readonly state_sets?: ReadonlyArray<{ after: string; plus?: readonly string[] }>;
  readonly baseline: string;
  readonly expected: Readonly<Record<string, readonly string[]>>;
}

const scenarios = readdirSync(dir).filter((n) => statSync(join(dir, n)).isDirectory()).sort();

describe("state resolution fixtures", () => {
  it("finds the scenarios", () => assert.ok(scenarios.length >= 10, scenarios.join(", ")));

  for (const name of scenarios) {
    const ev = JSON.parse(readFileSync(join(dir, name, "events.json"), "utf8")) as EventsFile;
    const ex = JSON.parse(readFileSync(join(dir, name, "expected.json"), "utf8")) as ExpectedFile;
    const pre = ev.preamble ? (JSON.parse(readFileSync(join(dir, ev.preamble), "utf8")) as { events: StoryEvent[] }).events : [];
    const story = [...pre, ...ev.events];

    for (const v of ev.room_versions) {
      const rules = roomVersion(v);
      const want = ex.expected[rules.stateRes];
      it(`${name}: room version ${v} (${rules.stateRes}) resolves to ${want?.join(", ") ?? "?"}`, async () => {
        assert.ok(want, `expected.json has no ${rules.stateRes} answer`);
        const dag = buildDag(rules, story);
        const src = mapSource(dag.events);
        const byStoryId = new Map(story.map((s) => [s.id, s]));
        const keyOf = (storyId: string): StateKey => {
          const s = byStoryId.get(storyId);
          assert.ok(s && s.state_key !== undefined, `${storyId} is not a state event of the story`);
          return stateKeyOf(s.type, s.state_key);
        };

        let resolved: Map<StateKey, EventId>;
        let forks: Map<StateKey, EventId>[] | undefined;
        if (ex.state_sets) {
          forks = ex.state_sets.map(({ after, plus }) => {
            const m = new Map(dag.stateAfter.get(after)!);
            for (const p of plus ?? []) m.set(keyOf(p), dag.idOf(p));
            return m;
          });
          const r = runNow(resolveState(rules, forks, src));
          assert.ok(r.ok, r.ok ? "" : r.reason);
          resolved = r.state;
        } else {
          const at = story.find((s) => s.id === ex.at)!;
          forks = at.prev.map((p) => dag.stateAfter.get(p)!);
          resolved = dag.stateAfter.get(ex.at!)!;
        }

        const baseline = dag.stateAfter.get(ex.baseline)!;
        const expected = new Map<StateKey, EventId>(want.map((id) => [keyOf(id), dag.idOf(id)]));
        const changed = new Map<StateKey, EventId>();
        for (const [k, id] of resolved) if (expected.has(k) || baseline.get(k) !== id) changed.set(k, id);
        for (const k of expected.keys()) if (!resolved.has(k)) changed.set(k, "(absent)" as EventId);
        assert.deepEqual(Object.fromEntries(changed), Object.fromEntries(expected));

        // The same forks in the other order, and through the async loader, give the same state.
        if (forks.length > 1) {
          const fresh = runNow(resolveState(rules, forks, src));
          const reversed = runNow(resolveState(rules, [...forks].reverse(), src));
          assert.ok(fresh.ok && reversed.ok);
          assert.deepEqual(reversed.state, fresh.state);
          const viaFetcher = await resolveStateAsync(rules, forks, {
            fetchEvents: async (ids) => new Map(ids.flatMap((id) => (dag.events.has(id) ? [[id, dag.events.get(id)!] as const] : []))),
          }, { batchSize: 3 });
          assert.ok(viaFetcher.ok);
          assert.deepEqual(viaFetcher.state, fresh.state);
        }
      });
    }
  }
});
