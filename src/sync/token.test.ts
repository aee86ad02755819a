import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatrixError } from "../core/errors.js";
import { STREAMS, ZERO_TOKEN, isAfter, maxToken, parseToken, serializeToken, type StreamToken } from "./token.js";

const t = (over: Partial<StreamToken>): StreamToken => ({ ...ZERO_TOKEN, ...over });

describe("StreamToken", () => {
  it("round-trips every stream's position through the opaque string", () => {
    const tok = t({ events: 123, accountData: 4, toDevice: 5, deviceLists: 6, typing: 7, receipts: 8, presence: 9 });
    const s = serializeToken(tok);
    assert.equal(s, "s123_4_5_6_7_8_9");
    assert.deepEqual(parseToken(s), tok);
  });

  it("refuses malformed tokens with 400 M_INVALID_PARAM naming the field", () => {
    const bad = ["", "s", "s1", "s1_2_3_4_5_6", "s1_2_3_4_5_6_7_8", "x1_2_3_4_5_6_7", "s1_2_3_4_5_6_-7", "s01_2_3_4_5_6_7", "s1_2_3_4_5_6_7 ", "t3_5", "s99999999999999999_0_0_0_0_0_0", "s1.5_0_0_0_0_0_0"];
    for (const raw of bad) {
      assert.throws(() => parseToken(raw, "since"), (e: unknown) => e instanceof MatrixError && e.errcode === "M_INVALID_PARAM" && e.status === 400 && /since/.test(e.message), raw);
    }
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
