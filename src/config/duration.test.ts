import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseDuration, parseSize } from "./duration.js";

describe("parseDuration (Synapse's notation)", () => {
  it("reads a bare number as milliseconds", () => assert.deepEqual(parseDuration(1500), { ok: true, value: 1500 }));
  for (const [text, ms] of [
    ["250ms", 250],
    ["30s", 30_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1w", 604_800_000],
    ["1y", 31_536_000_000],
    ["42", 42],
  ] as const) {
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () => assert.deepEqual(parseDuration(text), { ok: true, value: ms }));
  }
  it("refuses unknown suffixes, fractions, negatives and other types", () => {
    for (const bad of ["5q", "1.5h", "-1", "", "m", true, [], -5, 1.5]) assert.equal(parseDuration(bad).ok, false, JSON.stringify(bad));
  });
});

describe("parseSize", () => {
  it("reads K, M, G and T as powers of 1024 and a bare number as bytes", () => {
    assert.deepEqual(parseSize("10K"), { ok: true, value: 10240 });
    assert.deepEqual(parseSize("50M"), { ok: true, value: 50 * 1024 ** 2 });
    assert.deepEqual(parseSize("1G"), { ok: true, value: 1024 ** 3 });
    assert.deepEqual(parseSize(100), { ok: true, value: 100 });
  });
  it("refuses anything else", () => {
    for (const bad of ["10X", "1.5M", null, -1]) assert.equal(parseSize(bad).ok, false, JSON.stringify(bad));
  });
});
