/**
 * Push rule evaluation against the server-default rules of
 * https://spec.matrix.org/v1.19/client-server-api/#predefined-rules (and the
 * legacy body-mention rules of v1.16), one matching and one non-matching event
 * per rule, and the conditions of
 * https://spec.matrix.org/v1.19/client-server-api/#push-rules ("Conditions")
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UserId } from "../ids/index.js";
import type { JsonObject } from "../json/types.js";
import { conditionMatches, evaluatePushRules, type PushContext } from "./evaluate.js";
import { defaultPushRuleset } from "./rules.js";
import { NO_USER_PUSH_RULES, effectivePushRuleset, putPushRule, setPushRuleEnabled } from "./ruleset.js";

const ME = "@alice:example.org" as UserId;
const ctx: PushContext = { userId: ME, displayName: "Alice Liddell", memberCount: 5, senderPowerLevel: 0, notificationPowerLevels: {} };
const rules = defaultPushRuleset(ME);

function ev(type: string, content: JsonObject, extra: JsonObject = {}): JsonObject {
  return { type, content, sender: "@bob:example.org", room_id: "!r:example.org", event_id: "$e", ...extra };
}
const msg = (body: string, extra: JsonObject = {}) => ev("m.room.message", { msgtype: "m.text", body, ...extra });
const ruleOf = (e: JsonObject, c: Partial<PushContext> = {}) => evaluatePushRules(rules, e, { ...ctx, ...c })?.ruleId ?? null;

describe("evaluatePushRules with the default rules", () => {
  it(".m.rule.master is disabled by default, and when enabled silences everything first", () => {
    assert.equal(ruleOf(msg("hi")), ".m.rule.message");
    const r = effectivePushRuleset({ userId: ME }, unwrap(setPushRuleEnabled({ userId: ME }, NO_USER_PUSH_RULES, "override", ".m.rule.master", { enabled: true })));
    const out = evaluatePushRules(r, msg("hi"), ctx);
    assert.equal(out?.ruleId, ".m.rule.master");
    assert.equal(out?.notify, false);
  });

  it(".m.rule.suppress_notices matches m.notice and not m.text", () => {
    assert.equal(ruleOf(ev("m.room.message", { msgtype: "m.notice", body: "bot" })), ".m.rule.suppress_notices");
    assert.notEqual(ruleOf(msg("bot")), ".m.rule.suppress_notices");
  });

  it(".m.rule.invite_for_me matches an invite of this user with notify and the default sound", () => {
    const out = evaluatePushRules(rules, ev("m.room.member", { membership: "invite" }, { state_key: ME }), ctx);
    assert.equal(out?.ruleId, ".m.rule.invite_for_me");
    assert.deepEqual([out?.notify, out?.sound, out?.highlight], [true, "default", false]);
  });

  it(".m.rule.invite_for_me does not match an invite of someone else (.m.rule.member_event does)", () => {
    assert.equal(ruleOf(ev("m.room.member", { membership: "invite" }, { state_key: "@carol:example.org" })), ".m.rule.member_event");
  });

  it(".m.rule.member_event matches a join, with no actions", () => {
    const out = evaluatePushRules(rules, ev("m.room.member", { membership: "join" }, { state_key: "@bob:example.org" }), ctx);
    assert.equal(out?.ruleId, ".m.rule.member_event");
    assert.deepEqual(out?.actions, []);
    assert.notEqual(ruleOf(ev("m.room.name", { name: "x" }, { state_key: "" })), ".m.rule.member_event");
  });

  it(".m.rule.is_user_mention matches m.mentions.user_ids listing the user, and highlights", () => {
    const out = evaluatePushRules(rules, msg("hey", { "m.mentions": { user_ids: [ME] } }), ctx);
    assert.equal(out?.ruleId, ".m.rule.is_user_mention");
    assert.deepEqual([out?.notify, out?.sound, out?.highlight], [true, "default", true]);
    assert.equal(ruleOf(msg("hey", { "m.mentions": { user_ids: ["@carol:example.org"] } })), ".m.rule.message");
  });

  it(".m.rule.contains_display_name matches the display name at word boundaries in a body without m.mentions", () => {
    const hatter = { displayName: "Mad Hatter" };
    assert.equal(ruleOf(msg("hello MAD hatter!"), hatter), ".m.rule.contains_display_name");
    assert.equal(ruleOf(msg("hello mad hatters"), hatter), ".m.rule.message");
    assert.equal(ruleOf(msg("hello mad hatter", { "m.mentions": {} }), hatter), ".m.rule.message");
    assert.equal(ruleOf(msg("hello mad hatter"), { displayName: null }), ".m.rule.message");
  });

  it(".m.rule.is_room_mention matches m.mentions.room true from a sender with the room notification level", () => {
    const e = msg("all", { "m.mentions": { room: true } });
    assert.equal(ruleOf(e, { senderPowerLevel: 50 }), ".m.rule.is_room_mention");
    assert.equal(ruleOf(e, { senderPowerLevel: 49 }), ".m.rule.message");
    assert.equal(ruleOf(e, { senderPowerLevel: 10, notificationPowerLevels: { room: 10 } }), ".m.rule.is_room_mention");
    assert.equal(ruleOf(msg("all", { "m.mentions": { room: "true" } }), { senderPowerLevel: 100 }), ".m.rule.message");
  });

  it(".m.rule.roomnotif matches @room in the body from a sender with power, only without m.mentions", () => {
    assert.equal(ruleOf(msg("@room lunch"), { senderPowerLevel: 50 }), ".m.rule.roomnotif");
    assert.equal(ruleOf(msg("@room lunch"), { senderPowerLevel: 0 }), ".m.rule.message");
    assert.equal(ruleOf(msg("@room lunch", { "m.mentions": {} }), { senderPowerLevel: 50 }), ".m.rule.message");
  });

  it(".m.rule.tombstone matches a state tombstone and not one without a state key", () => {
    const out = evaluatePushRules(rules, ev("m.room.tombstone", { replacement_room: "!n:x" }, { state_key: "" }), ctx);
    assert.equal(out?.ruleId, ".m.rule.tombstone");
    assert.equal(out?.highlight, true);
    assert.equal(ruleOf(ev("m.room.tombstone", { replacement_room: "!n:x" })), null);
  });

  it(".m.rule.reaction matches m.reaction with no actions", () => {
    assert.equal(ruleOf(ev("m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: "$x", key: "👍" } })), ".m.rule.reaction");
    assert.equal(ruleOf(ev("m.reactions", {})), null);
  });

  it(".m.rule.room.server_acl matches the state event and not a non-state one", () => {
    assert.equal(ruleOf(ev("m.room.server_acl", { allow: ["*"] }, { state_key: "" })), ".m.rule.room.server_acl");
    assert.equal(ruleOf(ev("m.room.server_acl", { allow: ["*"] })), null);
  });

  it(".m.rule.suppress_edits matches an m.replace relation and not a reply", () => {
    assert.equal(ruleOf(msg("* fixed", { "m.relates_to": { rel_type: "m.replace", event_id: "$x" } })), ".m.rule.suppress_edits");
    assert.equal(ruleOf(msg("reply", { "m.relates_to": { "m.in_reply_to": { event_id: "$x" } } })), ".m.rule.message");
  });

  it(".m.rule.contains_user_name (content) matches the localpart as a word", () => {
    const out = evaluatePushRules(rules, msg("ping alice, ok?"), { ...ctx, displayName: "Someone" });
    assert.deepEqual([out?.kind, out?.ruleId, out?.highlight], ["content", ".m.rule.contains_user_name", true]);
    assert.equal(ruleOf(msg("ping malice"), { displayName: "Someone" }), ".m.rule.message");
  });

  it(".m.rule.call matches m.call.invite with the ring sound", () => {
    const out = evaluatePushRules(rules, ev("m.call.invite", { call_id: "c" }), ctx);
    assert.deepEqual([out?.ruleId, out?.sound], [".m.rule.call", "ring"]);
    assert.equal(ruleOf(ev("m.call.hangup", { call_id: "c" })), null);
  });

  it(".m.rule.encrypted_room_one_to_one matches encrypted events in a two-member room only", () => {
    const e = ev("m.room.encrypted", { algorithm: "m.megolm.v1.aes-sha2" });
    assert.equal(ruleOf(e, { memberCount: 2 }), ".m.rule.encrypted_room_one_to_one");
    assert.equal(ruleOf(e, { memberCount: 3 }), ".m.rule.encrypted");
  });

  it(".m.rule.room_one_to_one matches messages in a two-member room with the default sound", () => {
    const out = evaluatePushRules(rules, msg("yo"), { ...ctx, memberCount: 2 });
    assert.deepEqual([out?.ruleId, out?.sound], [".m.rule.room_one_to_one", "default"]);
    assert.equal(ruleOf(msg("yo"), { memberCount: 3 }), ".m.rule.message");
  });

  it(".m.rule.message matches m.room.message with notify only", () => {
    const out = evaluatePushRules(rules, msg("yo"), ctx);
    assert.deepEqual([out?.ruleId, out?.notify, out?.highlight, out?.sound], [".m.rule.message", true, false, null]);
    assert.equal(ruleOf(ev("m.sticker", { body: "s" })), null);
  });

  it(".m.rule.encrypted matches m.room.encrypted in a bigger room", () => {
    assert.equal(ruleOf(ev("m.room.encrypted", {}), { memberCount: 10 }), ".m.rule.encrypted");
  });

  it("returns null for the user's own events", () => {
    assert.equal(ruleOf(msg("me", { "m.mentions": { user_ids: [ME] } }, ), { userId: "@bob:example.org" as UserId }), null);
  });

  it("drops the legacy mention rules when asked, so only m.mentions highlights", () => {
    const strict = defaultPushRuleset(ME, { legacyMentionRules: false });
    assert.equal(evaluatePushRules(strict, msg("alice liddell alice"), ctx)?.ruleId, ".m.rule.message");
    assert.equal(strict.content.length, 0);
  });
});

describe("evaluatePushRules with user rules", () => {
  const owner = { userId: ME };
  it("puts a user override above server-default overrides but below .m.rule.master", () => {
    const s = unwrap(putPushRule(NO_USER_PUSH_RULES, { kind: "override", ruleId: "quiet", body: { conditions: [{ kind: "event_match", key: "content.body", pattern: "lunch" }], actions: [] } }));
    const r = effectivePushRuleset(owner, s);
    assert.deepEqual(r.override.slice(0, 2).map((x) => x.rule_id), [".m.rule.master", "quiet"]);
    assert.equal(evaluatePushRules(r, msg("lunch?"), ctx)?.ruleId, "quiet");
  });
  it("applies room rules to their room and sender rules to their sender before underrides", () => {
    let s = unwrap(putPushRule(NO_USER_PUSH_RULES, { kind: "room", ruleId: "!r:example.org", body: { actions: [] } }));
    assert.equal(evaluatePushRules(effectivePushRuleset(owner, s), msg("x"), ctx)?.ruleId, "!r:example.org");
    assert.equal(evaluatePushRules(effectivePushRuleset(owner, s), { ...msg("x"), room_id: "!other:example.org" }, ctx)?.ruleId, ".m.rule.message");
    s = unwrap(putPushRule(NO_USER_PUSH_RULES, { kind: "sender", ruleId: "@bob:example.org", body: { actions: ["notify", { set_tweak: "highlight", value: false }] } }));
    const out = evaluatePushRules(effectivePushRuleset(owner, s), msg("x"), ctx);
    assert.deepEqual([out?.ruleId, out?.highlight], ["@bob:example.org", false]);
    assert.equal(evaluatePushRules(effectivePushRuleset(owner, s), msg("x", {}), { ...ctx })?.kind, "sender");
    assert.equal(evaluatePushRules(effectivePushRuleset(owner, s), { ...msg("x"), sender: "@carol:example.org" }, ctx)?.ruleId, ".m.rule.message");
  });
  it("checks content rules before room rules", () => {
    let s = unwrap(putPushRule(NO_USER_PUSH_RULES, { kind: "room", ruleId: "!r:example.org", body: { actions: [] } }));
    s = unwrap(putPushRule(s, { kind: "content", ruleId: "cake", body: { pattern: "cake", actions: ["notify"] } }));
    assert.equal(evaluatePushRules(effectivePushRuleset(owner, s), msg("cake time"), ctx)?.ruleId, "cake");
  });
  it("skips disabled rules", () => {
    const s = unwrap(setPushRuleEnabled(owner, NO_USER_PUSH_RULES, "underride", ".m.rule.message", { enabled: false }));
    assert.equal(evaluatePushRules(effectivePushRuleset(owner, s), msg("x"), ctx), null);
  });
});

describe("conditionMatches", () => {
  const c = (cond: Record<string, unknown>, e: JsonObject, x: Partial<PushContext> = {}) => conditionMatches(cond as never, e, { ...ctx, ...x });
  it("never matches an unknown condition kind", () => assert.equal(c({ kind: "org.example.always" }, msg("x")), false));
  it("event_match does not match an absent or non-string property, even with *", () => {
    assert.equal(c({ kind: "event_match", key: "content.topic", pattern: "*" }, msg("x")), false);
    assert.equal(c({ kind: "event_match", key: "content.n", pattern: "*" }, ev("t", { n: 1 })), false);
    assert.equal(c({ kind: "event_match", key: "content.topic", pattern: "*" }, ev("t", { topic: "" })), true);
  });
  it("event_match matches the spec's topic example lunc?* case-insensitively on the whole value", () => {
    assert.equal(c({ kind: "event_match", key: "content.topic", pattern: "lunc?*" }, ev("m.room.topic", { topic: "Lunch plans" })), true);
    assert.equal(c({ kind: "event_match", key: "content.topic", pattern: "lunc?*" }, ev("m.room.topic", { topic: " lunch" })), false);
    assert.equal(c({ kind: "event_match", key: "content.topic", pattern: "lunch" }, ev("m.room.topic", { topic: "lunch plans" })), false);
  });
  it("event_match on content.body matches a word-bounded substring", () => {
    assert.equal(c({ kind: "event_match", key: "content.body", pattern: "lunch" }, msg("lunch plans")), true);
  });
  it("event_match follows escaped dots in the key", () => {
    const e = ev("t", { "m.relates_to": { rel_type: "m.thread" }, m: { relates_to: { rel_type: "other" } } });
    assert.equal(c({ kind: "event_match", key: "content.m\\.relates_to.rel_type", pattern: "m.thread" }, e), true);
    assert.equal(c({ kind: "event_match", key: "content.m.relates_to.rel_type", pattern: "other" }, e), true);
    assert.equal(c({ kind: "event_match", key: "content.m.relates_to.rel_type", pattern: "m.thread" }, e), false);
  });
  it("event_property_is compares exactly without casting (the m.federate example)", () => {
    const create = ev("m.room.create", { "m.federate": true });
    assert.equal(c({ kind: "event_property_is", key: "content.m\\.federate", value: true }, create), true);
    assert.equal(c({ kind: "event_property_is", key: "content.m\\.federate", value: "true" }, create), false);
    assert.equal(c({ kind: "event_property_is", key: "content.m\\.federate", value: 1 }, create), false);
    assert.equal(c({ kind: "event_property_is", key: "content.x", value: null }, ev("t", { x: null })), true);
    assert.equal(c({ kind: "event_property_is", key: "content.x", value: null }, ev("t", {})), false);
  });
  it("event_property_is never matches compound values", () => {
    assert.equal(c({ kind: "event_property_is", key: "content.x", value: [1] }, ev("t", { x: [1] })), false);
    assert.equal(c({ kind: "event_property_is", key: "content.x", value: 1.5 }, ev("t", { x: 1.5 })), false);
  });
  it("event_property_contains matches an exact array element only (the alt_aliases example)", () => {
    const e = ev("m.room.canonical_alias", { alt_aliases: ["#somewhere:example.org", "#myroom:example.com"] });
    assert.equal(c({ kind: "event_property_contains", key: "content.alt_aliases", value: "#myroom:example.com" }, e), true);
    assert.equal(c({ kind: "event_property_contains", key: "content.alt_aliases", value: ":example.com" }, e), false);
    assert.equal(c({ kind: "event_property_contains", key: "content.alias", value: "#a:b" }, ev("t", { alias: "#a:b" })), false);
  });
  it("room_member_count understands ==, <, >, <=, >= and a bare number", () => {
    const m = (is: string, n: number) => c({ kind: "room_member_count", is }, msg("x"), { memberCount: n });
    assert.deepEqual([m("2", 2), m("2", 3), m("==2", 2), m("<3", 2), m("<3", 3), m(">3", 4), m(">3", 3), m("<=3", 3), m("<=3", 4), m(">=3", 3), m(">=3", 2)],
      [true, false, true, true, false, true, false, true, false, true, false]);
  });
  it("room_member_count never matches a malformed `is`", () => {
    for (const is of ["", "=2", "< 2", "2.0", "-1", "abc", "=>2"]) assert.equal(c({ kind: "room_member_count", is }, msg("x"), { memberCount: 2 }), false, is);
    assert.equal(c({ kind: "room_member_count" }, msg("x"), { memberCount: 2 }), false);
  });
  it("sender_notification_permission needs the key's level (50 when absent)", () => {
    const p = (lvl: number, levels: Record<string, number>) => c({ kind: "sender_notification_permission", key: "room" }, msg("x"), { senderPowerLevel: lvl, notificationPowerLevels: levels });
    assert.deepEqual([p(50, {}), p(49, {}), p(0, { room: 0 }), p(99, { room: 100 })], [true, false, true, false]);
    assert.equal(c({ kind: "sender_notification_permission" }, msg("x"), { senderPowerLevel: 100 }), false);
  });
  it("contains_display_name matches the name literally, not as a glob", () => {
    assert.equal(c({ kind: "contains_display_name" }, msg("hi a*b"), { displayName: "a*b" }), true);
    assert.equal(c({ kind: "contains_display_name" }, msg("hi axxb"), { displayName: "a*b" }), false);
    assert.equal(c({ kind: "contains_display_name" }, msg("hi"), { displayName: "" }), false);
  });
});

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: Error }): T {
  if (!r.ok) throw r.error;
  return r.value;
}
