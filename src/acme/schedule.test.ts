import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { nextOrderAt, renewalDueAt, renewalWarning, retryDelay } from "./schedule.js";

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

  it("orders at the due time, or at the back-off time after failures, whichever is later", () => {
    assert.equal(nextOrderAt({ dueAt: 5_000, retryAt: undefined, lastSuccessAt: 0, minIntervalMs: 60_000, keepCurrent: true }), 60_000);
    assert.equal(nextOrderAt({ dueAt: 500_000, retryAt: undefined, lastSuccessAt: 0, minIntervalMs: 60_000, keepCurrent: true }), 500_000);
    assert.equal(nextOrderAt({ dueAt: 500_000, retryAt: 700_000, lastSuccessAt: 0, minIntervalMs: 60_000, keepCurrent: true }), 700_000);
  });

  it("never orders again within the minimum interval of a success, even when the new certificate is already due", () => {
    // A CA that truncates notBefore to the second can hand back a certificate due at the very moment it arrives.
    const now = 1_000_000;
    assert.equal(nextOrderAt({ dueAt: now, retryAt: undefined, lastSuccessAt: now, minIntervalMs: 60_000, keepCurrent: true }), now + 60_000);
  });

  it("orders at once when the current certificate must be replaced, whatever the last success", () => {
    const now = 1_000_000;
    assert.equal(nextOrderAt({ dueAt: now, retryAt: undefined, lastSuccessAt: now, minIntervalMs: 60_000, keepCurrent: false }), now);
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
