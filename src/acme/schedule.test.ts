import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { renewalDueAt, renewalWarning, retryDelay } from "./schedule.js";

const DAY = 86_400_000;

describe("renewal schedule", () => {
  it("renews a 90-day certificate 60 days after notBefore (two thirds of the lifetime)", () => {
    assert.equal(renewalDueAt(1_000, 1_000 + 90 * DAY), 1_000 + 60 * DAY);
  });

  it("doubles the retry delay per failure, capped, with jitter between 50 % and 150 %", () => {
    assert.equal(retryDelay(1, () => 0.5, 60_000, 3_600_000), 60_000);
    assert.equal(retryDelay(2, () => 0.5, 60_000, 3_600_000), 120_000);
    assert.equal(retryDelay(4, () => 0.5, 60_000, 3_600_000), 480_000);
    assert.equal(retryDelay(20, () => 0.5, 60_000, 3_600_000), 3_600_000);
    assert.equal(retryDelay(1, () => 0, 60_000, 3_600_000), 30_000);
    assert.equal(retryDelay(1, () => 0.999999, 60_000, 3_600_000), 90_000);
    assert.equal(retryDelay(2000, () => 0.5, 60_000, 3_600_000), 3_600_000);
  });

  it("warns only when renewal is failing and fewer than 14 days are left (or there is no certificate)", () => {
    const now = 100 * DAY;
    assert.equal(renewalWarning(now, now + 13 * DAY, 1, 14), true);
    assert.equal(renewalWarning(now, now + 15 * DAY, 3, 14), false);
    assert.equal(renewalWarning(now, now + 1 * DAY, 0, 14), false);
    assert.equal(renewalWarning(now, undefined, 1, 14), true);
    assert.equal(renewalWarning(now, now - DAY, 2, 14), true);
  });
});
