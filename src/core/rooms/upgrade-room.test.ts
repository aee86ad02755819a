/**
 * Room upgrades as data (https://spec.matrix.org/v1.16/client-server-api/#server-behaviour-19): the replacement
 * room's event order, what is copied, power levels across versions, and the old room's restriction.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EventId, RoomId, UserId } from "../ids/index.js";
import { ROOM_VERSIONS } from "../room-versions/rules.js";
import { planRoomUpgrade, restrictedOldPowerLevels, type OldStateEntry, type RoomUpgradeInput } from "./upgrade-room.js";

const ME = "@me:here.org" as UserId;
const BOB = "@bob:there.org" as UserId;
const pl = (users: Record<string, number>, extra: Record<string, unknown> = {}): OldStateEntry => ({
  type: "m.room.power_levels", stateKey: "", content: { users, state_default: 50, events: { "m.room.power_levels": 100, "m.room.tombstone": 100 }, ...extra } as never,
});
const base = (version: string, oldState: OldStateEntry[], extra: Partial<RoomUpgradeInput> = {}): RoomUpgradeInput => ({
  rules: ROOM_VERSIONS.get(version)!, upgrader: ME, oldRoomId: "!old:here.org" as RoomId, lastEventId: "$last" as EventId,
  oldCreateContent: { room_version: "10", creator: ME, "m.federate": false, type: "m.space", junk: 1 }, oldPrivilegedCreators: [], oldState, ...extra,
});
const order = (events: readonly { type: string; stateKey: string }[]) => events.map((e) => (e.stateKey ? `${e.type}/${e.stateKey}` : e.type));

describe("planRoomUpgrade", () => {
  it("orders create, join, power levels, the copied state, space children, bans and the canonical alias; no other members", () => {
    const plan = planRoomUpgrade(base("11", [
      pl({ [ME]: 100 }),
      { type: "m.room.name", stateKey: "", content: { name: "n" } },
      { type: "m.room.join_rules", stateKey: "", content: { join_rule: "public" } },
      { type: "m.space.child", stateKey: "!c:here.org", content: { via: ["here.org"] } },
      { type: "m.room.member", stateKey: BOB, content: { membership: "ban", reason: "r", displayname: "x" } },
      { type: "m.room.member", stateKey: "@joined:here.org", content: { membership: "join" } },
      { type: "m.room.canonical_alias", stateKey: "", content: { alias: "#a:here.org" } },
    ]));
    assert.deepEqual(order(plan.events), ["m.room.create", `m.room.member/${ME}`, "m.room.power_levels", "m.room.name", "m.room.join_rules", "m.space.child/!c:here.org", `m.room.member/${BOB}`, "m.room.canonical_alias"]);
    assert.deepEqual(plan.events[0]!.content, { room_version: "11", predecessor: { room_id: "!old:here.org", event_id: "$last" }, type: "m.space", "m.federate": false });
    assert.deepEqual(plan.events[6]!.content, { membership: "ban", reason: "r" });
    assert.ok(plan.events.every((e) => e.sender === ME));
  });

  it("raises an upgrader who could not send the copied state, then restores the old levels", () => {
    const plan = planRoomUpgrade(base("10", [pl({ [ME]: 50 }), { type: "m.room.name", stateKey: "", content: { name: "n" } }]));
    const pls = plan.events.filter((e) => e.type === "m.room.power_levels");
    assert.equal(pls.length, 2);
    assert.equal((pls[0]!.content["users"] as Record<string, number>)[ME], 100);
    assert.equal((pls[1]!.content["users"] as Record<string, number>)[ME], 50);
    assert.equal(plan.events[plan.events.length - 1]!.type, "m.room.power_levels");
    assert.equal(plan.events[0]!.content["creator"], ME, "v10 names the creator");
  });

  it("v12: creators leave users, tombstone above state_default, additional creators; a downgrade lists the old creators", () => {
    const up = planRoomUpgrade(base("12", [pl({ [ME]: 100, [BOB]: 100 }, { events: {} })], { additionalCreators: [BOB, ME] }));
    assert.deepEqual(up.events[0]!.content["additional_creators"], [BOB]);
    assert.equal(up.events[0]!.content["creator"], undefined);
    const content = up.events.find((e) => e.type === "m.room.power_levels")!.content;
    assert.deepEqual(content["users"], {});
    assert.equal((content["events"] as Record<string, number>)["m.room.tombstone"], 150);
    assert.equal(up.roomIdFromCreateEvent, true);
    const down = planRoomUpgrade(base("11", [pl({})], { oldPrivilegedCreators: [ME] }));
    assert.equal((down.events.find((e) => e.type === "m.room.power_levels")!.content["users"] as Record<string, number>)[ME], 100);
  });
});

describe("restrictedOldPowerLevels", () => {
  it("sets events_default and invite to the greater of 50 and users_default + 1, never lowering them", () => {
    assert.deepEqual(restrictedOldPowerLevels({ users_default: 0, invite: 0 }), { users_default: 0, invite: 50, events_default: 50 });
    assert.deepEqual(restrictedOldPowerLevels({ users_default: 60, events_default: 100 }), { users_default: 60, events_default: 100, invite: 61 });
  });
});
