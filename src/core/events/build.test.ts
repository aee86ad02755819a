/** Building events in every room version, and their ids (rooms/v1..v12 "Event IDs"). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { canonicalJson } from "../json/canonical.js";
import type { JsonObject } from "../json/types.js";
import { ROOM_VERSIONS, roomVersion, type RoomVersionRules } from "../room-versions/rules.js";
import { OwnDataError } from "../errors.js";
import { PduFormatError } from "./errors.js";
import { buildPdu, signEvent } from "./build.js";
import { checkPdu } from "./check.js";
import { computeEventId, contentHash, referenceHash } from "./hashes.js";
import { testKey, lookupOf } from "./test-keys.js";

const key = testKey("a.test");
const other = testKey("b.test");
const signer = { serverName: "a.test", key };
const lookup = lookupOf([{ server: "a.test", key }, { server: "b.test", key: other }]);

/** The reference hash, computed independently of core: the spec's redaction written out for a message event. */
function independentRefHash(raw: JsonObject, rules: RoomVersionRules): Buffer {
  const keep = rules.id === "11" || rules.id === "12"
    ? ["event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "depth", "prev_events", "auth_events", "origin_server_ts"]
    : ["event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "depth", "prev_events", "prev_state", "auth_events", "origin", "origin_server_ts", "membership"];
  const redacted: Record<string, unknown> = {};
  for (const k of keep) if (k in raw) redacted[k] = k === "content" ? {} : raw[k];
  return createHash("sha256").update(canonicalJson(redacted)).digest();
}

function message(rules: RoomVersionRules, n: number) {
  return {
    type: "m.room.message",
    sender: "@alice:a.test",
    roomId: rules.roomId === "create-event-hash" ? "!" + "A".repeat(43) : "!room:a.test",
    content: { msgtype: "m.text", body: `hello ${n} 日本` },
    prevEvents: rules.eventFormat === "v1" ? [{ eventId: "$p:a.test", sha256: "abc" }] : ["$prev"],
    authEvents: rules.eventFormat === "v1" ? ["$c:a.test"] : ["$auth"],
    depth: 7,
    originServerTs: 1_700_000_000_000 + n,
    ...(rules.eventId === "server-minted" ? { eventId: `$m${n}:a.test` } : {}),
  };
}

describe("buildPdu and event ids in every room version", () => {
  for (const rules of ROOM_VERSIONS.values()) {
    it(`v${rules.id}: builds a message whose id has the version's format and which passes checkPdu`, () => {
      const pdu = buildPdu(rules, message(rules, 1), signer);
      if (rules.eventId === "server-minted") {
        assert.equal(pdu.eventId, "$m1:a.test");
        assert.equal(pdu.raw["event_id"], "$m1:a.test");
        assert.deepEqual(pdu.raw["prev_events"], [["$p:a.test", { sha256: "abc" }]]);
        assert.deepEqual(pdu.raw["auth_events"], [["$c:a.test", {}]]);
      } else {
        const hash = independentRefHash(pdu.raw, rules);
        const b64 = hash.toString("base64").replace(/=+$/, "");
        const expected = rules.eventId === "hash-base64" ? b64 : hash.toString("base64url");
        assert.equal(pdu.eventId, `$${expected}`);
        assert.equal(pdu.eventId.length, 44);
        assert.ok(!("event_id" in pdu.raw));
        assert.deepEqual(pdu.raw["prev_events"], ["$prev"]);
      }
      assert.deepEqual(Buffer.from(referenceHash(pdu.raw, rules)), independentRefHash(pdu.raw, rules));
      assert.equal(computeEventId(pdu.raw, rules), pdu.eventId);
      const v = checkPdu(pdu.raw, rules, lookup);
      assert.deepEqual(v.failures, []);
      assert.equal(v.ok, true);
      assert.equal(v.eventId, pdu.eventId);
    });
  }

  it("v3 ids use the standard alphabet and v4+ the URL-safe one, for the same hash", () => {
    // find a message whose reference hash has '+' or '/' in standard base64
    for (let n = 0; n < 200; n++) {
      const v3 = buildPdu(roomVersion("3"), message(roomVersion("3"), n), signer);
      if (/[+/]/.test(v3.eventId)) {
        const same = Buffer.from(referenceHash(v3.raw, roomVersion("4"))).toString("base64url");
        assert.equal(computeEventId(v3.raw, roomVersion("4")), `$${same}`);
        assert.ok(!/[+/]/.test(same));
        return;
      }
    }
    assert.fail("no hash with + or / in 200 tries");
  });

  it("changes the event id when any kept field changes, not when unsigned or non-kept content changes", () => {
    const rules = roomVersion("10");
    const pdu = buildPdu(rules, message(rules, 2), signer);
    assert.equal(computeEventId({ ...pdu.raw, unsigned: { age: 5 } }, rules), pdu.eventId);
    // body is not kept by redaction, but the content hash in `hashes` covers it; the id follows hashes
    assert.equal(computeEventId({ ...pdu.raw, content: { body: "x" } }, rules), pdu.eventId);
    assert.notEqual(computeEventId({ ...pdu.raw, depth: 8 }, rules), pdu.eventId);
    assert.notEqual(computeEventId({ ...pdu.raw, hashes: { sha256: "x" } }, rules), pdu.eventId);
  });

  it("puts redacts top level up to v10 and under content from v11", () => {
    const r10 = buildPdu(roomVersion("10"), { ...message(roomVersion("10"), 3), type: "m.room.redaction", content: {}, redacts: "$target" }, signer);
    assert.equal(r10.raw["redacts"], "$target");
    assert.equal(r10.redacts, "$target");
    const r11 = buildPdu(roomVersion("11"), { ...message(roomVersion("11"), 3), type: "m.room.redaction", content: {}, redacts: "$target" }, signer);
    assert.equal(r11.raw["redacts"], undefined);
    assert.deepEqual(r11.content, { redacts: "$target" });
    assert.equal(r11.redacts, "$target");
  });

  it("v12: a create event has no room_id; its room id is its event id with '!'", () => {
    const rules = roomVersion("12");
    const create = buildPdu(rules, {
      type: "m.room.create", stateKey: "", sender: "@alice:a.test", content: { room_version: "12" },
      prevEvents: [], authEvents: [], depth: 1, originServerTs: 1,
    }, signer);
    assert.ok(!("room_id" in create.raw));
    assert.equal(create.roomId, `!${create.eventId.slice(1)}`);
    assert.match(create.roomId, /^![A-Za-z0-9_-]{43}$/);
    const member = buildPdu(rules, { ...message(rules, 4), roomId: create.roomId, authEvents: [] }, signer);
    assert.equal(member.roomId, create.roomId);
    assert.equal(checkPdu(create.raw, rules, lookup, { roomId: create.roomId }).ok, true);
    assert.throws(() => buildPdu(rules, { type: "m.room.create", stateKey: "", sender: "@a:a.test", content: {}, roomId: "!x", prevEvents: [], authEvents: [], depth: 1, originServerTs: 1 }, signer), PduFormatError);
  });

  it("v11 create events without room_id are refused (only v12 derives it)", () => {
    assert.throws(() => buildPdu(roomVersion("11"), { type: "m.room.create", stateKey: "", sender: "@a:a.test", content: {}, prevEvents: [], authEvents: [], depth: 1, originServerTs: 1 }, signer), /room_id: is required/);
  });

  it("refuses a minted id where ids are hashes, and requires one where they are minted", () => {
    assert.throws(() => buildPdu(roomVersion("5"), { ...message(roomVersion("5"), 5), eventId: "$x:a.test" }, signer), /event_id: room version 5 derives/);
    const { eventId: _e, ...noId } = message(roomVersion("1"), 5);
    assert.throws(() => buildPdu(roomVersion("1"), noId, signer), /event_id: room version 1 needs/);
  });

  it("keeps unsigned out of the hashes and signature", () => {
    const rules = roomVersion("9");
    const pdu = buildPdu(rules, { ...message(rules, 6), unsigned: { age_ts: 1 } }, signer);
    assert.deepEqual(pdu.raw["unsigned"], { age_ts: 1 });
    const { unsigned: _u, ...without } = pdu.raw;
    assert.deepEqual(contentHash(without, rules), contentHash(pdu.raw, rules));
    assert.equal(checkPdu(pdu.raw, rules, lookup).ok, true);
  });

  it("signEvent adds a second server's signature without touching hashes (send_join co-signing)", () => {
    const rules = roomVersion("10");
    const pdu = buildPdu(rules, message(rules, 7), signer);
    const cosigned = signEvent(pdu.raw, rules, { serverName: "b.test", key: other });
    assert.deepEqual(cosigned["hashes"], pdu.raw["hashes"]);
    assert.deepEqual(Object.keys(cosigned["signatures"] as object).sort(), ["a.test", "b.test"]);
    assert.equal(computeEventId(cosigned, rules), pdu.eventId);
    assert.equal(checkPdu(cosigned, rules, lookup).ok, true);
  });
});

describe("buildPdu: whose fault a refusal is", () => {
  const base = {
    type: "m.room.message", sender: "@alice:a.test", roomId: "!room:a.test", content: { body: "hi" },
    prevEvents: ["$p"], authEvents: ["$a"], depth: 2, originServerTs: 5,
  };
  it("reports a field the server filled in (21 prev events, 11 auth events) as an OwnDataError, not a client error", () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `$e${i}`);
    for (const t of [{ ...base, prevEvents: ids(21) }, { ...base, authEvents: ids(11) }]) {
      assert.throws(() => buildPdu(roomVersion("10"), t, signer), (e: unknown) => {
        assert.ok(e instanceof OwnDataError, String(e));
        assert.ok(!(e instanceof PduFormatError));
        assert.match(e.message, /building a m\.room\.message event: (prev|auth)_events: lists \d+ events, over the limit/);
        return true;
      });
    }
  });
  it("keeps a field the client chose (a type over 255 bytes) a PduFormatError", () => {
    assert.throws(() => buildPdu(roomVersion("10"), { ...base, type: "x".repeat(256) }, signer), PduFormatError);
  });
});
