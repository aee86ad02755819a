import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeBase64, encodeBase64 } from "../json/base64.js";
import { MatrixError } from "../errors.js";
import { formatSigningKeyFile, parseSigningKeyFile, publicKeyBase64, signingKeyFromSeed } from "./keys.js";

const SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";

describe("signing keys", () => {
  it("derives the public key of the spec's test seed", () => {
    const k = signingKeyFromSeed("1", decodeBase64(SEED));
    assert.equal(k.keyId, "ed25519:1");
    // The public key is determined by the seed; the spec vectors verify with it in sign.test.ts.
    assert.equal(publicKeyBase64(k).length, 43);
    assert.equal(k.publicKey.length, 32);
  });

  it("reads and writes Synapse's signing-key file format", () => {
    const text = `ed25519 a_AbC ${SEED}\n\ned25519 2 ${SEED}\n`;
    const keys = parseSigningKeyFile(text);
    assert.deepEqual(keys.map((k) => k.keyId), ["ed25519:a_AbC", "ed25519:2"]);
    // The spec's seed has non-zero trailing bits ("...XA1"); written back it is the canonical "...XA0".
    const canonicalSeed = encodeBase64(decodeBase64(SEED));
    assert.equal(canonicalSeed, SEED.slice(0, -1) + "0");
    assert.equal(formatSigningKeyFile(keys), `ed25519 a_AbC ${canonicalSeed}\ned25519 2 ${canonicalSeed}\n`);
    assert.deepEqual(parseSigningKeyFile(formatSigningKeyFile(keys)).map((k) => publicKeyBase64(k)), keys.map((k) => publicKeyBase64(k)));
  });

  it("names the line of a bad signing-key file entry", () => {
    const bad = (text: string, re: RegExp) =>
      assert.throws(() => parseSigningKeyFile(text), (e: unknown) => e instanceof MatrixError && re.test(e.message));
    bad(`ed25519 1 ${SEED}\nrsa 2 ${SEED}\n`, /line 2: unsupported algorithm "rsa"/);
    bad(`ed25519 1\n`, /line 1: expected 'ed25519 <version> <base64 seed>'/);
    bad(`ed25519 1 AAAA\n`, /line 1: seed is 3 bytes, expected 32/);
    bad(`ed25519 1 !!!!\n`, /line 1: seed is invalid base64/);
    bad(`ed25519 a:b ${SEED}\n`, /line 1: key version "a:b"/);
  });

  it("refuses a seed that is not 32 bytes", () => {
    assert.throws(() => signingKeyFromSeed("1", new Uint8Array(31)), /32 bytes, got 31/);
  });
});
