/**
 * The server-default rules, checked against the definitions transcribed here
 * from https://spec.matrix.org/v1.19/client-server-api/#predefined-rules (and
 * v1.16 for the legacy body-mention rules), not read from rules.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UserId } from "../ids/index.js";
import { defaultPushRuleset } from "./rules.js";

const ME = "@alice:example.org" as UserId;
const SOUND = { set_tweak: "sound", value: "default" };
const HL = { set_tweak: "highlight" };

describe("defaultPushRuleset", () => {
  const r = defaultPushRuleset(ME);

  it("lists the override rules in the spec's order", () => {
    assert.deepEqual(r.override.map((x) => x.rule_id), [
      ".m.rule.master", ".m.rule.suppress_notices", ".m.rule.invite_for_me", ".m.rule.member_event",
      ".m.rule.is_user_mention", ".m.rule.contains_display_name", ".m.rule.is_room_mention", ".m.rule.roomnotif",
      ".m.rule.tombstone", ".m.rule.reaction", ".m.rule.room.server_acl", ".m.rule.suppress_edits",
    ]);
  });
  it("lists the underride rules in the spec's order", () => {
    assert.deepEqual(r.underride.map((x) => x.rule_id), [
      ".m.rule.call", ".m.rule.encrypted_room_one_to_one", ".m.rule.room_one_to_one", ".m.rule.message", ".m.rule.encrypted",
    ]);
  });
  it("has the one content rule, on the user's localpart, and no room or sender rules", () => {
    assert.deepEqual(r.content, [{ rule_id: ".m.rule.contains_user_name", default: true, enabled: true, pattern: "alice", actions: ["notify", SOUND, HL] }]);
    assert.deepEqual([r.room, r.sender], [[], []]);
  });
  it("marks every rule default, and enables all but .m.rule.master", () => {
    for (const k of ["override", "content", "underride"] as const) {
      for (const x of r[k]) {
        assert.equal(x.default, true, x.rule_id);
        assert.equal(x.enabled, x.rule_id !== ".m.rule.master", x.rule_id);
        assert.ok(x.rule_id.startsWith("."), x.rule_id);
      }
    }
  });
  it("matches the spec's definitions of the override rules", () => {
    const by = Object.fromEntries(r.override.map((x) => [x.rule_id, { conditions: x.conditions, actions: x.actions }]));
    assert.deepEqual(by[".m.rule.master"], { conditions: [], actions: [] });
    assert.deepEqual(by[".m.rule.suppress_notices"], { conditions: [{ kind: "event_match", key: "content.msgtype", pattern: "m.notice" }], actions: [] });
    assert.deepEqual(by[".m.rule.invite_for_me"], {
      conditions: [
        { kind: "event_match", key: "type", pattern: "m.room.member" },
        { kind: "event_match", key: "content.membership", pattern: "invite" },
        { kind: "event_match", key: "state_key", pattern: ME },
      ],
      actions: ["notify", SOUND],
    });
    assert.deepEqual(by[".m.rule.member_event"], { conditions: [{ kind: "event_match", key: "type", pattern: "m.room.member" }], actions: [] });
    assert.deepEqual(by[".m.rule.is_user_mention"], {
      conditions: [{ kind: "event_property_contains", key: "content.m\\.mentions.user_ids", value: ME }],
      actions: ["notify", SOUND, HL],
    });
    assert.deepEqual(by[".m.rule.contains_display_name"], { conditions: [{ kind: "contains_display_name" }], actions: ["notify", SOUND, HL] });
    assert.deepEqual(by[".m.rule.is_room_mention"], {
      conditions: [{ kind: "event_property_is", key: "content.m\\.mentions.room", value: true }, { kind: "sender_notification_permission", key: "room" }],
      actions: ["notify", HL],
    });
    assert.deepEqual(by[".m.rule.roomnotif"], {
      conditions: [{ kind: "event_match", key: "content.body", pattern: "@room" }, { kind: "sender_notification_permission", key: "room" }],
      actions: ["notify", HL],
    });
    assert.deepEqual(by[".m.rule.tombstone"], {
      conditions: [{ kind: "event_match", key: "type", pattern: "m.room.tombstone" }, { kind: "event_match", key: "state_key", pattern: "" }],
      actions: ["notify", HL],
    });
    assert.deepEqual(by[".m.rule.reaction"], { conditions: [{ kind: "event_match", key: "type", pattern: "m.reaction" }], actions: [] });
    assert.deepEqual(by[".m.rule.room.server_acl"], {
      conditions: [{ kind: "event_match", key: "type", pattern: "m.room.server_acl" }, { kind: "event_match", key: "state_key", pattern: "" }],
      actions: [],
    });
    assert.deepEqual(by[".m.rule.suppress_edits"], {
      conditions: [{ kind: "event_property_is", key: "content.m\\.relates_to.rel_type", value: "m.replace" }],
      actions: [],
    });
  });
  it("matches the spec's definitions of the underride rules", () => {
    const by = Object.fromEntries(r.underride.map((x) => [x.rule_id, { conditions: x.conditions, actions: x.actions }]));
    assert.deepEqual(by[".m.rule.call"], { conditions: [{ kind: "event_match", key: "type", pattern: "m.call.invite" }], actions: ["notify", { set_tweak: "sound", value: "ring" }] });
    assert.deepEqual(by[".m.rule.encrypted_room_one_to_one"], {
      conditions: [{ kind: "room_member_count", is: "2" }, { kind: "event_match", key: "type", pattern: "m.room.encrypted" }],
      actions: ["notify", SOUND],
    });
    assert.deepEqual(by[".m.rule.room_one_to_one"], {
      conditions: [{ kind: "room_member_count", is: "2" }, { kind: "event_match", key: "type", pattern: "m.room.message" }],
      actions: ["notify", SOUND],
    });
    assert.deepEqual(by[".m.rule.message"], { conditions: [{ kind: "event_match", key: "type", pattern: "m.room.message" }], actions: ["notify"] });
    assert.deepEqual(by[".m.rule.encrypted"], { conditions: [{ kind: "event_match", key: "type", pattern: "m.room.encrypted" }], actions: ["notify"] });
  });
  it("leaves out the three legacy body-mention rules when legacyMentionRules is false (the v1.17 set)", () => {
    const s = defaultPushRuleset(ME, { legacyMentionRules: false });
    const ids = [...s.override, ...s.content].map((x) => x.rule_id);
    for (const id of [".m.rule.contains_display_name", ".m.rule.roomnotif", ".m.rule.contains_user_name"]) assert.ok(!ids.includes(id), id);
    assert.equal(s.override.length, 10);
  });
});
