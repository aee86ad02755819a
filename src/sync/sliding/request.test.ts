import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatrixError } from "../../core/errors.js";
import type { UserId } from "../../core/ids/index.js";
import { MAX_TIMELINE_LIMIT, parseSlidingRequest } from "./request.js";

const ME = "@me:zion.test" as UserId;
const list = (extra: Record<string, unknown> = {}) => ({ ranges: [[0, 9]], timeline_limit: 1, required_state: [], ...extra });
const refuses = (body: unknown, errcode: string, field: RegExp) =>
  assert.throws(() => parseSlidingRequest(body, ME), (e: unknown) => e instanceof MatrixError && e.errcode === errcode && e.status === 400 && field.test(e.message));

describe("parseSlidingRequest", () => {
  it("reads Synapse's required_state pairs: * wildcards, $ME as the user, $LAZY as lazy members", () => {
    const r = parseSlidingRequest({ lists: { l: list({ required_state: [["*", "*"], ["m.room.member", "$LAZY"], ["m.room.member", "$ME"], ["m.space.child", "*"], ["*", ""]] }) } }, ME);
    assert.deepEqual(r.lists.get("l")!.config.requiredState, [{
      include: [{ type: null, stateKey: null }, { type: "m.room.member", stateKey: ME }, { type: "m.space.child", stateKey: null }, { type: null, stateKey: "" }],
      exclude: [],
      lazy: true,
    }]);
  });

  it("reads the MSC's include / exclude / lazy_members form and its range and is_invited spellings", () => {
    const r = parseSlidingRequest({ lists: { l: { range: [2, 5], timeline_limit: 3, required_state: { include: [{}, { type: "m.room.member", state_key: "$ME" }], exclude: [{ type: "m.room.create" }], lazy_members: true }, filters: { is_invited: true } } } }, ME);
    const l = r.lists.get("l")!;
    assert.deepEqual(l.ranges, [[2, 5]]);
    assert.deepEqual(l.filters, { isInvite: true });
    assert.deepEqual(l.config.requiredState[0], { include: [{ type: null, stateKey: null }, { type: "m.room.member", stateKey: ME }], exclude: [{ type: "m.room.create", stateKey: null }], lazy: true });
  });

  it("defaults conn_id to the empty string and extension scopes to everything, and ignores unknown fields and extensions", () => {
    const r = parseSlidingRequest({ lists: { l: list({ bogus: true }) }, extensions: { typing: { enabled: true }, receipts: { enabled: true, lists: ["l"], rooms: ["*"] }, account_data: { enabled: false }, "x.unknown": { enabled: true } }, unknown_top: 1 }, ME);
    assert.equal(r.connId, "");
    assert.deepEqual(r.extensions.typing, { lists: null, rooms: null });
    assert.deepEqual(r.extensions.receipts, { lists: ["l"], rooms: null });
    assert.equal(r.extensions.accountData, undefined, "not enabled");
  });

  it("treats a list without ranges, or with slow_get_all_rooms, as the whole list", () => {
    assert.equal(parseSlidingRequest({ lists: { l: { timeline_limit: 1, required_state: [] } } }, ME).lists.get("l")!.ranges, null);
    assert.equal(parseSlidingRequest({ lists: { l: list({ slow_get_all_rooms: true }) } }, ME).lists.get("l")!.ranges, null);
  });

  it("refuses wrong types with M_BAD_JSON and out-of-bounds values with M_INVALID_PARAM, naming the field", () => {
    refuses([], "M_BAD_JSON", /body/);
    refuses({ lists: { l: list({ ranges: [[3, 1]] }) } }, "M_INVALID_PARAM", /lists\.l\.ranges\[0\]: start is after end/);
    refuses({ lists: { l: list({ ranges: [["0", 1]] }) } }, "M_BAD_JSON", /lists\.l\.ranges\[0\]\[0\]/);
    refuses({ lists: { l: list({ ranges: "0-9" }) } }, "M_BAD_JSON", /lists\.l\.ranges/);
    refuses({ lists: { l: list({ ranges: Array.from({ length: 101 }, () => [0, 1]) }) } }, "M_INVALID_PARAM", /lists\.l\.ranges.*100/);
    refuses({ lists: { l: list({ timeline_limit: MAX_TIMELINE_LIMIT + 1 }) } }, "M_INVALID_PARAM", /timeline_limit: must be between 0 and 1000/);
    refuses({ lists: { l: list({ timeline_limit: -1 }) } }, "M_INVALID_PARAM", /timeline_limit/);
    refuses({ lists: { l: { ranges: [[0, 1]], timeline_limit: 1 } } }, "M_BAD_JSON", /lists\.l\.required_state: is required/);
    refuses({ lists: { l: list({ required_state: [["a", 1]] }) } }, "M_BAD_JSON", /required_state\[0\]/);
    refuses({ lists: { l: list({ required_state: "all" }) } }, "M_BAD_JSON", /required_state/);
    refuses({ lists: { l: list({ filters: { room_types: [1] } }) } }, "M_BAD_JSON", /filters\.room_types\[0\]/);
    refuses({ lists: { l: list({ filters: { spaces: ["nope"] } }) } }, "M_INVALID_PARAM", /filters\.spaces\[0\]/);
    refuses({ room_subscriptions: { "!r:zion.test": { timeline_limit: 1 } } }, "M_BAD_JSON", /room_subscriptions\.!r:zion\.test\.required_state/);
    refuses({ room_subscriptions: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`!r${i}:zion.test`, { timeline_limit: 1, required_state: [] }])) }, "M_INVALID_PARAM", /room_subscriptions.*100/);
    refuses({ conn_id: "x".repeat(256) }, "M_INVALID_PARAM", /conn_id/);
    refuses({ extensions: { to_device: { enabled: true, limit: 0 } } }, "M_INVALID_PARAM", /extensions\.to_device\.limit/);
    refuses({ extensions: { to_device: { enabled: true, since: "01" } } }, "M_INVALID_PARAM", /extensions\.to_device\.since/);
    refuses({ extensions: { typing: { enabled: "yes" } } }, "M_BAD_JSON", /extensions\.typing\.enabled/);
  });
});
