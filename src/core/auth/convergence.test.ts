/**
 * The authorization rules where Zion and Synapse 1.163.2 were compared case by case (docs/interop.md):
 * - where the text is silent or was misread, Zion now decides as the text (and Synapse) does (items 4, 5, 7);
 * - where Zion follows the text and Synapse does not, each test names both behaviours (item 6).
 * test/interop/convergence.test.ts checks the same against Synapse's own functions on generated rooms.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkAgainstState, checkAuthEvents, type AuthVerdict } from "./authorize.js";
import { ruleNumbers } from "./numbering.js";
import { V1, V10, V11, V12, V2, V3, V5, V9, type RoomVersionRules } from "../room-versions/rules.js";
import type { Pdu } from "../events/pdu.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import { signingKeyFromSeed, signJson, publicKeyBase64 } from "../crypto/index.js";
import { AuthKit, ALICE, BOB, CAROL, DAN } from "../../../test/gen/auth-kit.js";

/** Both entry points agree, and the verdict is returned. */
function check(k: AuthKit, e: Pdu): AuthVerdict {
  const a = checkAuthEvents(e, k.pool(), k.rules);
  const b = checkAgainstState(e, k.state, k.rules);
  assert.deepEqual(a, b, "checkAuthEvents and checkAgainstState agree");
  return a;
}
const pl = (k: AuthKit, content: JsonObject, sender = ALICE): Pdu => k.ev({ type: "m.room.power_levels", sender, stateKey: "", content });
const OLD: RoomVersionRules[] = [V1, V3, V5, V9];

describe("authorization rules, converging with Synapse", () => {
  for (const rules of OLD) {
    it(`allows a first power levels event whose values outside users are not numbers (v${rules.id}, rule ${ruleNumbers(rules).plNoPrevious}; item 4)`, () => {
      const k = new AuthKit(rules, { only: "join" });
      const v = check(k, pl(k, { users: { [ALICE]: 100 }, ban: "fifty", events: { "m.room.name": "x" } }));
      assert.deepEqual(v, { allowed: true, rule: ruleNumbers(rules).plNoPrevious });
    });

    it(`still refuses a first power levels event whose users hold a value that is not a number (v${rules.id}; item 4)`, () => {
      const k = new AuthKit(rules, { only: "join" });
      const v = check(k, pl(k, { users: { [ALICE]: "lots" } }));
      assert.equal(v.allowed, false);
      assert.equal(v.rule, ruleNumbers(rules).plUsers);
    });

    it(`refuses an event whose rule needs a level that is not a number (v${rules.id}, kick "abc"; item 7)`, () => {
      const k = new AuthKit(rules);
      k.powerLevels({ users: k.users(), kick: "abc" });
      const v = check(k, k.ev({ type: "m.room.member", sender: BOB, stateKey: CAROL, content: { membership: "leave" } }));
      assert.equal(v.allowed, false);
      assert.equal(v.rule, `${ruleNumbers(rules).leave}.4`);
      assert.match(v.allowed ? "" : v.reason, /kick is "abc", not a number/);
      // Rules that do not read the level are unaffected (Synapse reads invite and ban levels for every membership).
      assert.equal(check(k, k.ev({ type: "m.room.topic", sender: BOB, stateKey: "", content: { topic: "t" } })).allowed, true);
    });

    it(`refuses changing power levels whose current value is not a number (v${rules.id}; item 7)`, () => {
      const k = new AuthKit(rules, { only: "join" });
      k.powerLevels({ users: { [ALICE]: 100 }, ban: "fifty" });
      const v = check(k, pl(k, { users: { [ALICE]: 100 }, ban: 50 }));
      assert.equal(v.allowed, false);
      assert.equal(v.rule, `${ruleNumbers(rules).plAlterations}.1`);
    });
  }

  it("refuses a first power levels event with a non-integer value from v10 (rule 10.1), as before", () => {
    const k = new AuthKit(V10, { only: "join" });
    const v = check(k, pl(k, { users: { [ALICE]: 100 }, ban: "fifty" }));
    assert.deepEqual([v.allowed, v.rule], [false, ruleNumbers(V10).plTopLevelIntegers]);
  });

  for (const rules of [V9, V11, V12]) {
    it(`accepts historical user ids from other servers as senders and power levels users (v${rules.id}; item 5)`, () => {
      const k = new AuthKit(rules);
      const zoe = "@Zoë Ünïcode:f.test";
      const empty = "@:f.test";
      const ok = k.add(pl(k, { users: k.users({ [zoe]: 60, [empty]: 5 }) }));
      assert.equal(check(k, ok).allowed, true, "a power levels event with historical user ids in users");
      k.add(ok);
      for (const u of [zoe, empty]) {
        const join = k.ev({ type: "m.room.member", sender: u, stateKey: u, content: { membership: "join" } });
        assert.equal(check(k, join).allowed, true, `${u} joins`);
        k.add(join);
      }
      assert.equal(check(k, k.ev({ type: "m.room.member", sender: zoe, stateKey: CAROL, content: { membership: "ban" } })).allowed, true, "zoe (60) bans carol");
      assert.equal(check(k, k.ev({ type: "m.room.topic", sender: empty, stateKey: "", content: { topic: "t" } })).allowed, false, "the empty localpart (5) is below state_default");
    });
  }

  it("accepts a historical user id in additional_creators (v12; item 5)", () => {
    const k = new AuthKit(V12, { createContent: { additional_creators: ["@Zoë Ünïcode:f.test"] }, only: "create" });
    const create = [...k.all.values()][0]!;
    assert.equal(checkAuthEvents(create, [], V12).allowed, true);
  });
});

