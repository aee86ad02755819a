import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatrixError } from "../../core/errors.js";
import { createRateLimits, type RateLimitConfig } from "./rate-limit.js";

const settings = { perSecond: 0.5, burstCount: 3 };
const config = Object.fromEntries(
  ["rc_message", "rc_registration", "rc_login.address", "rc_login.account", "rc_login.failed_attempts", "rc_joins.local", "rc_joins.remote", "rc_invites.per_room", "rc_invites.per_user", "rc_invites.per_issuer"].map((k) => [k, settings]),
) as unknown as RateLimitConfig;

function limitedMs(f: () => void): number | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof MatrixError);
    assert.equal(e.errcode, "M_LIMIT_EXCEEDED");
    assert.equal(e.status, 429);
    return e.extra["retry_after_ms"] as number;
  }
}

describe("rate limits (token bucket as Synapse's)", () => {
  it("allows a burst of burst_count, then refuses with the time until one token has leaked", () => {
    let now = 1_000_000;
    const rl = createRateLimits(config, { now: () => now, sleep: async () => {} });
    for (let i = 0; i < 3; i++) assert.equal(limitedMs(() => rl.take("rc_message", "@a:x")), undefined, `action ${i + 1}`);
    assert.equal(limitedMs(() => rl.take("rc_message", "@a:x")), 2_000, "one token leaks in 1 / 0.5 s");
    now += 1_999;
    assert.ok(limitedMs(() => rl.take("rc_message", "@a:x"))! <= 1, "still refused just before");
    now += 1;
    assert.equal(limitedMs(() => rl.take("rc_message", "@a:x")), undefined, "one action fits once a token leaked");
  });

  it("keeps keys and limits apart, and a refused action is not counted", () => {
    let now = 0;
    const rl = createRateLimits(config, { now: () => now, sleep: async () => {} });
    for (let i = 0; i < 3; i++) rl.take("rc_login.address", "127.0.0.1");
    assert.notEqual(limitedMs(() => rl.take("rc_login.address", "127.0.0.1")), undefined);
    assert.equal(limitedMs(() => rl.take("rc_login.address", "127.0.0.2")), undefined, "another address");
    assert.equal(limitedMs(() => rl.take("rc_registration", "127.0.0.1")), undefined, "another limit");
    for (let i = 0; i < 10; i++) limitedMs(() => rl.take("rc_login.address", "127.0.0.1"));
    now += 2_000;
    assert.equal(limitedMs(() => rl.take("rc_login.address", "127.0.0.1")), undefined, "refusals did not fill the bucket");
  });

  it("check() refuses without counting and record() counts without refusing", () => {
    const rl = createRateLimits(config, { now: () => 0, sleep: async () => {} });
    for (let i = 0; i < 5; i++) rl.check("rc_login.failed_attempts", "@a:x");
    for (let i = 0; i < 5; i++) rl.record("rc_login.failed_attempts", "@a:x");
    assert.equal(limitedMs(() => rl.check("rc_login.failed_attempts", "@a:x")), 6_000, "five tokens in a bucket of three: three must leak");
  });

  it("bounds the number of buckets per limit, dropping the least recently used when full", () => {
    const rl = createRateLimits(config, { now: () => 0, sleep: async () => {} }, 100);
    for (let i = 0; i < 3; i++) rl.take("rc_message", "first");
    for (let i = 0; i < 500; i++) rl.take("rc_message", `k${i}`);
    assert.equal(limitedMs(() => rl.take("rc_message", "first")), undefined, "the oldest bucket was dropped when the table was full");
    for (let i = 0; i < 2; i++) rl.take("rc_message", "k499");
    assert.notEqual(limitedMs(() => rl.take("rc_message", "k499")), undefined, "a recent bucket is kept");
  });
});
