/** Format checks of received PDUs (step 1 of the receipt checks; size limits of the C-S API). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsonObject, JsonValue } from "../json/types.js";
import { roomVersion } from "../room-versions/rules.js";
import { buildPdu } from "./build.js";
import { PduFormatError } from "./errors.js";
import { MAX_AUTH_EVENTS, MAX_PDU_BYTES, MAX_PREV_EVENTS, parsePdu, tryParsePdu } from "./parse.js";
import { testKey } from "./test-keys.js";

const signer = { serverName: "a.test", key: testKey("a.test") };
const V10 = roomVersion("10");
const V1 = roomVersion("1");
const V5 = roomVersion("5");
const V12 = roomVersion("12");

const good = buildPdu(V10, {
  type: "m.room.member", stateKey: "@alice:a.test", sender: "@alice:a.test", roomId: "!room:a.test",
  content: { membership: "join" }, prevEvents: ["$p"], authEvents: ["$a1", "$a2"], depth: 4, originServerTs: 99,
}, signer).raw;

function refused(raw: unknown, field: string, re: RegExp, rules = V10, errcode = "M_BAD_JSON"): void {
  assert.throws(() => parsePdu(raw, rules), (e: unknown) => {
    assert.ok(e instanceof PduFormatError, `not a PduFormatError: ${String(e)}`);
    assert.equal(e.field, field);
    assert.equal(e.errcode, errcode);
    assert.match(e.message, re);
    return true;
  });
}

const with_ = (patch: Record<string, JsonValue | undefined>): JsonObject => {
  const out: Record<string, JsonValue> = { ...good };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
};

describe("parsePdu", () => {
  it("normalises a good v10 event", () => {
    const p = parsePdu(good, V10);
    assert.equal(p.type, "m.room.member");
    assert.equal(p.stateKey, "@alice:a.test");
    assert.equal(p.sender, "@alice:a.test");
    assert.equal(p.roomId, "!room:a.test");
    assert.deepEqual(p.prevEvents, ["$p"]);
    assert.deepEqual(p.authEvents, ["$a1", "$a2"]);
    assert.equal(p.depth, 4);
    assert.equal(p.originServerTs, 99);
    assert.equal(p.redacts, undefined);
    assert.equal(p.roomVersion, V10);
    assert.equal(p.raw, good);
    assert.match(p.eventId, /^\$[A-Za-z0-9_-]{43}$/);
  });

  it("names each missing or mistyped required field", () => {
    refused(with_({ type: undefined }), "type", /must be a string, got nothing/);
    refused(with_({ type: 5 }), "type", /must be a string, got a number/);
    refused(with_({ sender: undefined }), "sender", /must be a string/);
    refused(with_({ sender: "alice" }), "sender", /must start with '@'/);
    refused(with_({ room_id: undefined }), "room_id", /must be a string/);
    refused(with_({ room_id: "!nodomain" }), "room_id", /must be '!opaque:server'/);
    refused(with_({ content: [] }), "content", /must be an object, got an array/);
    refused(with_({ depth: "4" }), "depth", /must be an integer, got a string/);
    refused(with_({ depth: -1 }), "depth", /must not be negative/);
    refused(with_({ origin_server_ts: null }), "origin_server_ts", /must be an integer, got null/);
    refused(with_({ hashes: undefined }), "hashes", /must be an object/);
    refused(with_({ hashes: { sha256: 1 } }), "hashes.sha256", /must be a string/);
    refused(with_({ signatures: undefined }), "signatures", /must be an object/);
    refused(with_({ signatures: { "a.test": "x" } }), 'signatures["a.test"]', /must be an object/);
    refused(with_({ signatures: { "a.test": { "ed25519:1": 5 } } }), 'signatures["a.test"]["ed25519:1"]', /must be a string/);
    refused(with_({ unsigned: 5 }), "unsigned", /must be an object/);
    refused(with_({ prev_events: "$p" }), "prev_events", /must be an array/);
    refused(with_({ auth_events: ["$a", 7] }), "auth_events[1]", /must be a string/);
    refused(with_({ auth_events: ["$a", "nodollar"] }), "auth_events[1]", /must start with '\$'/);
    refused(with_({ state_key: 1 }), "state_key", /must be a string/);
    refused("not an object", "(event)", /must be a JSON object, got a string/);
    refused([good], "(event)", /got an array/);
  });

  it("refuses ids, types and state keys over 255 bytes, counting UTF-8 bytes", () => {
    refused(with_({ type: "t".repeat(256) }), "type", /longer than 255 bytes/);
    assert.equal(parsePdu(with_({ type: "t".repeat(255) }), V10).type.length, 255);
    refused(with_({ state_key: "é".repeat(128) }), "state_key", /longer than 255 bytes/); // 256 bytes, 128 chars
    refused(with_({ sender: `@${"a".repeat(250)}:a.test` }), "sender", /longer than 255 bytes/);
    refused(with_({ room_id: `!${"r".repeat(250)}:a.test` }), "room_id", /longer than 255 bytes/);
    refused(with_({ prev_events: [`$${"e".repeat(255)}`] }), "prev_events[0]", /longer than 255 bytes/);
  });

  it("refuses an event over 65,536 bytes of canonical JSON with M_TOO_LARGE, and accepts one at the limit", () => {
    const base = with_({ content: { membership: "join", pad: "" } });
    const baseLen = JSON.stringify(base).length; // ASCII, and JSON.stringify has no spaces: same length as canonical
    const atLimit = with_({ content: { membership: "join", pad: "x".repeat(MAX_PDU_BYTES - baseLen) } });
    assert.equal(parsePdu(atLimit, V10).content["pad"]!.toString().length, MAX_PDU_BYTES - baseLen);
    const over = with_({ content: { membership: "join", pad: "x".repeat(MAX_PDU_BYTES - baseLen + 1) } });
    refused(over, "(event)", /65537 bytes as canonical JSON, over the limit of 65536/, V10, "M_TOO_LARGE");
    // multi-byte characters count as bytes
    const wide = with_({ content: { membership: "join", pad: "日".repeat(22_000) } });
    refused(wide, "(event)", /over the limit/, V10, "M_TOO_LARGE");
  });

  it("refuses floats and out-of-range integers from v6, naming the path, and lets v1-v5 through", () => {
    refused(with_({ content: { membership: "join", n: 1.5 } }), "content.n", /not an integer/);
    refused(with_({ content: { membership: "join", n: 2 ** 60 } }), "content.n", /outside/);
    const legacy = buildPdu(V5, { type: "m.room.message", sender: "@a:a.test", roomId: "!r:a.test", content: { n: 1.5 }, prevEvents: [], authEvents: [], depth: 1, originServerTs: 1 }, signer);
    assert.deepEqual(parsePdu(legacy.raw, V5).content, { n: 1.5 });
  });

  it("reads v1 [id, hashes] pairs and the minted event_id, and checks their shapes", () => {
    const v1 = buildPdu(V1, { type: "m.room.message", sender: "@a:a.test", roomId: "!r:a.test", content: {}, prevEvents: [{ eventId: "$p:a.test", sha256: "x" }], authEvents: [], depth: 1, originServerTs: 1, eventId: "$e:a.test" }, signer).raw;
    assert.deepEqual(parsePdu(v1, V1).prevEvents, ["$p:a.test"]);
    refused({ ...v1, prev_events: ["$p:a.test"] }, "prev_events[0]", /must be an \[event id, hashes\] pair/, V1);
    refused({ ...v1, prev_events: [["$p:a.test", "h"]] }, "prev_events[0][1]", /object of hashes/, V1);
    refused({ ...v1, event_id: undefined }, "event_id", /must be a string/, V1);
    refused({ ...v1, event_id: "$nodomain" }, "event_id", /'\$opaque:server'/, V1);
  });

  it("reads redacts from the top level up to v10 and from content from v11, checking its type", () => {
    refused(with_({ type: "m.room.redaction", redacts: 5 }), "redacts", /must be a string/);
    const v11 = buildPdu(roomVersion("11"), { type: "m.room.redaction", sender: "@a:a.test", roomId: "!r:a.test", content: { redacts: "$x" }, prevEvents: [], authEvents: [], depth: 1, originServerTs: 1 }, signer).raw;
    assert.equal(parsePdu(v11, roomVersion("11")).redacts, "$x");
    refused({ ...v11, content: { redacts: ["$x"] } }, "content.redacts", /must be a string/, roomVersion("11"));
    // a top-level redacts means nothing in v11
    assert.equal(parsePdu({ ...v11, content: {}, redacts: "$y" }, roomVersion("11")).redacts, undefined);
  });

  it("v12: refuses a create event with a room_id and a room id with a server part", () => {
    const create = buildPdu(V12, { type: "m.room.create", stateKey: "", sender: "@a:a.test", content: {}, prevEvents: [], authEvents: [], depth: 1, originServerTs: 1 }, signer).raw;
    refused({ ...create, room_id: "!x:a.test" }, "room_id", /must be absent on an m.room.create event in room version 12/, V12);
    const msg = buildPdu(V12, { type: "m.room.message", sender: "@a:a.test", roomId: "!" + "Z".repeat(43), content: {}, prevEvents: [], authEvents: [], depth: 2, originServerTs: 1 }, signer).raw;
    refused({ ...msg, room_id: "!r:a.test" }, "room_id", /43-character URL-safe hash/, V12);
  });

  it("refuses more than 20 prev_events and more than 10 auth_events (step 6), in every event format", () => {
    assert.equal(MAX_PREV_EVENTS, 20);
    assert.equal(MAX_AUTH_EVENTS, 10);
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `$e${i}`);
    const pairs = (n: number) => Array.from({ length: n }, (_, i) => [`$e${i}:a.test`, { sha256: "x" }]);
    assert.equal(parsePdu(with_({ prev_events: ids(20), auth_events: ids(10) }), V10).prevEvents.length, 20, "the limits themselves are allowed");
    refused(with_({ prev_events: ids(21) }), "prev_events", /lists 21 events, over the limit of 20/);
    refused(with_({ auth_events: ids(11) }), "auth_events", /lists 11 events, over the limit of 10/);
    const v1 = buildPdu(V1, {
      type: "m.room.message", sender: "@alice:a.test", roomId: "!room:a.test", content: {}, prevEvents: [], authEvents: [],
      depth: 1, originServerTs: 1, eventId: "$m:a.test",
    }, signer).raw;
    refused({ ...v1, prev_events: pairs(21) }, "prev_events", /over the limit of 20/, V1);
    refused({ ...v1, auth_events: pairs(11) }, "auth_events", /over the limit of 10/, V1);
  });

  it("tryParsePdu returns a verdict instead of throwing", () => {
    const r = tryParsePdu(with_({ type: undefined }), V10);
    assert.ok(!r.ok && r.error.field === "type");
    assert.ok(tryParsePdu(good, V10).ok);
  });
});
