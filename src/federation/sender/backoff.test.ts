import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_BACKOFF, nextRetryInterval } from "./backoff.js";

describe("nextRetryInterval", () => {
  const cfg = { minRetryIntervalMs: 100, retryMultiplier: 3, maxRetryIntervalMs: 1000 };
  it("starts at the minimum, multiplies, and stays capped at the maximum", () => {
    const seen: number[] = [];
    let i = 0;
    for (let n = 0; n < 6; n++) seen.push((i = nextRetryInterval(i, cfg)));
    assert.deepEqual(seen, [100, 300, 900, 1000, 1000, 1000]);
  });
  it("keeps a destination down for days on Synapse's capped interval (7 days by default)", () => {
    let i = 0;
    for (let n = 0; n < 100; n++) i = nextRetryInterval(i, DEFAULT_BACKOFF);
    assert.equal(i, DEFAULT_BACKOFF.maxRetryIntervalMs);
  });
});
