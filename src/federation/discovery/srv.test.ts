import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { orderSrv } from "./srv.js";

const rec = (target: string, priority: number, weight: number) => ({ target, port: 1, priority, weight });

describe("SRV ordering (RFC 2782)", () => {
  it("puts lower priorities first whatever the weights", () => {
    const out = orderSrv([rec("c", 30, 100), rec("a", 10, 0), rec("b", 20, 50)], () => 0.99);
    assert.deepEqual(out.map((r) => r.target), ["a", "b", "c"]);
  });

  it("picks within a priority in proportion to weight", () => {
    const counts = { heavy: 0, light: 0 };
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 2000; i++) {
      const first = orderSrv([rec("light", 1, 10), rec("heavy", 1, 90)], random)[0]!;
      counts[first.target as "heavy" | "light"]++;
    }
    assert.ok(counts.heavy > 1600 && counts.heavy < 1900, `heavy first ${counts.heavy} of 2000`);
  });

  it("keeps every record exactly once", () => {
    const input = [rec("a", 1, 0), rec("b", 1, 5), rec("c", 2, 0), rec("d", 1, 0)];
    const out = orderSrv(input, Math.random);
    assert.deepEqual(out.map((r) => r.target).sort(), ["a", "b", "c", "d"]);
    assert.equal(out[3]!.target, "c");
  });
});