describe("authorization rules where Zion keeps the text and Synapse 1.163.2 differs (item 6)", () => {
  it("lets other servers in when m.federate is the string \"false\" (only the boolean false stops federation; Synapse: anything but true stops it)", () => {
    const k = new AuthKit(V11, { createContent: { "m.federate": "false" }, only: "join" });
    k.joinRule("public");
    assert.equal(check(k, k.ev({ type: "m.room.member", sender: BOB, stateKey: BOB, content: { membership: "join" } })).allowed, true);
  });

  it("lets the creator's server invite a user of another server when m.federate is false (rule 3 reads the sender only; Synapse also refuses a target on another server)", () => {
    const k = new AuthKit(V11, { createContent: { "m.federate": false } });
    // (The kit's joins of bob and carol are added to the state unchecked; only this invite is checked.)
    const invite = k.ev({ type: "m.room.member", sender: ALICE, stateKey: DAN, content: { membership: "invite" } });
    assert.equal(check(k, invite).allowed, true);
  });

  for (const rules of [V1, V2]) {
    it(`refuses a v${rules.id} redaction without redacts below the redact level (rule 11.3; Synapse allows it)`, () => {
      const k = new AuthKit(rules);
      const v = check(k, k.ev({ type: "m.room.redaction", sender: CAROL, content: {} }));
      assert.deepEqual([v.allowed, v.rule], [false, `${ruleNumbers(rules).redaction}.3`]);
    });
  }

  it("allows a third-party invite whose first signature fails and second matches (any signature may match; Synapse gives up on a key after the first failure)", () => {
    const k = new AuthKit(V11);
    const good = signingKeyFromSeed("tpi", new Uint8Array(32).fill(7));
    const bad = signingKeyFromSeed("bad", new Uint8Array(32).fill(3));
    k.add(k.ev({ type: "m.room.third_party_invite", sender: BOB, stateKey: "tok", content: { display_name: "d", public_key: publicKeyBase64(good) } }));
    const bare: JsonObject = { mxid: DAN, token: "tok" };
    const s1 = signJson(bare, "aa.test", bad)["signatures"] as JsonObject;
    const s2 = signJson(bare, "id.test", good)["signatures"] as JsonObject;
    const signed = { ...bare, signatures: { ...s1, ...s2 } };
    const v = check(k, k.ev({ type: "m.room.member", sender: BOB, stateKey: DAN, content: { membership: "invite", third_party_invite: { display_name: "d", signed } } }));
    assert.deepEqual([v.allowed, v.rule], [true, `${ruleNumbers(V11).invite}.1.7`]);
  });

  it("refuses a leave carrying join_authorised_via_users_server without that server's signature (rule 4.2 names every membership; Synapse checks joins only)", () => {
    const k = new AuthKit(V10);
    const v = check(k, k.ev({ type: "m.room.member", sender: CAROL, stateKey: CAROL, content: { membership: "leave", join_authorised_via_users_server: BOB } }));
    assert.deepEqual([v.allowed, v.rule], [false, ruleNumbers(V10).memberAuthoriser]);
  });

  for (const value of [true, "5_0", "\u0665\u0660"] as JsonValue[]) {
    it(`refuses the power level ${JSON.stringify(value)} before v10 (integers or integer strings of ASCII digits; Synapse's int() reads it)`, () => {
      const k = new AuthKit(V9);
      assert.equal(check(k, pl(k, { users: k.users(), ban: value })).allowed, false, "as ban");
      assert.equal(check(k, pl(k, { users: { ...k.users(), [DAN]: value } })).allowed, false, "as a users value");
    });
  }
});
