/**
 * The redaction algorithm of every room version, checked against lists
 * transcribed here from the spec's rooms/v1, v6, v8, v9 and v11 pages (not
 * read from the rules table, so a wrong row fails).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsonObject } from "../json/types.js";
import { ROOM_VERSIONS, roomVersion } from "../room-versions/rules.js";
import { redactEvent } from "./redact.js";

const TOP_V1 = ["event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth", "prev_events", "prev_state", "auth_events", "origin", "origin_server_ts", "membership"];
const TOP_V11 = ["event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth", "prev_events", "auth_events", "origin_server_ts"];
const PL = ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"];

/** Expected kept content keys per event type, per group of versions (spec text). */
const KEPT: Record<string, Record<string, string[] | "all">> = {
  "1-5": {
    "m.room.member": ["membership"],
    "m.room.create": ["creator"],
    "m.room.join_rules": ["join_rule"],
    "m.room.power_levels": PL,
    "m.room.aliases": ["aliases"],
    "m.room.history_visibility": ["history_visibility"],
    "m.room.redaction": [],
  },
  "6-7": {
    "m.room.member": ["membership"],
    "m.room.create": ["creator"],
    "m.room.join_rules": ["join_rule"],
    "m.room.power_levels": PL,
    "m.room.aliases": [],
    "m.room.history_visibility": ["history_visibility"],
    "m.room.redaction": [],
  },
  "8": {
    "m.room.member": ["membership"],
    "m.room.create": ["creator"],
    "m.room.join_rules": ["join_rule", "allow"],
    "m.room.power_levels": PL,
    "m.room.aliases": [],
    "m.room.history_visibility": ["history_visibility"],
    "m.room.redaction": [],
  },
  "9-10": {
    "m.room.member": ["membership", "join_authorised_via_users_server"],
    "m.room.create": ["creator"],
    "m.room.join_rules": ["join_rule", "allow"],
    "m.room.power_levels": PL,
    "m.room.aliases": [],
    "m.room.history_visibility": ["history_visibility"],
    "m.room.redaction": [],
  },
  "11-12": {
    "m.room.member": ["membership", "join_authorised_via_users_server"],
    "m.room.create": "all",
    "m.room.join_rules": ["join_rule", "allow"],
    "m.room.power_levels": [...PL, "invite"],
    "m.room.aliases": [],
    "m.room.history_visibility": ["history_visibility"],
    "m.room.redaction": ["redacts"],
  },
};
const GROUPS: Record<string, string[]> = {
  "1-5": ["1", "2", "3", "4", "5"],
  "6-7": ["6", "7"],
  "8": ["8"],
  "9-10": ["9", "10"],
  "11-12": ["11", "12"],
};

/** Content carrying every key any version keeps for any type, plus keys nobody keeps. */
const EVERY_CONTENT_KEY: JsonObject = {
  membership: "join",
  join_authorised_via_users_server: "@a:x.test",
  creator: "@a:x.test",
  room_version: "9",
  "m.federate": false,
  join_rule: "restricted",
  allow: [{ type: "m.room_membership", room_id: "!r:x.test" }],
  ban: 50, events: { "m.room.name": 50 }, events_default: 0, kick: 50, redact: 50, state_default: 50,
  users: { "@a:x.test": 100 }, users_default: 0, invite: 0, notifications: { room: 50 },
  aliases: ["#a:x.test"],
  history_visibility: "shared",
  redacts: "$abc",
  body: "secret",
  displayname: "Alice",
  reason: "spam",
};

function fullEvent(type: string, content: JsonObject = EVERY_CONTENT_KEY): JsonObject {
  return {
    event_id: "$e:x.test", type, room_id: "!r:x.test", sender: "@a:x.test", state_key: "", content,
    hashes: { sha256: "h" }, signatures: { "x.test": { "ed25519:1": "s" } }, depth: 3, prev_events: [], prev_state: [],
    auth_events: [], origin: "x.test", origin_server_ts: 5, membership: "join", unsigned: { age: 1 }, redacts: "$r",
    junk: "x", age_ts: 7,
  };
}

describe("redactEvent", () => {
  it("covers every known room version in the groups below", () => {
    assert.deepEqual(Object.values(GROUPS).flat().sort(), [...ROOM_VERSIONS.keys()].sort());
  });

  for (const [group, versions] of Object.entries(GROUPS)) {
    for (const v of versions) {
      const rules = roomVersion(v);
      it(`v${v} keeps exactly the top-level keys of the v${group} list and drops unsigned, redacts and unknown keys`, () => {
        const out = redactEvent(fullEvent("m.room.message"), rules);
        assert.deepEqual(Object.keys(out).sort(), [...(group === "11-12" ? TOP_V11 : TOP_V1)].sort());
        assert.deepEqual(out["content"], {});
      });
      for (const [type, kept] of Object.entries(KEPT[group]!)) {
        it(`v${v} keeps ${kept === "all" ? "all content" : kept.length ? kept.join(", ") : "no content"} of ${type}`, () => {
          const out = redactEvent(fullEvent(type), rules);
          if (kept === "all") assert.deepEqual(out["content"], EVERY_CONTENT_KEY);
          else assert.deepEqual(Object.keys(out["content"] as object).sort(), [...kept].sort());
          if (kept !== "all") for (const k of kept) assert.deepEqual((out["content"] as JsonObject)[k], EVERY_CONTENT_KEY[k]);
        });
      }
    }
  }

  it("v11+ keeps only `signed` of a member's third_party_invite; earlier versions drop it", () => {
    const content: JsonObject = { membership: "invite", third_party_invite: { display_name: "bob", signed: { mxid: "@b:y.test", token: "t", signatures: {} } } };
    for (const v of ["11", "12"]) {
      assert.deepEqual(redactEvent(fullEvent("m.room.member", content), roomVersion(v))["content"], {
        membership: "invite",
        third_party_invite: { signed: { mxid: "@b:y.test", token: "t", signatures: {} } },
      });
      // without `signed`, an empty object is kept (as Synapse does)
      assert.deepEqual(redactEvent(fullEvent("m.room.member", { membership: "invite", third_party_invite: { display_name: "b" } }), roomVersion(v))["content"], {
        membership: "invite", third_party_invite: {},
      });
    }
    for (const v of ["1", "6", "9", "10"]) {
      assert.deepEqual(redactEvent(fullEvent("m.room.member", content), roomVersion(v))["content"], { membership: "invite" });
    }
  });

  it("does not change its input, and redacting twice changes nothing more", () => {
    const e = fullEvent("m.room.power_levels");
    const copy = JSON.parse(JSON.stringify(e)) as JsonObject;
    for (const rules of ROOM_VERSIONS.values()) {
      const once = redactEvent(e, rules);
      assert.deepEqual(redactEvent(once, rules), once);
    }
    assert.deepEqual(e, copy);
  });

  it("copes with content that is not an object and with odd type names", () => {
    assert.deepEqual(redactEvent({ type: "m.room.member", content: "x" as unknown as JsonObject }, roomVersion("10")), { type: "m.room.member", content: {} });
    assert.deepEqual(redactEvent({ type: "__proto__", content: { a: 1 } }, roomVersion("10"))["content"], {});
    assert.deepEqual(redactEvent({ type: "constructor", content: { a: 1 } }, roomVersion("11"))["content"], {});
  });
});
