import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RequiredState, RoomConfig } from "./request.js";
import { combine, configWants, fromJson, isLazy, newlyWanted, sameConfig, toJson, wants } from "./room-config.js";

const rs = (include: [string | null, string | null][], exclude: [string | null, string | null][] = [], lazy = false): RequiredState => ({
  include: include.map(([type, stateKey]) => ({ type, stateKey })), exclude: exclude.map(([type, stateKey]) => ({ type, stateKey })), lazy,
});
const cfg = (timelineLimit: number, ...requiredState: RequiredState[]): RoomConfig => ({ timelineLimit, requiredState });

describe("room configs", () => {
  it("matches exact entries, wildcard types and state keys, and lets exclude win within one required_state", () => {
    const r = rs([[null, null]], [["m.room.member", null]]);
    assert.equal(wants(r, "m.room.create", ""), true);
    assert.equal(wants(r, "m.room.member", "@a:x"), false);
    assert.equal(wants(rs([["m.room.member", null]]), "m.room.member", "@a:x"), true);
    assert.equal(wants(rs([[null, ""]]), "m.room.name", ""), true);
    assert.equal(wants(rs([[null, ""]]), "m.room.member", "@a:x"), false);
    assert.equal(wants(rs([]), "m.room.name", ""), false);
  });

  it("combines as the superset: the larger limit, and one config's exclude never hides what another includes", () => {
    const a = cfg(1, rs([[null, null]], [["m.room.member", null]]));
    const b = cfg(5, rs([["m.room.member", "@a:x"]], [], true));
    const c = combine(a, b);
    assert.equal(c.timelineLimit, 5);
    assert.equal(configWants(c, "m.room.member", "@a:x"), true);
    assert.equal(configWants(c, "m.room.member", "@b:x"), false);
    assert.equal(isLazy(c), true);
    assert.equal(combine(c, b).requiredState.length, 2, "the same required_state is not added twice");
  });

  it("round-trips through its stored JSON, order-independently", () => {
    const a = cfg(3, rs([["m.room.name", ""], ["m.room.create", ""]], [], true), rs([[null, null]]));
    const b = cfg(3, rs([[null, null]]), rs([["m.room.create", ""], ["m.room.name", ""]], [], true));
    assert.ok(sameConfig(a, b));
    assert.ok(sameConfig(fromJson(toJson(a))!, a));
    assert.equal(fromJson({ timeline_limit: "x" }), null);
    assert.equal(fromJson({ timeline_limit: 1, required_state: [{ include: [[1, 2]], exclude: [] }] }), null);
  });

  it("finds exactly the state keys a widened config newly asks for", () => {
    const keys = [{ type: "m.room.name", stateKey: "" }, { type: "m.room.topic", stateKey: "" }, { type: "m.room.member", stateKey: "@a:x" }];
    const prev = cfg(1, rs([["m.room.name", ""]]));
    assert.deepEqual(newlyWanted(prev, cfg(1, rs([["m.room.name", ""], ["m.room.topic", ""]])), keys), [{ type: "m.room.topic", stateKey: "" }]);
    assert.deepEqual(newlyWanted(prev, cfg(1, rs([[null, null]])), keys).map((k) => k.type), ["m.room.topic", "m.room.member"]);
    assert.deepEqual(newlyWanted(cfg(1, rs([[null, null]])), prev, keys), [], "narrowing asks for nothing new");
  });
});
