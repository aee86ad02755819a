import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatrixError } from "../core/errors.js";
import { STREAMS, ZERO_TOKEN, isAfter, maxToken, parseToken, serializeToken, type StreamToken } from "./token.js";

const t = (over: Partial<StreamToken>): StreamToken => ({ ...ZERO_TOKEN, ...over });

describe("StreamToken", () => {
  it("round-trips every stream's position through the opaque string", () => {
    const tok = t({ events: 123, accountData: 4, toDevice: 5, deviceLists: 6, typing: 7, receipts: 8, presence: 9 });
    const s = serializeToken(tok);
    assert.equal(s, "s123_a4_t5_d6_y7_r8_p9");
    assert.deepEqual(parseToken(s), tok);
  });

  it("refuses malformed tokens with 400 M_INVALID_PARAM naming the field", () => {
    const bad = ["", "s", "s1_2", "s1_s2", "x1", "s1_a-7", "s01", "s1 ", "t3_5", "s99999999999999999", "s9999999999999999", "s1.5", "t3_5_", "_s1", "s1__a2", `s1${"_a1".repeat(200)}`];
    for (const raw of bad) {
      assert.throws(() => parseToken(raw, "since"), (e: unknown) => e instanceof MatrixError && e.errcode === "M_INVALID_PARAM" && e.status === 400 && /since/.test(e.message), raw);
    }
  });

  it("reads a missing stream as 0, so the per-user letters of /keys/changes and older tokens parse", () => {
    assert.deepEqual(parseToken("s5_d7"), t({ events: 5, deviceLists: 7 }));
    assert.deepEqual(parseToken("d7_s5"), t({ events: 5, deviceLists: 7 }));
  });

  it("accepts the largest safe position and zero", () => {
    const max = Number.MAX_SAFE_INTEGER;
    assert.equal(parseToken(serializeToken(t({ events: max }))).events, max);
    assert.deepEqual(parseToken(serializeToken(ZERO_TOKEN)), ZERO_TOKEN);
  });

  it("compares stream by stream", () => {
    assert.equal(isAfter(t({ typing: 1 }), ZERO_TOKEN), true);
    assert.equal(isAfter(ZERO_TOKEN, ZERO_TOKEN), false);
    assert.equal(isAfter(t({ events: 1 }), t({ typing: 2 })), true);
    assert.deepEqual(maxToken(t({ events: 3 }), t({ receipts: 2 })), t({ events: 3, receipts: 2 }));
    assert.equal(STREAMS.length, 7);
  });
});
