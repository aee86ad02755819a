import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../core/clock.js";
import { MatrixError } from "../../core/errors.js";
import { FederationRateLimiter } from "./rate-limit.js";

function fakeClock(): Clock & { t: number; slept: number[] } {
  const c = { t: 1_000_000, slept: [] as number[], now: () => c.t, sleep: async (ms: number) => { c.slept.push(ms); } };
  return c;
}

describe("FederationRateLimiter (rc_federation)", () => {
  const cfg = { window_size: 1000, sleep_limit: 2, sleep_delay: 500, reject_limit: 4, concurrent: 2 };

  it("refuses the request past reject_limit within window_size with 429 M_LIMIT_EXCEEDED, and accepts again after the window", async () => {
    const clock = fakeClock();
    const rl = new FederationRateLimiter(cfg, clock);
    for (let i = 0; i < 4; i++) await rl.run("a.test", async () => 1);
    await assert.rejects(rl.run("a.test", async () => 1), (e: unknown) => e instanceof MatrixError && e.status === 429 && e.errcode === "M_LIMIT_EXCEEDED" && /reject_limit/.test(e.message));
    assert.equal(await rl.run("b.test", async () => 2), 2, "another origin is not limited");
    clock.t += 1001;
    assert.equal(await rl.run("a.test", async () => 3), 3);
  });

  it("delays requests past sleep_limit by sleep_delay", async () => {
    const clock = fakeClock();
    const rl = new FederationRateLimiter(cfg, clock);
    for (let i = 0; i < 4; i++) await rl.run("a.test", async () => 1);
    assert.deepEqual(clock.slept, [500, 500], "the 3rd and 4th requests waited");
  });

  it("processes at most `concurrent` requests of one origin at a time, the rest in order", async () => {
    const rl = new FederationRateLimiter({ ...cfg, sleep_limit: 100, reject_limit: 100 }, fakeClock());
    const gates: (() => void)[] = [];
    let peak = 0;
    const order: number[] = [];
    const jobs = [0, 1, 2, 3].map((i) => rl.run("a.test", async () => {
      peak = Math.max(peak, rl.running("a.test"));
      await new Promise<void>((r) => gates.push(r));
      order.push(i);
    }));
    await new Promise((r) => setImmediate(r));
    assert.equal(rl.running("a.test"), 2);
    while (order.length < 4) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(jobs);
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3]);
  });

  it("forgets origins that went quiet once their window has passed, keeping those still busy or recent", async () => {
    const clock = fakeClock();
    const rl = new FederationRateLimiter({ ...cfg, reject_limit: 100, sleep_limit: 100 }, clock);
    for (let i = 0; i < 1000; i++) await rl.run(`s${i}.test`, async () => i);
    assert.equal(rl.tracked(), 1000, "within the window every origin is remembered");
    let release = () => {};
    const busy = rl.run("busy.test", () => new Promise<void>((r) => { release = r; }));
    clock.t += 1001;
    await rl.run("recent.test", async () => 0);
    assert.equal(rl.tracked(), 2, "the quiet 1,000 are gone; busy.test (running) and recent.test remain");
    release();
    await busy;
    clock.t += 1001;
    await rl.run("recent.test", async () => 0);
    assert.equal(rl.tracked(), 1, "busy.test is forgotten once idle and past its window");
  });
});
