/**
 * Bad input never escapes as an exception: malformed events and auth_events
 * are refusals naming the rule.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkAgainstState, checkAuthEvents } from "./authorize.js";
import { authEventTypesFor } from "./auth-events.js";
import { ruleNumbers } from "./numbering.js";
import { V1, V10, V11, V12 } from "../room-versions/rules.js";
import type { Pdu } from "../events/pdu.js";
import type { JsonValue } from "../json/types.js";
import { prng } from "../../../test/gen/room-dag.js";
import { AuthKit, ALICE, BOB, CAROL, DAN } from "../../../test/gen/auth-kit.js";

describe("authorization rules on bad input", () => {
  for (const rules of [V1, V10, V11, V12]) {
    const n = ruleNumbers(rules);
    describe(`room version ${rules.id}`, () => {
      it(`refuses an event whose auth_events is not a list (rule ${n.authEvents})`, () => {
        const k = new AuthKit(rules);
        const e = { ...k.ev({ type: "m.room.message", sender: CAROL, content: {} }), authEvents: "nope" as unknown as Pdu["authEvents"] };
        const v = checkAuthEvents(e, k.pool(), rules);
        assert.equal(v.allowed, false);
        assert.equal(v.allowed ? "" : v.rule, String(n.authEvents));
      });
      it(`refuses an event citing an auth event nobody supplied (rule ${n.authEvents})`, () => {
        const k = new AuthKit(rules);
        const e = k.ev({ type: "m.room.message", sender: CAROL, content: {} });
        const v = checkAuthEvents({ ...e, authEvents: [...e.authEvents, "$ghost:x.test" as Pdu["eventId"]] }, k.pool(), rules);
        assert.deepEqual(v.allowed ? undefined : [v.rule, /ghost/.test(v.reason)], [String(n.authEvents), true]);
      });
      it("refuses, without throwing, an event whose content is null", () => {
        const k = new AuthKit(rules);
        const e = { ...k.ev({ type: "m.room.member", sender: DAN, stateKey: DAN, content: {} }), content: null as unknown as Pdu["content"] };
        for (const v of [checkAuthEvents(e, k.pool(), rules), checkAgainstState(e, k.state, rules)]) {
          assert.equal(v.allowed, false);
          assert.equal(v.allowed ? "" : v.rule, n.memberFields);
        }
      });
      it(`refuses an event without a sender (rule ${n.senderJoined})`, () => {
        const k = new AuthKit(rules);
        const e = { ...k.ev({ type: "m.room.message", sender: CAROL, content: {} }), sender: undefined as unknown as Pdu["sender"] };
        const v = checkAgainstState(e, k.state, rules);
        assert.equal(v.allowed ? "" : v.rule, n.senderJoined);
      });
      it("refuses, without throwing, when the state lookup itself throws", () => {
        const k = new AuthKit(rules);
        const e = k.ev({ type: "m.room.message", sender: CAROL, content: {} });
        const v = checkAgainstState(e, () => {
          throw new Error("storage exploded");
        }, rules);
        assert.equal(v.allowed, false);
        assert.equal(v.allowed ? "" : v.rule, "malformed");
      });
      it("refuses a power levels event whose users map is an array", () => {
        const k = new AuthKit(rules);
        const e = k.ev({ type: "m.room.power_levels", sender: BOB, stateKey: "", content: { users: [1, 2] } as never });
        const v = checkAgainstState(e, k.state, rules);
        assert.equal(v.allowed ? "" : v.rule, n.plUsers);
      });
      it("judges events by the rules, not as a crash, when the room's create event content is not an object", () => {
        // Before any power levels exist, levels come from the creators, read from the create event's content.
        const k = new AuthKit(rules, { only: "join" });
        const [key, create] = [...k.state].find(([, e]) => e.type === "m.room.create")!;
        const broken = { ...create, content: null as unknown as Pdu["content"] };
        k.state.set(key, broken);
        k.all.set(broken.eventId, broken);
        const e = k.ev({ type: "m.room.topic", sender: ALICE, stateKey: "", content: { topic: "t" } });
        for (const v of [checkAuthEvents(e, k.pool(), rules), checkAgainstState(e, k.state, rules)]) {
          assert.notEqual(v.rule, "malformed", `${v.rule}: ${v.allowed ? "" : v.reason}`);
        }
      });
      it("refuses a create event whose prev_events is missing", () => {
        const k = new AuthKit(rules, { only: "create" });
        const create = [...k.all.values()][0]!;
        const v = checkAuthEvents({ ...create, prevEvents: undefined as unknown as Pdu["prevEvents"] }, [], rules);
        assert.equal(v.allowed ? "" : v.rule, n.createPrevEvents);
      });
    });
  }

  it("never falls back to the catch-all 'malformed' on junk values in the room state or in the event (seeded)", () => {
    // Every verdict should name a numbered rule: 'malformed' means a TypeError was caught deep inside.
    const rand = prng(20261126);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const junk: JsonValue[] = [null, 1, -1, 1.5, "x", "50", [], [1], {}, { a: 1 }, true, { [BOB]: "x" }, [BOB], 2 ** 60];
    const keys = ["membership", "users", "users_default", "events", "events_default", "state_default", "ban", "kick", "redact",
      "invite", "notifications", "join_rule", "allow", "third_party_invite", "join_authorised_via_users_server",
      "additional_creators", "creator", "m.federate", "room_version", "public_key", "public_keys", "signed"];
    const types = ["m.room.member", "m.room.power_levels", "m.room.message", "m.room.join_rules", "m.room.third_party_invite",
      "m.room.redaction", "m.room.aliases", "m.room.create"];
    for (const rules of [V1, V10, V11, V12]) {
      for (let i = 0; i < 400; i++) {
        const k = new AuthKit(rules);
        const [key, old] = pick([...k.state]);
        const broken = { ...old, content: rand() < 0.1 ? (pick(junk) as Pdu["content"]) : { ...old.content, [pick(keys)]: pick(junk) } };
        k.state.set(key, broken);
        k.all.set(broken.eventId, broken);
        const type = pick(types);
        const content: Record<string, JsonValue> = {};
        for (let j = 0; j < 3; j++) content[pick(keys)] = rand() < 0.5 ? pick(junk) : pick(["join", "invite", "leave", "ban", "knock", "public"]);
        const e = k.ev({ type, sender: pick([ALICE, BOB, CAROL, DAN]), ...(type === "m.room.message" ? {} : { stateKey: pick(["", ALICE, DAN]) }), content });
        for (const v of [checkAuthEvents(e, k.pool(), rules), checkAgainstState(e, k.state, rules)]) {
          assert.notEqual(v.rule, "malformed", `v${rules.id} ${type} with ${JSON.stringify(broken.content)} in state: ${v.allowed ? "" : v.reason}`);
        }
      }
    }
  });

  it("selects auth event types per the server-server selection algorithm", () => {
    const k = new AuthKit(V11);
    const invite = k.ev({ type: "m.room.member", sender: BOB, stateKey: DAN, content: { membership: "invite", third_party_invite: { signed: { token: "t", mxid: DAN } } } });
    assert.deepEqual(authEventTypesFor(invite), [
      "m.room.create\u0000",
      "m.room.power_levels\u0000",
      `m.room.member\u0000${BOB}`,
      `m.room.member\u0000${DAN}`,
      "m.room.join_rules\u0000",
      "m.room.third_party_invite\u0000t",
    ]);
    const k12 = new AuthKit(V12);
    const join = k12.ev({ type: "m.room.member", sender: DAN, stateKey: DAN, content: { membership: "join", join_authorised_via_users_server: BOB } });
    assert.deepEqual(authEventTypesFor(join, { includeCreate: false }), [
      "m.room.power_levels\u0000",
      `m.room.member\u0000${DAN}`,
      "m.room.join_rules\u0000",
      `m.room.member\u0000${BOB}`,
    ]);
    assert.deepEqual(authEventTypesFor([...k12.all.values()][0]!), []);
  });
});
