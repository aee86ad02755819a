import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import fc from "fast-check";
import { bounded, PROPERTY_LIMITS } from "../../../test/gen/property.js";
import { decodeBase64, encodeBase64 } from "../json/base64.js";
import { canonicalJson } from "../json/canonical.js";
import type { JsonObject } from "../json/types.js";
import { signingKeyFromSeed } from "./keys.js";
import { signJson, verifyJsonSignature, verifyJsonSignatures } from "./sign.js";
import { sha256 } from "./primitives.js";

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../../../test/fixtures/signed-json/spec-appendix.json", import.meta.url)), "utf8"),
) as { signing: { seed: string; serverName: string; keyId: string; json: { input: JsonObject; signed: JsonObject }[] } };
const spec = fixture.signing;
const key = signingKeyFromSeed("1", decodeBase64(spec.seed));

describe("signJson: the specification's test vectors (appendices, JSON Signing)", () => {
  for (const c of spec.json) {
    it(`signs ${JSON.stringify(c.input)} exactly as the spec prints`, () => {
      const signed = signJson(c.input, spec.serverName, key);
      assert.equal(canonicalJson(signed), canonicalJson(c.signed));
      assert.deepEqual(verifyJsonSignature(c.signed, spec.serverName, spec.keyId, key.publicKey), { ok: true });
    });
  }
});

describe("signJson / verifyJsonSignature", () => {
  const other = signingKeyFromSeed("2", new Uint8Array(32).fill(7));

  it("keeps unsigned and earlier signatures, and the signature does not cover them", () => {
    const first = signJson({ a: 1, unsigned: { age: 5 } }, "one.test", other);
    const both = signJson(first, "domain", key);
    assert.deepEqual(both["unsigned"], { age: 5 });
    assert.deepEqual(Object.keys((both as JsonObject)["signatures"] as object).sort(), ["domain", "one.test"]);
    const changedUnsigned = { ...both, unsigned: { age: 99 } };
    assert.deepEqual(verifyJsonSignature(changedUnsigned, "one.test", "ed25519:2", other.publicKey), { ok: true });
    assert.deepEqual(verifyJsonSignature(changedUnsigned, "domain", "ed25519:1", key.publicKey), { ok: true });
  });

  it("adds a second key's signature for the same server beside the first", () => {
    const s = signJson(signJson({ x: "y" }, "domain", key), "domain", { ...other, keyId: other.keyId });
    assert.deepEqual(Object.keys(((s as JsonObject)["signatures"] as Record<string, object>)["domain"]!).sort(), ["ed25519:1", "ed25519:2"]);
  });

  it("produces signatures that node:crypto's independent ed25519 accepts", () => {
    const signed = signJson({ hello: "world", n: 3 }, "domain", key);
    const sig = decodeBase64((((signed as JsonObject)["signatures"] as Record<string, Record<string, string>>)["domain"]!)["ed25519:1"]!);
    const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(key.publicKey)]);
    const pub = createPublicKey({ key: spki, format: "der", type: "spki" });
    assert.ok(nodeVerify(null, Buffer.from('{"hello":"world","n":3}'), pub, Buffer.from(sig)));
  });

  it("gives a reason for each way a check fails", () => {
    const signed = signJson({ a: 1 }, "domain", key);
    const r = (o: JsonObject, s = "domain", k = "ed25519:1", pk = key.publicKey) => {
      const v = verifyJsonSignature(o, s, k, pk);
      return v.ok ? "ok" : v.reason;
    };
    assert.match(r({ a: 1 }), /no signatures object/);
    assert.match(r(signed, "other.test"), /not signed by other.test/);
    assert.match(r(signed, "domain", "ed25519:9"), /no signature from domain with key ed25519:9/);
    assert.match(r(signed, "domain", "ed25519:1", other.publicKey), /does not match/);
    assert.match(r(signed, "domain", "ed25519:1", new Uint8Array(31)), /31 bytes/);
    assert.match(r({ ...signed, signatures: { domain: { "ed25519:1": "!!" } } }), /not base64/);
    assert.match(r({ ...signed, signatures: { domain: { "ed25519:1": "AAAA" } } }), /3 bytes, expected 64/);
    assert.match(r({ ...signed, signatures: { domain: { "ed25519:1": 5 } } }), /not a string/);
    assert.match(r({ ...signed, a: 1.5 }), /canonical JSON/);
  });

  it("verifyJsonSignatures requires every listed server and skips unknown keys", () => {
    const signed = signJson(signJson({ a: 1 }, "domain", key), "one.test", other);
    const lookup = (s: string, k: string) => (s === "domain" && k === "ed25519:1" ? key.publicKey : s === "one.test" && k === "ed25519:2" ? { publicKey: other.publicKey, validUntilTs: 100 } : undefined);
    assert.deepEqual(verifyJsonSignatures(signed, ["domain", "one.test"], lookup), { ok: true });
    const v = verifyJsonSignatures(signed, ["domain", "one.test"], lookup, { validAt: 200 });
    assert.ok(!v.ok && /expired at 100/.test(v.reason));
    const w = verifyJsonSignatures(signed, ["three.test"], lookup);
    assert.ok(!w.ok && /not signed by three.test/.test(w.reason));
    const x = verifyJsonSignatures(signed, ["domain"], () => undefined);
    assert.ok(!x.ok && /no known key of domain/.test(x.reason));
  });

  it("refuses a malformed signatures member when signing", () => {
    assert.throws(() => signJson({ signatures: [] as unknown as JsonObject }, "domain", key), /signatures: must be an object/);
  });

  it("sha256 matches node:crypto", async () => {
    const { createHash } = await import("node:crypto");
    const b = new TextEncoder().encode("abc");
    assert.equal(encodeBase64(sha256(b)), createHash("sha256").update(b).digest("base64").replace(/=+$/, ""));
  });
});

