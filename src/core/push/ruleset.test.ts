/** The push rules API as pure functions: https://spec.matrix.org/v1.19/client-server-api/#push-rules-api */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UserId } from "../ids/index.js";
import {
  MAX_USER_PUSH_RULES,
  NO_USER_PUSH_RULES,
  deletePushRule,
  effectivePushRuleset,
  getPushRule,
  parsePushRuleKind,
  putPushRule,
  setPushRuleActions,
  setPushRuleEnabled,
  type PushRuleResult,
  type UserPushRules,
} from "./ruleset.js";

const owner = { userId: "@alice:example.org" as UserId };
function ok<T>(r: PushRuleResult<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}
function err<T>(r: PushRuleResult<T>): { errcode: string; status: number; message: string } {
  assert.ok(!r.ok, "expected an error");
  return { errcode: r.error.errcode, status: r.error.status, message: r.error.message };
}
const put = (s: UserPushRules, ruleId: string, extra: { before?: string; after?: string } = {}) =>
  putPushRule(s, { kind: "content", ruleId, body: { pattern: ruleId, actions: ["notify"] }, ...extra });
const ids = (s: UserPushRules) => s.user.content.map((r) => r.rule_id);

describe("putPushRule", () => {
  it("adds a new rule, enabled, as the most important user rule of its kind", () => {
    const s = ok(put(ok(put(NO_USER_PUSH_RULES, "a")), "b"));
    assert.deepEqual(ids(s), ["b", "a"]);
    assert.equal(s.user.content[0]!.enabled, true);
    assert.equal(s.user.content[0]!.default, false);
  });
  it("places a rule before or after a user rule", () => {
    let s = ok(put(ok(put(NO_USER_PUSH_RULES, "a")), "b")); // b, a
    s = ok(put(s, "c", { before: "a" }));
    assert.deepEqual(ids(s), ["b", "c", "a"]);
    s = ok(put(s, "d", { after: "b" }));
    assert.deepEqual(ids(s), ["b", "d", "c", "a"]);
  });
  it("prefers before when both before and after are given", () => {
    const s = ok(put(ok(put(ok(put(NO_USER_PUSH_RULES, "a")), "b")), "c", { before: "a", after: "b" }));
    assert.deepEqual(ids(s), ["b", "c", "a"]);
  });
  it("updates an existing rule in place and keeps it disabled if it was", () => {
    let s = ok(put(ok(put(NO_USER_PUSH_RULES, "a")), "b"));
    s = ok(setPushRuleEnabled(owner, s, "content", "a", { enabled: false }));
    s = ok(putPushRule(s, { kind: "content", ruleId: "a", body: { pattern: "new", actions: [] } }));
    assert.deepEqual(ids(s), ["b", "a"]);
    assert.deepEqual(s.user.content[1], { rule_id: "a", default: false, enabled: false, pattern: "new", actions: [] });
  });
  it("moves an existing rule when before is given", () => {
    const s = ok(put(ok(put(ok(put(NO_USER_PUSH_RULES, "a")), "b")), "b", { after: "a" }));
    assert.deepEqual(ids(s), ["a", "b"]);
  });
  it("refuses an unknown before/after rule with 400 M_UNKNOWN naming it", () => {
    const e = err(put(NO_USER_PUSH_RULES, "a", { before: "nope" }));
    assert.deepEqual([e.errcode, e.status], ["M_UNKNOWN", 400]);
    assert.match(e.message, /nope/);
  });
  it("refuses placing a rule relative to a server-default rule", () => {
    assert.equal(err(put(NO_USER_PUSH_RULES, "a", { after: ".m.rule.contains_user_name" })).errcode, "M_UNKNOWN");
  });
  it("refuses rule ids starting with '.', containing '/' or '\\', or empty, with M_INVALID_PARAM", () => {
    for (const id of [".m.rule.message", ".mine", "a/b", "a\\b", ""]) {
      const e = err(put(NO_USER_PUSH_RULES, id));
      assert.deepEqual([e.errcode, e.status], ["M_INVALID_PARAM", 400], id);
      assert.match(e.message, /rule_id/);
    }
  });
  it("requires room rule ids to be room ids and sender rule ids to be user ids", () => {
    assert.equal(err(putPushRule(NO_USER_PUSH_RULES, { kind: "room", ruleId: "notaroom", body: { actions: [] } })).errcode, "M_INVALID_PARAM");
    assert.equal(err(putPushRule(NO_USER_PUSH_RULES, { kind: "sender", ruleId: "!r:x.org", body: { actions: [] } })).errcode, "M_INVALID_PARAM");
    assert.ok(putPushRule(NO_USER_PUSH_RULES, { kind: "sender", ruleId: "@bob:x.org", body: { actions: [] } }).ok);
  });
  it("requires actions (M_MISSING_PARAM) as an array (M_BAD_JSON) of known actions (M_INVALID_PARAM)", () => {
    const p = (body: unknown) => putPushRule(NO_USER_PUSH_RULES, { kind: "override", ruleId: "x", body });
    assert.equal(err(p({})).errcode, "M_MISSING_PARAM");
    assert.equal(err(p({ actions: "notify" })).errcode, "M_BAD_JSON");
    const e = err(p({ actions: ["notify", "explode"] }));
    assert.equal(e.errcode, "M_INVALID_PARAM");
    assert.match(e.message, /actions\[1\]/);
    assert.equal(err(p({ actions: [{ value: 1 }] })).errcode, "M_INVALID_PARAM");
    assert.equal(err(p({ actions: [{ set_tweak: "highlight", value: "yes" }] })).errcode, "M_INVALID_PARAM");
    assert.equal(err(p([])).errcode, "M_BAD_JSON");
  });
  it("strips the historical dont_notify and coalesce actions", () => {
    const s = ok(putPushRule(NO_USER_PUSH_RULES, { kind: "override", ruleId: "x", body: { actions: ["dont_notify", "coalesce"] } }));
    assert.deepEqual(s.user.override[0]!.actions, []);
  });
  it("keeps unknown condition kinds and refuses malformed conditions naming the index", () => {
    const s = ok(putPushRule(NO_USER_PUSH_RULES, { kind: "override", ruleId: "x", body: { actions: [], conditions: [{ kind: "org.example.future" }] } }));
    assert.deepEqual(s.user.override[0]!.conditions, [{ kind: "org.example.future" }]);
    const p = (conditions: unknown) => putPushRule(NO_USER_PUSH_RULES, { kind: "underride", ruleId: "x", body: { actions: [], conditions } });
    assert.match(err(p([{}])).message, /conditions\[0\]\.kind/);
    assert.match(err(p([{ kind: "event_match", key: 1 }])).message, /conditions\[0\]\.key/);
    assert.equal(err(p([{ kind: "event_property_is", key: "a", value: { x: 1 } }])).errcode, "M_INVALID_PARAM");
    assert.equal(err(p({})).errcode, "M_BAD_JSON");
  });
  it("requires a string pattern on content rules", () => {
    assert.equal(err(putPushRule(NO_USER_PUSH_RULES, { kind: "content", ruleId: "x", body: { actions: [] } })).errcode, "M_MISSING_PARAM");
    assert.equal(err(putPushRule(NO_USER_PUSH_RULES, { kind: "content", ruleId: "x", body: { actions: [], pattern: 3 } })).errcode, "M_BAD_JSON");
  });
  it("refuses a new rule past MAX_USER_PUSH_RULES but still updates an existing one", () => {
    const many = Array.from({ length: MAX_USER_PUSH_RULES }, (_, i) => ({ rule_id: `r${i}`, default: false, enabled: true, actions: [] }));
    const full: UserPushRules = { ...NO_USER_PUSH_RULES, user: { ...NO_USER_PUSH_RULES.user, underride: many } };
    const e = err(putPushRule(full, { kind: "override", ruleId: "one-more", body: { actions: [] } }));
    assert.equal(e.errcode, "M_INVALID_PARAM");
    assert.match(e.message, /1000/);
    assert.ok(putPushRule(full, { kind: "underride", ruleId: "r5", body: { actions: ["notify"] } }).ok);
  });
  it("does not change the rules it was given", () => {
    const before = JSON.stringify(NO_USER_PUSH_RULES);
    ok(put(NO_USER_PUSH_RULES, "a"));
    assert.equal(JSON.stringify(NO_USER_PUSH_RULES), before);
  });
});

