import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatrixError } from "../../../core/errors.js";
import { formatStreamToken, parseStreamToken, streamPosition } from "./stream-token.js";

describe("stream tokens", () => {
  it("reads each stream's segment, and 0 for a stream the token does not name", () => {
    assert.deepEqual([...parseStreamToken("s120_d7_t31_a4", "since")], [["s", 120], ["d", 7], ["t", 31], ["a", 4]]);
    assert.equal(streamPosition("s120_d7", "from", "d"), 7);
    assert.equal(streamPosition("s120", "from", "t"), 0);
  });

  it("writes positions in letter order and reads them back", () => {
    const t = formatStreamToken({ t: 3, d: 12, a: 0 });
    assert.equal(t, "a0_d12_t3");
    assert.equal(streamPosition(t, "x", "d"), 12);
  });

  it("refuses what is not a token with M_INVALID_PARAM naming the field", () => {
    for (const bad of ["", "banana", "d", "d-1", "d01", "d1_d2", "D1", "d1__t2", `d${"9".repeat(17)}`, "d1_".repeat(200)]) {
      assert.throws(() => parseStreamToken(bad, "from"), (e: unknown) => e instanceof MatrixError && e.errcode === "M_INVALID_PARAM" && e.message.startsWith("from: "), bad);
    }
  });
});