// Property tests: sign -> verify round-trips, and any single-byte change breaks it.
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.string({ unit: "grapheme", maxLength: 12 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: "grapheme", maxLength: 6 }), tie("value"), { maxKeys: 4 }),
  ),
})).value;
const jsonObject = fc.dictionary(
  fc.string({ unit: "grapheme", maxLength: 8 }).filter((k) => k !== "signatures" && k !== "unsigned"),
  jsonValue,
  { maxKeys: 6 },
);

/** The object with its prop.test signature re-encoded canonically (decode, then encode). */
function normaliseSignature(o: JsonObject): JsonObject {
  const sigs = o["signatures"] as Record<string, Record<string, unknown>> | undefined;
  const sig = sigs?.["prop.test"]?.["ed25519:1"];
  if (typeof sig !== "string") return o;
  let canonical: string;
  try { canonical = encodeBase64(decodeBase64(sig)); } catch { return o; }
  return { ...o, signatures: { ...sigs, "prop.test": { ...sigs!["prop.test"], "ed25519:1": canonical } } } as JsonObject;
}

describe("signing properties (fast-check)", () => {
  it("every signed object verifies with the signer's key and not with another", () => {
    const other = signingKeyFromSeed("x", sha256(new Uint8Array([1])));
    fc.assert(
      fc.property(bounded(jsonObject), fc.uint8Array({ minLength: 32, maxLength: 32 }), (obj, seed) => {
        const k = signingKeyFromSeed("p", seed);
        const signed = signJson(obj as JsonObject, "prop.test", k);
        assert.deepEqual(verifyJsonSignature(signed, "prop.test", "ed25519:p", k.publicKey), { ok: true });
        // the signed bytes reparse to the same value: the round trip through text holds too
        assert.deepEqual(verifyJsonSignature(JSON.parse(JSON.stringify(signed)), "prop.test", "ed25519:p", k.publicKey), { ok: true });
        assert.equal(verifyJsonSignature(signed, "prop.test", "ed25519:p", other.publicKey).ok, false);
      }),
      { numRuns: 200, ...PROPERTY_LIMITS },
    );
  });

  it("changing any single byte of the canonical signed text breaks verification or the parse", () => {
    fc.assert(
      fc.property(bounded(jsonObject), fc.nat(), fc.integer({ min: 1, max: 255 }), (obj, pos, delta) => {
        const signed = signJson(obj as JsonObject, "prop.test", key);
        const bytes = Buffer.from(canonicalJson(signed), "utf8");
        const i = pos % bytes.length;
        const mutated = Buffer.from(bytes);
        mutated[i] = (mutated[i]! + delta) & 0xff;
        let parsed: unknown;
        try {
          parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(mutated));
        } catch {
          return; // no longer UTF-8 or JSON: refused before any signature check
        }
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return;
        // Only the same value may still pass: an escape spelled differently, or a signature whose last
        // base64 character changed only in its unused low bits (decoders ignore those, as Python's does).
        let same = false;
        try { same = canonicalJson(normaliseSignature(parsed as JsonObject)) === canonicalJson(signed); } catch { same = false; }
        const v = verifyJsonSignature(parsed as JsonObject, "prop.test", "ed25519:1", key.publicKey);
        if (same) assert.equal(v.ok, true);
        else assert.equal(v.ok, false, `byte ${i} changed ${bytes[i]} -> ${mutated[i]} yet still verified`);
      }),
      { numRuns: 500, ...PROPERTY_LIMITS },
    );
  });
});