describe("deletePushRule", () => {
  it("deletes a user rule", () => assert.deepEqual(ids(ok(deletePushRule(owner, ok(put(NO_USER_PUSH_RULES, "a")), "content", "a"))), []));
  it("answers M_NOT_FOUND for an unknown rule", () => {
    assert.deepEqual(err(deletePushRule(owner, NO_USER_PUSH_RULES, "content", "a")).status, 404);
    assert.equal(err(deletePushRule(owner, NO_USER_PUSH_RULES, "content", "a")).errcode, "M_NOT_FOUND");
  });
  it("refuses to delete a server-default rule", () => {
    const e = err(deletePushRule(owner, NO_USER_PUSH_RULES, "override", ".m.rule.master"));
    assert.deepEqual([e.errcode, e.status], ["M_INVALID_PARAM", 400]);
  });
});

describe("setPushRuleEnabled and setPushRuleActions", () => {
  it("disables a server-default rule and the merged ruleset shows it", () => {
    const s = ok(setPushRuleEnabled(owner, NO_USER_PUSH_RULES, "override", ".m.rule.suppress_notices", { enabled: false }));
    const r = effectivePushRuleset(owner, s);
    assert.equal(ok(getPushRule(r, "override", ".m.rule.suppress_notices")).enabled, false);
  });
  it("changes the actions of a server-default rule", () => {
    const s = ok(setPushRuleActions(owner, NO_USER_PUSH_RULES, "underride", ".m.rule.message", { actions: [] }));
    assert.deepEqual(ok(getPushRule(effectivePushRuleset(owner, s), "underride", ".m.rule.message")).actions, []);
  });
  it("keeps an earlier enabled change when the actions change", () => {
    let s = ok(setPushRuleEnabled(owner, NO_USER_PUSH_RULES, "underride", ".m.rule.message", { enabled: false }));
    s = ok(setPushRuleActions(owner, s, "underride", ".m.rule.message", { actions: ["notify"] }));
    assert.equal(ok(getPushRule(effectivePushRuleset(owner, s), "underride", ".m.rule.message")).enabled, false);
  });
  it("answers M_NOT_FOUND for a rule of the wrong kind or an unknown id", () => {
    assert.equal(err(setPushRuleEnabled(owner, NO_USER_PUSH_RULES, "override", ".m.rule.message", { enabled: false })).errcode, "M_NOT_FOUND");
    assert.equal(err(setPushRuleActions(owner, NO_USER_PUSH_RULES, "room", "!x:y", { actions: [] })).errcode, "M_NOT_FOUND");
  });
  it("requires a boolean enabled", () => {
    assert.equal(err(setPushRuleEnabled(owner, NO_USER_PUSH_RULES, "override", ".m.rule.master", {})).errcode, "M_MISSING_PARAM");
    assert.equal(err(setPushRuleEnabled(owner, NO_USER_PUSH_RULES, "override", ".m.rule.master", { enabled: "true" })).errcode, "M_BAD_JSON");
  });
  it("changes a user rule in place", () => {
    const s = ok(setPushRuleEnabled(owner, ok(put(NO_USER_PUSH_RULES, "a")), "content", "a", { enabled: false }));
    assert.equal(s.user.content[0]!.enabled, false);
  });
});

describe("effectivePushRuleset", () => {
  it("puts user rules before server-default rules of the same kind, .m.rule.master first", () => {
    const s = ok(put(NO_USER_PUSH_RULES, "a"));
    const r = effectivePushRuleset(owner, ok(putPushRule(s, { kind: "underride", ruleId: "u", body: { actions: [] } })));
    assert.deepEqual(r.content.map((x) => x.rule_id), ["a", ".m.rule.contains_user_name"]);
    assert.equal(r.underride[0]!.rule_id, "u");
    assert.equal(r.override[0]!.rule_id, ".m.rule.master");
  });
  it("getPushRule answers M_NOT_FOUND for an unknown rule", () => {
    assert.equal(err(getPushRule(effectivePushRuleset(owner, NO_USER_PUSH_RULES), "content", "nope")).errcode, "M_NOT_FOUND");
  });
});

describe("parsePushRuleKind", () => {
  it("accepts the five kinds and refuses others with M_INVALID_PARAM", () => {
    for (const k of ["override", "content", "room", "sender", "underride"]) assert.ok(parsePushRuleKind(k).ok, k);
    assert.equal(err(parsePushRuleKind("global")).errcode, "M_INVALID_PARAM");
  });
});
