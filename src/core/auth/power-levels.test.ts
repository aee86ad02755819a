/**
 * The specification's power-level examples (room version 1 page: values as
 * strings, values as floats) and rule numbering checked against the text of
 * each room version's page.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseLevel, PowerLevelView } from "./power-levels.js";
import { ruleNumbers } from "./numbering.js";
import { checkAgainstState } from "./authorize.js";
import { V1, V3, V6, V7, V8, V9, V10, V11, V12, ROOM_VERSIONS } from "../room-versions/rules.js";
import { AuthKit, ALICE, BOB } from "../../../test/gen/auth-kit.js";

describe("power level values", () => {
  it("accepts the integer string formats the v1 page lists (leading zeroes, sign, surrounding whitespace)", () => {
    const cases: Array<[string, number]> = [["100", 100], ["000100", 100], ["+100", 100], ["-100", -100], [" 100 ", 100], [" 00100 ", 100], [" +100 ", 100], [" -100 ", -100]];
    for (const [s, n] of cases) assert.equal(parseLevel(s, V1), n, JSON.stringify(s));
  });
  it("refuses strings that are not integers before v10, and every string from v10", () => {
    for (const s of ["1.5", "1e3", "ten", "", "+-1", "0x10"]) assert.equal(parseLevel(s, V1), undefined, s);
    for (const s of ["100", " 50 "]) assert.equal(parseLevel(s, V10), undefined, s);
  });
  it("truncates floats before v10 (5.114698E4 -> 51146) and refuses non-finite ones", () => {
    assert.equal(parseLevel(5.114698e4, V1), 51146);
    assert.equal(parseLevel(50.57, V1), 50);
    assert.equal(parseLevel(Number.POSITIVE_INFINITY, V1), undefined);
    assert.equal(parseLevel(Number.NaN, V1), undefined);
    assert.equal(parseLevel(50.57, V10), undefined);
  });
  it("accepts the v1 page's string-valued power levels event and reads it as numbers", () => {
    const k = new AuthKit(V1, { only: "join" });
    const e = k.ev({
      type: "m.room.power_levels", sender: ALICE, stateKey: "",
      content: { ban: "50", events: { "m.room.power_levels": "100" }, events_default: "0", state_default: "50", users: { [ALICE]: "100" }, users_default: "0" },
    });
    assert.deepEqual(checkAgainstState(e, k.state, V1), { allowed: true, rule: ruleNumbers(V1).plNoPrevious });
    const view = new PowerLevelView(e, k.state.get([...k.state.keys()].find((x) => x.startsWith("m.room.create"))!), V1);
    assert.equal(view.userLevel(ALICE), 100);
    assert.equal(view.ban, 50);
    assert.equal(view.requiredLevel("m.room.power_levels", true), 100);
  });
  it("gives @alice (50) and @bob (50.57) the same effective level, as the float example says", () => {
    const k = new AuthKit(V1, { only: "join" });
    const e = k.ev({ type: "m.room.power_levels", sender: ALICE, stateKey: "", content: { users: { [ALICE]: 50, [BOB]: 50.57 } } });
    const view = new PowerLevelView(e, undefined, V1);
    assert.equal(view.userLevel(ALICE), view.userLevel(BOB));
  });
});

describe("rule numbers", () => {
  it("match the numbering printed on each room version's page", () => {
    const expect: Array<[typeof V1, Record<string, string | number | undefined>]> = [
      [V1, { aliases: 4, member: 5, senderJoined: "6", powerLevels: 10, redaction: 11, allow: "12", plAllow: "10.8", memberUnknown: "5.6" }],
      [V3, { aliases: 4, member: 5, powerLevels: 10, redaction: undefined, allow: "11" }],
      [V6, { aliases: undefined, member: 4, senderJoined: "5", powerLevels: 9, allow: "10", plMapRemoved: "9.4" }],
      [V7, { knock: "4.6", memberUnknown: "4.7" }],
      [V8, { memberAuthoriser: "4.2", join: "4.3", knock: "4.7", memberUnknown: "4.8", joinRestricted: "4.3.5", joinPublic: "4.3.6" }],
      [V9, { joinOtherwise: "4.3.7" }],
      [V10, { plTopLevelIntegers: "9.1", plUsers: "9.3", plNoPrevious: "9.4", plAllow: "9.10", createCreators: "1.4", createAllow: "1.5" }],
      [V11, { createCreators: undefined, createAllow: "1.4", authRoomId: "2.5" }],
      [V12, { roomIdIsCreate: "2", authEvents: 3, authNoCreate: undefined, authRoomId: "3.4", federate: "4", member: 5, plCreatorsInUsers: "10.4", plNoPrevious: "10.5", plAllow: "10.11", allow: "11", createCreators: "1.4" }],
    ];
    for (const [rules, want] of expect) {
      const n = ruleNumbers(rules) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(want)) assert.equal(n[k], v, `v${rules.id} ${k}`);
    }
    assert.equal(ROOM_VERSIONS.size, 12);
  });
});
