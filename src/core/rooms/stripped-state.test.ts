import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatrixError } from "../errors.js";
import { MAX_STRIPPED_STATE, parseStrippedState } from "./stripped-state.js";

const name = { type: "m.room.name", state_key: "", content: { name: "x" }, sender: "@a:hs1" };

describe("parseStrippedState", () => {
  it("keeps the four stripped fields of each well-formed entry, also of whole PDUs (step 2)", () => {
    const pdu = { ...name, room_id: "!r:hs1", event_id: "$e", signatures: {}, origin_server_ts: 1 };
    assert.deepEqual(parseStrippedState([pdu], "invite_room_state"), [name]);
  });
  it("drops entries that are not stripped state events (step 2)", () => {
    assert.deepEqual(parseStrippedState([name, 3, { type: "m.room.topic" }, { ...name, content: "no" }, { ...name, state_key: 1 }], "invite_room_state"), [name]);
  });
  it("takes an absent value as no state (step 1)", () => {
    assert.deepEqual(parseStrippedState(undefined, "invite_room_state"), []);
  });
  it("refuses a value that is not an array, and more entries than the limit, with M_BAD_JSON naming the field (step 1)", () => {
    assert.throws(() => parseStrippedState({}, "invite_room_state"), (e: unknown) => e instanceof MatrixError && e.errcode === "M_BAD_JSON" && /invite_room_state/.test(e.message));
    assert.throws(() => parseStrippedState(Array(MAX_STRIPPED_STATE + 1).fill(name), "knock_room_state"), (e: unknown) => e instanceof MatrixError && e.errcode === "M_BAD_JSON" && /limit of 100/.test(e.message));
  });
});
