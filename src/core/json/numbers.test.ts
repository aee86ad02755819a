import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { canonicalJson } from "./canonical.js";
import { classifyNumberLiteral, copyNumberTexts, numberTextAt } from "./numbers.js";
import { parseJsonStrict } from "./parse.js";
import type { JsonObject } from "./types.js";

const loose = (text: string, keepNumberText?: boolean) => parseJsonStrict(text, { strictIntegers: false, ...(keepNumberText === undefined ? {} : { keepNumberText }) });

describe("classifyNumberLiteral", () => {
  it("calls a literal an integer by its exact value, whatever its spelling", () => {
    for (const t of ["0", "-0", "0.0", "0e-5", "1e10", "1E2", "2.50e1", "1.0", "100e-2", "9007199254740991", "-9007199254740991", "9.007199254740991e15"]) {
      assert.equal(classifyNumberLiteral(t), "integer", t);
    }
  });

  it("calls fractions fractions even when JavaScript rounds them to an integer", () => {
    for (const t of ["1.5", "1e-7", "0.1", "12345e-4", "1.0000000000000001", "-2.5E0", "9007199254740991.5"]) assert.equal(classifyNumberLiteral(t), "fraction", t);
  });

  it("tells integers beyond 2^53 apart without building huge numbers", () => {
    for (const t of ["9007199254740992", "-9007199254740992", "1e16", "1e999999999", "12345678901234567890"]) {
      assert.equal(classifyNumberLiteral(t), "integer-out-of-range", t);
    }
  });
});

describe("keeping number literals (room versions 1-5)", () => {
  it("writes back each float and big integer exactly as it was written, in objects and arrays at any depth", () => {
    const text = '{"a":0.10,"b":[1e-07,1.5e+300,-0.0,1.0,[2.50]],"c":12345678901234567890,"d":{"e":[{"f":3e-05}]},"g":5,"h":1.5}';
    assert.equal(canonicalJson(loose(text), { strict: false }), text);
  });

  it("leaves the values plain JavaScript numbers, so readers see what they always saw", () => {
    const v = loose('{"a":0.10,"b":[1e-07],"c":-0.0}') as { a: number; b: number[]; c: number };
    assert.equal(typeof v.a, "number");
    assert.equal(v.a, 0.1);
    assert.equal(v.b[0], 1e-7);
    assert.ok(Object.is(v.c, -0));
    assert.equal(JSON.stringify(v), '{"a":0.1,"b":[1e-7],"c":0}');
  });

  it("writes integers in their plain form: -0 as 0, as Python reads it", () => {
    assert.equal(canonicalJson(loose('{"a":-0,"b":100,"c":[-0]}'), { strict: false }), '{"a":0,"b":100,"c":[0]}');
  });

  it("uses JavaScript's number format when asked not to keep the text (what Zion did before)", () => {
    assert.equal(canonicalJson(loose('{"a":0.10,"b":1e-07,"c":1.0}', false), { strict: false }), '{"a":0.1,"b":1e-7,"c":1}');
  });

  it("ignores kept literals when encoding strictly: integers in plain form, floats refused", () => {
    assert.equal(canonicalJson(loose('{"a":1e10,"b":1.0}')), '{"a":10000000000,"b":1}');
    assert.throws(() => canonicalJson(loose('{"a":0.10}')), /a: 0\.1 is not an integer/);
  });

  it("takes the literal of the last duplicate key, as the parsed value does", () => {
    assert.equal(canonicalJson(loose('{"a":1.0,"a":1}'), { strict: false }), '{"a":1}');
    assert.equal(canonicalJson(loose('{"a":1,"a":1.0}'), { strict: false }), '{"a":1.0}');
    assert.equal(canonicalJson(loose('{"a":{"x":1.50},"a":{"x":2.50}}'), { strict: false }), '{"a":{"x":2.50}}');
    assert.equal(canonicalJson(loose('{"a":[1.0],"a":{"0":2.0}}'), { strict: false }), '{"a":{"0":2.0}}');
  });

  it("finds keys written with escapes, and the __proto__ key JSON.parse keeps as an own property", () => {
    assert.equal(canonicalJson(loose('{"k\\u0065y":1.50,"__proto__":2.50,"q\\"":3.50}'), { strict: false }), '{"__proto__":2.50,"key":1.50,"q\\"":3.50}');
  });

  it("does not mistake digits, dots or exponents inside strings for numbers", () => {
    assert.equal(canonicalJson(loose('{"s":"1.50 [2.0] {3e5}","t":[true,false,null,"x\\\\",4.50]}'), { strict: false }), '{"s":"1.50 [2.0] {3e5}","t":[true,false,null,"x\\\\",4.50]}');
  });

  it("never gives an edited value its old spelling", () => {
    const v = loose('{"a":0.10,"b":[1.0]}') as { a: number; b: number[] };
    v.a = 0.2;
    v.b[0] = 3;
    assert.equal(canonicalJson(v, { strict: false }), '{"a":0.2,"b":[3]}');
    assert.equal(numberTextAt(v, "a"), undefined);
  });

  it("carries literals to a copy only through copyNumberTexts", () => {
    const v = loose('{"a":0.10,"b":2.50}') as JsonObject;
    const copy: Record<string, unknown> = { a: v["a"], b: v["b"] };
    assert.equal(canonicalJson(copy, { strict: false }), '{"a":0.1,"b":2.5}');
    copyNumberTexts(v, copy, ["a"]);
    assert.equal(canonicalJson(copy, { strict: false }), '{"a":0.10,"b":2.5}');
  });
});
