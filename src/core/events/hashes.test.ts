/** Content hash, reference hash and the one-pass measurement the receipt path uses. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { bounded, PROPERTY_LIMITS } from "../../../test/gen/property.js";
import { canonicalJson } from "../json/canonical.js";
import type { JsonObject } from "../json/types.js";
import { roomVersion } from "../room-versions/rules.js";
import { PduFormatError } from "./errors.js";
import { buildPdu } from "./build.js";
import { checkPdu } from "./check.js";
import { contentHash, measureEvent, redactedSignedText, referenceHash } from "./hashes.js";
import { MAX_PDU_BYTES } from "./parse.js";
import { redactEvent } from "./redact.js";
import { lookupOf, testKey } from "./test-keys.js";

const V10 = roomVersion("10");
const sha = (s: string) => createHash("sha256").update(s, "utf8").digest();

const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, fc.string({ unit: "grapheme", maxLength: 8 }), fc.maxSafeInteger(), fc.boolean(), fc.constant(null), fc.array(tie("v"), { maxLength: 3 }), fc.dictionary(fc.string({ unit: "grapheme", maxLength: 5 }), tie("v"), { maxKeys: 3 })),
})).v;
const event = fc.record({
  type: fc.constantFrom("m.room.message", "m.room.member", "m.room.create", "m.room.power_levels", "x"),
  content: fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 4 }),
  sender: fc.string({ unit: "grapheme", maxLength: 10 }),
  depth: fc.nat(),
  hashes: fc.dictionary(fc.string({ maxLength: 6 }), fc.string(), { maxKeys: 2 }),
  signatures: fc.dictionary(fc.string({ maxLength: 6 }), fc.dictionary(fc.string({ maxLength: 6 }), fc.string(), { maxKeys: 2 }), { maxKeys: 2 }),
  unsigned: fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 2 }),
  extra: value,
}, { requiredKeys: [] });

describe("event hashes", () => {
  it("content hash: SHA-256 of the canonical event without unsigned, signatures and hashes", () => {
    fc.assert(fc.property(bounded(event), (e) => {
      const { unsigned: _u, signatures: _s, hashes: _h, ...rest } = e;
      assert.deepEqual(Buffer.from(contentHash(e as JsonObject, V10)), sha(canonicalJson(rest)));
    }), { numRuns: 300, ...PROPERTY_LIMITS });
  });

  it("reference hash: SHA-256 of the canonical redacted event without signatures and unsigned, for every version", () => {
    fc.assert(fc.property(bounded(event), fc.constantFrom("1", "3", "6", "8", "9", "11", "12"), (e, v) => {
      const rules = roomVersion(v);
      const { signatures: _s, unsigned: _u, ...rest } = redactEvent(e as JsonObject, rules);
      assert.equal(redactedSignedText(e as JsonObject, rules), canonicalJson(rest));
      assert.deepEqual(Buffer.from(referenceHash(e as JsonObject, rules)), sha(canonicalJson(rest)));
    }), { numRuns: 300, ...PROPERTY_LIMITS });
  });

  it("measureEvent gives the exact UTF-8 size of the whole canonical event and its content hash", () => {
    fc.assert(fc.property(bounded(event), (e) => {
      const m = measureEvent(e as JsonObject, V10);
      assert.equal(m.canonicalBytes, Buffer.byteLength(canonicalJson(e), "utf8"));
      assert.deepEqual(m.contentHash, contentHash(e as JsonObject, V10));
    }), { numRuns: 500, ...PROPERTY_LIMITS });
    for (const e of [{}, { hashes: {} }, { hashes: {}, signatures: {}, unsigned: {} }, { a: 1, unsigned: { x: "é" } }]) {
      assert.equal(measureEvent(e as JsonObject, V10).canonicalBytes, Buffer.byteLength(canonicalJson(e)));
    }
  });

  it("measureEvent names the path of a value canonical JSON refuses, inside or outside the hashed part", () => {
    assert.throws(() => measureEvent({ content: { n: 1.5 } }, V10), (e: unknown) => e instanceof PduFormatError && e.field === "content.n");
    assert.throws(() => measureEvent({ unsigned: { age: 0.5 } }, V10), (e: unknown) => e instanceof PduFormatError && e.field === "unsigned.age");
  });

  it("checkPdu drops an event one byte over the size limit (unsigned counts too), keeps one at the limit; buildPdu refuses to build one over", () => {
    const key = testKey("a.test");
    const lookup = lookupOf([{ server: "a.test", key }]);
    const make = (pad: number) => buildPdu(V10, { type: "m.room.message", sender: "@a:a.test", roomId: "!r:a.test", content: { body: "x".repeat(pad) }, prevEvents: [], authEvents: [], depth: 1, originServerTs: 1 }, { serverName: "a.test", key }).raw;
    const base = Buffer.byteLength(canonicalJson(make(0)));
    const atLimit = make(MAX_PDU_BYTES - base);
    assert.equal(Buffer.byteLength(canonicalJson(atLimit)), MAX_PDU_BYTES);
    assert.deepEqual(checkPdu(atLimit, V10, lookup).failures, []);
    assert.throws(() => make(MAX_PDU_BYTES - base + 1), (e: unknown) => e instanceof PduFormatError && e.errcode === "M_TOO_LARGE");
    const smaller = make(MAX_PDU_BYTES - base - 10);
    const over = { ...smaller, unsigned: { a: "" } }; // `,"unsigned":{"a":""}` adds 20 bytes
    assert.equal(Buffer.byteLength(canonicalJson(over)), MAX_PDU_BYTES - 10 + 20);
    const v = checkPdu(over, V10, lookup);
    assert.equal(v.ok, false);
    assert.deepEqual(v.failures.map((f) => f.check), ["format"]);
    assert.match(v.failures[0]!.reason, /65546 bytes as canonical JSON, over the limit of 65536/);
  });
});
