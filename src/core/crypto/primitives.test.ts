import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { sha1HexUtf8, sha256Utf8 } from "./primitives.js";

describe("sha1HexUtf8 (state resolution v1's ordering hash)", () => {
  // FIPS 180-2 appendix A and the NIST example vectors; the non-ASCII ones from Python's hashlib.
  const vectors: [string, string][] = [
    ["", "da39a3ee5e6b4b0d3255bfef95601890afd80709"],
    ["abc", "a9993e364706816aba3e25717850c26c9cd0d89d"],
    ["abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"],
    ["a".repeat(1_000_000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f"],
    ["\u00e9", "bf15be717ac1b080b4f1c456692825891ff5073d"],
    ["\u{1F600}", "9c533688a979a858cbd6a43c9f91aba624651f18"],
    ["$abc:example.org", "9cf4ff5b1d4c8394f9883123d752779ef373ad5f"],
  ];
  for (const [input, want] of vectors) {
    it(`hashes ${JSON.stringify(input.length > 60 ? `${input.slice(0, 8)}... (${input.length} chars)` : input)} to the published digest`, () => {
      assert.equal(sha1HexUtf8(input), want);
    });
  }
});

describe("sha256Utf8", () => {
  it("hashes the FIPS 180-2 vector 'abc' and the UTF-8 bytes of non-ASCII text", () => {
    assert.equal(Buffer.from(sha256Utf8("abc")).toString("hex"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(Buffer.from(sha256Utf8("\u00e9")).toString("hex"), "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c");
  });
});
