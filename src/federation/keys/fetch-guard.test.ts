import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FetchGuard, MAX_BACKOFF_MS, MIN_REFETCH_MS } from "./fetch-guard.js";

const clock = { t: 1_000_000, now() { return this.t; } };
type R = { ok: boolean; reason?: string };
const outcome = (r: R) => r;

function counting(result: R, gate?: Promise<void>) {
  let calls = 0;
  return {
    get calls() { return calls; },
    fetch: async (): Promise<R> => {
      calls++;
      await gate;
      return result;
    },
  };
}

describe("FetchGuard", () => {
  it("shares one fetch in flight per server and way among concurrent callers (step 1)", async () => {
    const g = new FetchGuard<R>(clock);
    let open!: () => void;
    const f = counting({ ok: true }, new Promise<void>((r) => { open = r; }));
    const runs = Array.from({ length: 5 }, () => g.run("a.test", "", f.fetch, outcome));
    assert.ok(runs.every((r) => r.started));
    open();
    const results = await Promise.all(runs.map((r) => (r.started ? r.result : undefined)));
    assert.equal(f.calls, 1);
    assert.ok(results.every((r) => r?.ok));
  });

  it("lets another way of fetching the same server run meanwhile, so nested fetches cannot wait on each other (step 1)", async () => {
    // A fetch of n1 through notary n2 needs n2's own keys directly, while a fetch of n2 through n1 needs n1's.
    const g = new FetchGuard<R>(clock);
    let bothStarted!: () => void;
    const started = new Promise<void>((r) => { bothStarted = r; });
    const fetchVia = (_server: string, notary: string) => async (): Promise<R> => {
      await started;
      const inner = g.run(notary, "direct", async () => ({ ok: true }), outcome);
      return inner.started ? inner.result : { ok: false };
    };
    const a = g.run("n1.test", "", fetchVia("n1.test", "n2.test"), outcome);
    const b = g.run("n2.test", "", fetchVia("n2.test", "n1.test"), outcome);
    bothStarted();
    assert.ok(a.started && b.started);
    assert.deepEqual(await Promise.all([a.result, b.result]), [{ ok: true }, { ok: true }]);
  });

  it("does not start the same way again within MIN_REFETCH_MS of a success, and does after it (step 2)", async () => {
    const g = new FetchGuard<R>(clock);
    const f = counting({ ok: true });
    const first = g.run("b.test", "", f.fetch, outcome);
    assert.ok(first.started);
    await first.result;
    const again = g.run("b.test", "", f.fetch, outcome);
    assert.equal(again.started, false);
    if (!again.started) {
      assert.equal(again.lastOk, true);
      assert.equal(again.until, clock.t + MIN_REFETCH_MS);
    }
    assert.ok(g.run("b.test", "direct", f.fetch, outcome).started, "another way has its own interval");
    clock.t += MIN_REFETCH_MS;
    assert.ok(g.run("b.test", "", f.fetch, outcome).started);
  });

  it("backs off exponentially after consecutive failures, up to MAX_BACKOFF_MS, and resets on success (step 2)", async () => {
    const g = new FetchGuard<R>(clock);
    let result: R = { ok: false, reason: "connection refused" };
    const fetch = async () => result;
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      const r = g.run("c.test", "", fetch, outcome);
      assert.ok(r.started, `attempt ${i}`);
      await r.result;
      const blocked = g.run("c.test", "", fetch, outcome);
      assert.equal(blocked.started, false);
      if (!blocked.started) {
        assert.equal(blocked.lastReason, "connection refused");
        waits.push(blocked.until - clock.t);
        clock.t = blocked.until;
      }
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60].map((m) => Math.min(MAX_BACKOFF_MS, m * MIN_REFETCH_MS)));
    result = { ok: true };
    const ok = g.run("c.test", "", fetch, outcome);
    assert.ok(ok.started);
    await ok.result;
    const after = g.run("c.test", "", fetch, outcome);
    assert.ok(!after.started && after.until - clock.t === MIN_REFETCH_MS, "a success resets the back-off");
  });

  it("counts a thrown error as a failure and passes it to every sharing caller", async () => {
    const g = new FetchGuard<R>(clock);
    const boom = async (): Promise<R> => { throw new Error("boom"); };
    const a = g.run("d.test", "", boom, outcome);
    const b = g.run("d.test", "", boom, outcome);
    assert.ok(a.started && b.started);
    await assert.rejects(a.result, /boom/);
    await assert.rejects(b.result, /boom/);
    const c = g.run("d.test", "", boom, outcome);
    assert.ok(!c.started && c.lastReason === "boom");
  });

  it("keeps state for at most maxTracked servers, dropping the least recently used (step 3)", async () => {
    const g = new FetchGuard<R>(clock, { maxTracked: 100 });
    const ok = async () => ({ ok: true });
    const first = g.run("keep.test", "", ok, outcome);
    if (first.started) await first.result;
    for (let i = 0; i < 1000; i++) {
      const r = g.run(`n${i}.invalid`, "", ok, outcome);
      if (r.started) await r.result;
      if (i % 50 === 0) assert.equal(g.run("keep.test", "", ok, outcome).started, false, "used recently, so kept");
    }
    assert.equal(g.tracked, 100);
    assert.equal(g.run("n0.invalid", "", ok, outcome).started, true, "the oldest was dropped");
  });
});
