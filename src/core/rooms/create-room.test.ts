/**
 * /createRoom as data, against
 * https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3createroom
 * (steps 1-8 of the event order, the preset table, and the 400 errors).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { thrownMatrixError } from "../thrown-matrix-error.js";
import type { RoomAlias, ServerName, UserId } from "../ids/index.js";
import { ROOM_VERSIONS } from "../room-versions/rules.js";
import { parseCreateRoomRequest, planCreateRoom, roomAliasFromName, type CreateRoomPlan } from "./create-room.js";

const ME = "@me:here.org" as UserId;
const BOB = "@bob:there.org" as UserId;
const limits = { defaultRoomVersion: "11" };

function plan(body: unknown, alias?: string): CreateRoomPlan {
  return planCreateRoom(parseCreateRoomRequest(body, ME, limits), { creator: ME, ...(alias ? { alias: alias as RoomAlias } : {}) });
}
const order = (p: CreateRoomPlan) => p.events.map((e) => (e.stateKey ? `${e.type}/${e.stateKey}` : e.type));
const find = (p: CreateRoomPlan, type: string, key = "") => p.events.find((e) => e.type === type && e.stateKey === key)?.content;

function refuses(body: unknown, errcode: string, field: RegExp): void {
  const e = thrownMatrixError(() => parseCreateRoomRequest(body, ME, limits));
  assert.deepEqual([e.errcode, e.status], [errcode, 400]);
  assert.match(e.message, field);
}

describe("planCreateRoom event order", () => {
  it("sends every step in the spec's order (1 create, 2 join, 3 power levels, 4 alias, 5 preset, 6 initial_state, 7 name/topic, 8 invites)", () => {
    const p = plan({
      preset: "private_chat",
      room_alias_name: "pub",
      name: "N",
      topic: "T",
      invite: [BOB],
      initial_state: [{ type: "m.room.encryption", content: { algorithm: "m.megolm.v1.aes-sha2" } }, { type: "org.example.s", state_key: "k", content: {} }],
    }, "#pub:here.org");
    assert.deepEqual(order(p), [
      "m.room.create", `m.room.member/${ME}`, "m.room.power_levels", "m.room.canonical_alias",
      "m.room.join_rules", "m.room.history_visibility", "m.room.guest_access",
      "m.room.encryption", "org.example.s/k", "m.room.name", "m.room.topic", `m.room.member/${BOB}`,
    ]);
    assert.ok(p.events.every((e) => e.sender === ME));
  });
  it("sends only the required events for an empty body", () => {
    assert.deepEqual(order(plan({})), ["m.room.create", `m.room.member/${ME}`, "m.room.power_levels", "m.room.join_rules", "m.room.history_visibility", "m.room.guest_access"]);
  });
});

describe("planCreateRoom presets (the spec's table)", () => {
  const table: [string, string, string, string][] = [
    ["private_chat", "invite", "shared", "can_join"],
    ["trusted_private_chat", "invite", "shared", "can_join"],
    ["public_chat", "public", "shared", "forbidden"],
  ];
  for (const [preset, join, hv, guest] of table) {
    it(`${preset} sets join_rules ${join}, history_visibility ${hv}, guest_access ${guest}`, () => {
      const p = plan({ preset });
      assert.deepEqual([find(p, "m.room.join_rules"), find(p, "m.room.history_visibility"), find(p, "m.room.guest_access")],
        [{ join_rule: join }, { history_visibility: hv }, { guest_access: guest }]);
    });
  }
  it("uses public_chat for visibility public and private_chat otherwise when no preset is given", () => {
    assert.deepEqual(find(plan({ visibility: "public" }), "m.room.join_rules"), { join_rule: "public" });
    assert.deepEqual(find(plan({ visibility: "private" }), "m.room.join_rules"), { join_rule: "invite" });
    assert.equal(plan({ visibility: "public" }).visibility, "public");
    assert.equal(plan({}).visibility, "private");
  });
  it("lets initial_state take precedence over the preset's events (no duplicate)", () => {
    const p = plan({ preset: "public_chat", initial_state: [{ type: "m.room.join_rules", content: { join_rule: "knock" } }] });
    assert.deepEqual(p.events.filter((e) => e.type === "m.room.join_rules").map((e) => e.content), [{ join_rule: "knock" }]);
    assert.equal(order(p).indexOf("m.room.join_rules"), 5);
  });
  it("trusted_private_chat gives invitees the creator's power level in v1-v11", () => {
    const users = find(plan({ preset: "trusted_private_chat", invite: [BOB] }), "m.room.power_levels")?.["users"];
    assert.deepEqual(users, { [ME]: 100, [BOB]: 100 });
    assert.deepEqual(find(plan({ preset: "private_chat", invite: [BOB] }), "m.room.power_levels")?.["users"], { [ME]: 100 });
  });
});

describe("planCreateRoom create event per room version", () => {
  for (const rules of ROOM_VERSIONS.values()) {
    it(`v${rules.id}: room_version set, creator ${rules.auth.creatorFromSender ? "absent" : "the sender"}, room id ${rules.roomId === "create-event-hash" ? "from the create event" : "minted"}`, () => {
      const p = plan({ room_version: rules.id, creation_content: { "m.federate": false, creator: "@forged:x.org", room_version: "1" } });
      const c = find(p, "m.room.create")!;
      assert.equal(c["room_version"], rules.id);
      assert.equal(c["m.federate"], false);
      assert.equal(c["creator"], rules.auth.creatorFromSender ? undefined : ME);
      assert.equal(p.roomIdFromCreateEvent, rules.roomId === "create-event-hash");
      assert.equal(p.rules, rules);
    });
  }
  it("uses the server's default room version when none is asked for", () => {
    assert.equal(find(plan({}), "m.room.create")?.["room_version"], "11");
    const p = planCreateRoom(parseCreateRoomRequest({}, ME, { defaultRoomVersion: "10" }), { creator: ME });
    assert.equal(find(p, "m.room.create")?.["creator"], ME);
  });
});

describe("planCreateRoom in room version 12", () => {
  it("does not list the creator in users and sets tombstone above state_default (150)", () => {
    const pl = find(plan({ room_version: "12" }), "m.room.power_levels")!;
    assert.deepEqual(pl["users"], {});
    assert.equal((pl["events"] as Record<string, number>)["m.room.tombstone"], 150);
    assert.ok(((pl["events"] as Record<string, number>)["m.room.tombstone"] ?? 0) > (pl["state_default"] as number));
  });
  it("adds tombstone at 150 (or above a higher state_default) when an override's events leave it out, keeping a level the client set", () => {
    const ev = (body: unknown) => find(plan(body), "m.room.power_levels")?.["events"] as Record<string, number>;
    assert.deepEqual(ev({ room_version: "12", power_level_content_override: { events: { "m.room.name": 10 } } }), { "m.room.name": 10, "m.room.tombstone": 150 });
    assert.equal(ev({ room_version: "12", power_level_content_override: { state_default: 200, events: {} } })["m.room.tombstone"], 201);
    assert.equal(ev({ room_version: "12", power_level_content_override: { events: { "m.room.tombstone": 20 } } })["m.room.tombstone"], 20);
    assert.deepEqual(ev({ room_version: "11", power_level_content_override: { events: { "m.room.name": 10 } } }), { "m.room.name": 10 });
  });
  it("makes trusted_private_chat invitees additional creators, deduplicated with creation_content's", () => {
    const C = "@carol:x.org";
    const p = plan({ room_version: "12", preset: "trusted_private_chat", invite: [BOB, C], creation_content: { additional_creators: [C] } });
    assert.deepEqual(find(p, "m.room.create")?.["additional_creators"], [C, BOB]);
    assert.deepEqual(find(p, "m.room.power_levels")?.["users"], {});
  });
  it("keeps additional_creators from creation_content for other presets", () => {
    assert.deepEqual(find(plan({ room_version: "12", creation_content: { additional_creators: [BOB] } }), "m.room.create")?.["additional_creators"], [BOB]);
    assert.equal(find(plan({ room_version: "12" }), "m.room.create")?.["additional_creators"], undefined);
  });
  it("refuses a power_level_content_override listing a creator", () => {
    refuses({ room_version: "12", power_level_content_override: { users: { [ME]: 100 } } }, "M_INVALID_PARAM", /power_level_content_override\.users/);
    refuses({ room_version: "12", preset: "trusted_private_chat", invite: [BOB], power_level_content_override: { users: { [BOB]: 50 } } }, "M_INVALID_PARAM", /power_level_content_override\.users/);
    assert.ok(plan({ room_version: "12", power_level_content_override: { users: { [BOB]: 50 } } }));
    refuses({ room_version: "12", initial_state: [{ type: "m.room.name", content: {} }, { type: "m.room.power_levels", content: { users: { [ME]: 100 } } }] }, "M_INVALID_PARAM", /initial_state\[1\]\.content\.users/);
    assert.ok(plan({ room_version: "11", initial_state: [{ type: "m.room.power_levels", content: { users: { [ME]: 100 } } }] }));
  });
  it("refuses additional_creators that are not user ids", () => {
    refuses({ room_version: "12", creation_content: { additional_creators: ["bob"] } }, "M_INVALID_PARAM", /additional_creators\[0\]/);
    refuses({ room_version: "12", creation_content: { additional_creators: "bob" } }, "M_BAD_JSON", /additional_creators/);
  });
});

describe("planCreateRoom power levels, alias, name, topic and invites", () => {
  it("has Synapse's default levels, with invite 0 in private presets and 50 in public_chat", () => {
    const pl = find(plan({ preset: "public_chat" }), "m.room.power_levels")!;
    assert.deepEqual(pl, {
      users: { [ME]: 100 }, users_default: 0,
      events: { "m.room.name": 50, "m.room.power_levels": 100, "m.room.history_visibility": 100, "m.room.canonical_alias": 50, "m.room.avatar": 50, "m.room.tombstone": 100, "m.room.server_acl": 100, "m.room.encryption": 100 },
      events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 50,
    });
    assert.equal(find(plan({ preset: "private_chat" }), "m.room.power_levels")?.["invite"], 0);
  });
  it("applies power_level_content_override on top, key by key", () => {
    const pl = find(plan({ power_level_content_override: { events_default: 10, events: { "m.room.name": 0 } } }), "m.room.power_levels")!;
    assert.equal(pl["events_default"], 10);
    assert.deepEqual(pl["events"], { "m.room.name": 0 });
    assert.equal(pl["state_default"], 50);
  });
  it("takes power levels from initial_state instead of the default, still at step 3, with the override on top", () => {
    const p = plan({
      initial_state: [{ type: "m.room.topic", content: { topic: "t" } }, { type: "m.room.power_levels", content: { users: { [ME]: 100 }, ban: 10 } }],
      power_level_content_override: { ban: 20 },
    });
    assert.deepEqual(p.events.filter((e) => e.type === "m.room.power_levels").map((e) => e.content), [{ users: { [ME]: 100 }, ban: 20 }]);
    assert.equal(order(p).indexOf("m.room.power_levels"), 2);
    assert.equal(order(p).indexOf("m.room.topic"), 6);
  });
  it("lets initial_state's canonical alias replace the one room_alias_name implies", () => {
    const p = plan({ room_alias_name: "a", initial_state: [{ type: "m.room.canonical_alias", content: { alias: "#b:here.org" } }] }, "#a:here.org");
    assert.deepEqual(p.events.filter((e) => e.type === "m.room.canonical_alias").map((e) => e.content), [{ alias: "#b:here.org" }]);
  });
  it("sends the canonical alias it is given", () => assert.deepEqual(find(plan({ room_alias_name: "a" }, "#a:here.org"), "m.room.canonical_alias"), { alias: "#a:here.org" }));
  it("lets name and topic overwrite initial_state's, and sends the topic as text/plain too", () => {
    const p = plan({ name: "N", topic: "T", initial_state: [{ type: "m.room.name", content: { name: "old" } }, { type: "m.room.topic", content: { topic: "old" } }] });
    assert.deepEqual(p.events.filter((e) => e.type === "m.room.name").map((e) => e.content), [{ name: "N" }]);
    assert.deepEqual(p.events.filter((e) => e.type === "m.room.topic").map((e) => e.content), [{ topic: "T", "m.topic": { "m.text": [{ body: "T", mimetype: "text/plain" }] } }]);
  });
  it("keeps initial_state's name when no name is given", () => {
    assert.deepEqual(find(plan({ initial_state: [{ type: "m.room.name", content: { name: "old" } }] }), "m.room.name"), { name: "old" });
  });
  it("invites each user once, with is_direct when asked", () => {
    const p = plan({ invite: [BOB, BOB], is_direct: true });
    assert.deepEqual(p.events.filter((e) => e.type === "m.room.member" && e.stateKey === BOB).map((e) => e.content), [{ membership: "invite", is_direct: true }]);
    assert.deepEqual(find(plan({ invite: [BOB] }), "m.room.member", BOB), { membership: "invite" });
  });
  it("puts the creator's profile in their join", () => {
    const p = planCreateRoom(parseCreateRoomRequest({}, ME, limits), { creator: ME, creatorProfile: { displayname: "Me", membership: "leave" } });
    assert.deepEqual(find(p, "m.room.member", ME), { displayname: "Me", membership: "join" });
  });
  it("ignores invite_3pid", () => assert.equal(plan({ invite_3pid: [{ id_server: "x", medium: "email", address: "a@b" }] }).events.length, 6));
});

describe("parseCreateRoomRequest errors", () => {
  it("refuses a non-object body with M_BAD_JSON", () => {
    refuses([], "M_BAD_JSON", /body/);
    refuses(null, "M_BAD_JSON", /body/);
  });
  it("refuses an unknown room version with M_UNSUPPORTED_ROOM_VERSION", () => {
    refuses({ room_version: "13" }, "M_UNSUPPORTED_ROOM_VERSION", /13/);
    refuses({ room_version: "org.example.v1" }, "M_UNSUPPORTED_ROOM_VERSION", /org\.example/);
  });
  it("refuses wrong types with M_BAD_JSON naming the field", () => {
    refuses({ room_version: 11 }, "M_BAD_JSON", /room_version/);
    refuses({ name: 1 }, "M_BAD_JSON", /^name/);
    refuses({ topic: {} }, "M_BAD_JSON", /^topic/);
    refuses({ invite: BOB }, "M_BAD_JSON", /^invite/);
    refuses({ invite: [1] }, "M_BAD_JSON", /invite\[0\]/);
    refuses({ invite_3pid: {} }, "M_BAD_JSON", /invite_3pid/);
    refuses({ initial_state: {} }, "M_BAD_JSON", /initial_state/);
    refuses({ initial_state: [{ content: {} }] }, "M_BAD_JSON", /initial_state\[0\]\.type/);
    refuses({ initial_state: [{ type: "a", state_key: 1, content: {} }] }, "M_BAD_JSON", /initial_state\[0\]\.state_key/);
    refuses({ initial_state: [{ type: "a", content: [] }] }, "M_BAD_JSON", /initial_state\[0\]\.content/);
    refuses({ creation_content: "x" }, "M_BAD_JSON", /creation_content/);
    refuses({ power_level_content_override: [] }, "M_BAD_JSON", /power_level_content_override/);
    refuses({ is_direct: "yes" }, "M_BAD_JSON", /is_direct/);
    refuses({ preset: 1 }, "M_BAD_JSON", /preset/);
  });
  it("refuses bad values with M_INVALID_PARAM naming the field", () => {
    refuses({ visibility: "secret" }, "M_INVALID_PARAM", /visibility/);
    refuses({ preset: "party" }, "M_INVALID_PARAM", /preset/);
    refuses({ invite: ["bob"] }, "M_INVALID_PARAM", /invite\[0\]/);
    refuses({ invite: [ME] }, "M_INVALID_PARAM", /invite\[0\]/);
    refuses({ room_alias_name: "a:b" }, "M_INVALID_PARAM", /room_alias_name/);
    refuses({ room_alias_name: "" }, "M_INVALID_PARAM", /room_alias_name/);
    refuses({ room_alias_name: "a b" }, "M_INVALID_PARAM", /room_alias_name/);
    refuses({ initial_state: [{ type: "m.room.create", content: {} }] }, "M_INVALID_PARAM", /initial_state\[0\]\.type/);
    refuses({ invite: Array.from({ length: 1001 }, (_, i) => `@u${i}:x.org`) }, "M_INVALID_PARAM", /invite/);
  });
});

describe("roomAliasFromName", () => {
  it("makes #name:server", () => assert.equal(roomAliasFromName("pub", "here.org" as ServerName), "#pub:here.org"));
  it("refuses an alias longer than 255 bytes with M_INVALID_PARAM naming room_alias_name", () => {
    const e = thrownMatrixError(() => roomAliasFromName("a".repeat(250), "here.org" as ServerName));
    assert.equal(e.errcode, "M_INVALID_PARAM");
    assert.match(e.message, /room_alias_name/);
  });
});
