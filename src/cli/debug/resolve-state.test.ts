import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runDebug, type DebugRun } from "../../../test/harness/cli.js";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { roomVersion } from "../../core/room-versions/rules.js";
import { buildDag, type BuiltDag, type StoryEvent } from "../../../test/gen/dag.js";
import { computeEventId } from "../../core/events/index.js";
import type { JsonObject, JsonValue } from "../../core/json/types.js";
import type { RoomVersionRules } from "../../core/room-versions/rules.js";

const fixtures = fileURLToPath(new URL("../../../../test/fixtures/state-res/", import.meta.url));

function run(version: string, input: string): DebugRun {
  return runDebug(["resolve-state", "--room-version", version], input);
}

function story(name: string): StoryEvent[] {
  const pre = JSON.parse(readFileSync(`${fixtures}preamble.json`, "utf8")) as { events: StoryEvent[] };
  const ev = JSON.parse(readFileSync(`${fixtures}${name}/events.json`, "utf8")) as { events: StoryEvent[] };
  return [...pre.events, ...ev.events];
}

describe("zion debug resolve-state", () => {
  for (const version of ["1", "2"]) {
    it(`resolves the ban-versus-power fixture's forks as the library does (room version ${version})`, () => {
      const rules = roomVersion(version);
      const s = story("ban-vs-power");
      const dag = buildDag(rules, s);
      const forks = ["dee-bans-ben", "ben-promotes-cyd"].map((id) => [...dag.stateAfter.get(id)!.values()]);
      const r = run(version, JSON.stringify({ state_sets: forks, events: [...dag.events.values()].map((e) => e.raw) }));
      assert.equal(r.code, 0, r.stderr);
      const list = r.out as Array<{ type: string; state_key: string; event_id: string }>;
      // The library's answer is the state after `end` (which merges the same forks).
      const want = [...dag.stateAfter.get("end")!.values()].sort();
      assert.deepEqual(list.map((x) => x.event_id).sort(), want);
      const ben = list.find((x) => x.type === "m.room.member" && x.state_key === "@ben:other.test");
      assert.equal(ben?.event_id, version === "1" ? dag.idOf("ben-joins") : dag.idOf("dee-bans-ben"));
      // Sorted by type, then state key.
      const keys = list.map((x) => [x.type, x.state_key] as const);
      const sorted = [...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
      assert.deepEqual(keys, sorted);
    });
  }

  it("resolves v12 forks of events with real hash ids and a hash room id as the library does (v2.1)", () => {
    // buildDag gives short test ids; the command parses events and computes their ids, so rebuild the
    // events with reference-hash ids (in story order, rewriting room_id, prev_events and auth_events).
    const rules = roomVersion("12");
    const dag = buildDag(rules, story("ban-vs-power"));
    const { raws, idMap } = withHashIds(rules, dag);
    const forks = ["dee-bans-ben", "ben-promotes-cyd"].map((id) => [...dag.stateAfter.get(id)!.values()].map((e) => idMap.get(e)!));
    const r = run("12", JSON.stringify({ state_sets: forks, events: raws }));
    assert.equal(r.code, 0, r.stderr);
    const list = r.out as Array<{ type: string; state_key: string; event_id: string }>;
    assert.deepEqual(list.map((x) => x.event_id).sort(), [...dag.stateAfter.get("end")!.values()].map((e) => idMap.get(e)!).sort());
    const ben = list.find((x) => x.type === "m.room.member" && x.state_key === "@ben:other.test");
    assert.equal(ben?.event_id, idMap.get(dag.idOf("dee-bans-ben")));
    assert.ok(list.every((x) => /^\$[A-Za-z0-9_-]{43}$/.test(x.event_id)), "v12 ids are URL-safe reference hashes");
  });

  it("reports a state set naming an unknown event as missing_event, exit 1", () => {
    const rules = roomVersion("2");
    const dag = buildDag(rules, story("ban-vs-power"));
    const fork = [...dag.stateAfter.get("start")!.values()];
    const r = run("2", JSON.stringify({ state_sets: [fork, [...fork.slice(1), "$nowhere:zion.test"]], events: [...dag.events.values()].map((e) => e.raw) }));
    assert.equal(r.code, 1);
    assert.equal((r.out as { error: string }).error, "missing_event");
  });

  it("exits 2 on malformed input", () => {
    assert.equal(run("2", "[]").code, 2);
    assert.equal(run("2", JSON.stringify({ state_sets: "x", events: [] })).code, 2);
    assert.equal(run("2", JSON.stringify({ state_sets: [], events: [{ type: 1 }] })).code, 2);
  });
});

/** The DAG's events with reference-hash ids (v3+) and, for v12, the room id derived from the create event. */
function withHashIds(rules: RoomVersionRules, dag: BuiltDag): { raws: JsonObject[]; idMap: Map<string, string> } {
  const idMap = new Map<string, string>();
  const raws: JsonObject[] = [];
  let roomId: string | undefined;
  for (const e of dag.events.values()) {
    const raw: Record<string, JsonValue> = {
      ...e.raw,
      prev_events: e.prevEvents.map((p) => idMap.get(p)!),
      auth_events: e.authEvents.map((a) => idMap.get(a)!),
    };
    if (roomId !== undefined) raw["room_id"] = roomId;
    const id = computeEventId(raw, rules);
    if (e.type === "m.room.create") roomId = `!${id.slice(1)}`;
    idMap.set(e.eventId, id);
    raws.push(raw);
  }
  return { raws, idMap };
}
