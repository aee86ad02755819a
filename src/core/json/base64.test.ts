import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeBase64, encodeBase64, encodeBase64Url, InvalidBase64Error } from "./base64.js";

describe("unpadded base64", () => {
  it("encodes without padding in both alphabets (RFC 4648 vectors)", () => {
    const t = (s: string) => new TextEncoder().encode(s);
    assert.equal(encodeBase64(t("")), "");
    assert.equal(encodeBase64(t("f")), "Zg");
    assert.equal(encodeBase64(t("fo")), "Zm8");
    assert.equal(encodeBase64(t("foo")), "Zm9v");
    assert.equal(encodeBase64(t("foobar")), "Zm9vYmFy");
    assert.equal(encodeBase64(new Uint8Array([0xfb, 0xff])), "+/8");
    assert.equal(encodeBase64Url(new Uint8Array([0xfb, 0xff])), "-_8");
  });

  it("agrees with Node's Buffer on random bytes, and decodes padded, unpadded, standard and URL-safe", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const std = Buffer.from(bytes).toString("base64");
        assert.equal(encodeBase64(bytes), std.replace(/=+$/, ""));
        assert.equal(encodeBase64Url(bytes), Buffer.from(bytes).toString("base64url"));
        assert.deepEqual(decodeBase64(std), bytes);
        assert.deepEqual(decodeBase64(encodeBase64(bytes)), bytes);
        assert.deepEqual(decodeBase64(encodeBase64Url(bytes)), bytes);
      }),
    );
  });

  it("refuses characters outside both alphabets and impossible lengths, saying which", () => {
    assert.throws(() => decodeBase64("Zm9v!A"), (e: unknown) => e instanceof InvalidBase64Error && /"!" at position 4/.test(e.message));
    assert.throws(() => decodeBase64("Zm9vY"), /length 5/);
    assert.throws(() => decodeBase64("Zm 9"), /position 2/);
    assert.throws(() => decodeBase64("Zmé9"), InvalidBase64Error);
  });
});
