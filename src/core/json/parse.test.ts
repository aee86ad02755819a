import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseJsonStrict, parseJsonObjectStrict } from "./parse.js";
import { CanonicalJsonError } from "./errors.js";
import { canonicalJson } from "./canonical.js";

function fails(fn: () => unknown, errcode: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CanonicalJsonError, `not a CanonicalJsonError: ${String(e)}`);
    assert.equal(e.errcode, errcode);
    assert.match(e.message, re);
    return true;
  });
}

describe("parseJsonStrict", () => {
  it("parses ordinary JSON from text and from UTF-8 bytes", () => {
    assert.deepEqual(parseJsonStrict('{"a":[1,"é",null,true]}'), { a: [1, "é", null, true] });
    assert.deepEqual(parseJsonStrict(new TextEncoder().encode('{"日":-5}')), { "日": -5 });
  });

  it("refuses a body over maxBytes with M_TOO_LARGE naming the limit (step 1)", () => {
    fails(() => parseJsonStrict(`"${"x".repeat(100)}"`, { maxBytes: 50 }), "M_TOO_LARGE", /limit of 50 bytes/);
    fails(() => parseJsonStrict(new Uint8Array(51).fill(0x20), { maxBytes: 50 }), "M_TOO_LARGE", /51 bytes, over the limit of 50/);
    // multi-byte characters count as their UTF-8 length
    fails(() => parseJsonStrict(`"${"日".repeat(20)}"`, { maxBytes: 50 }), "M_TOO_LARGE", /50/);
    assert.equal(parseJsonStrict(`"${"日".repeat(15)}"`, { maxBytes: 50 }), "日".repeat(15));
  });

  it("refuses text that is not JSON with M_NOT_JSON (step 2)", () => {
    fails(() => parseJsonStrict("{a:1}"), "M_NOT_JSON", /not valid JSON/);
    fails(() => parseJsonStrict(new Uint8Array([0x22, 0xff, 0x22])), "M_NOT_JSON", /UTF-8/);
  });

  it("refuses nesting past maxDepth before parsing, even absurdly deep input (step 3)", () => {
    fails(() => parseJsonStrict("[".repeat(11) + "]".repeat(11), { maxDepth: 10 }), "M_BAD_JSON", /deeper than the limit of 10/);
    assert.deepEqual(parseJsonStrict("[".repeat(10) + "]".repeat(10), { maxDepth: 10 }), JSON.parse("[".repeat(10) + "]".repeat(10)));
    fails(() => parseJsonStrict("[".repeat(500_000), { maxBytes: 1e6 }), "M_BAD_JSON", /deeper/);
  });

  it("does not count brackets inside strings towards depth", () => {
    assert.equal(parseJsonStrict('"[[[[[[\\"[[["', { maxDepth: 1 }), '[[[[[["[[[');
  });

  it("refuses fractional values in any spelling and integers out of range when strict (step 4)", () => {
    fails(() => parseJsonStrict('{"a":1.5}'), "M_BAD_JSON", /number 1\.5 is not an integer/);
    fails(() => parseJsonStrict('{"a":1e-7}'), "M_BAD_JSON", /number 1e-7 is not an integer/);
    fails(() => parseJsonStrict('{"a":[2.5E0]}'), "M_BAD_JSON", /2\.5E0/);
    fails(() => parseJsonStrict('{"a":12345e-4}'), "M_BAD_JSON", /12345e-4/);
    // JavaScript reads this as exactly 1, but its value is not an integer.
    fails(() => parseJsonStrict('{"a":1.0000000000000001}'), "M_BAD_JSON", /1\.0000000000000001 is not an integer/);
    fails(() => parseJsonStrict('{"a":{"b":9007199254740992}}'), "M_BAD_JSON", /a\.b: integer 9007199254740992 is outside/);
    fails(() => parseJsonStrict('{"a":{"b":1e16}}'), "M_BAD_JSON", /a\.b: integer 10000000000000000 is outside/);
    fails(() => parseJsonStrict('{"a":[-9.007199254740992E15]}'), "M_BAD_JSON", /a\[0\]: integer -9007199254740992 is outside/);
    fails(() => parseJsonStrict('{"a":1e400}'), "M_BAD_JSON", /integer 1e400 is outside/);
    assert.deepEqual(parseJsonStrict('{"a":9007199254740991,"b":-9007199254740991,"c":true,"d":false}'), {
      a: 9007199254740991, b: -9007199254740991, c: true, d: false,
    });
  });

  it("accepts integers in exponent or fraction form when strict, as the spec's canonical JSON example does (step 4)", () => {
    // https://spec.matrix.org/v1.16/appendices/#canonical-json: {"a": -0, "b": 1e10} encodes as {"a":0,"b":10000000000}
    assert.equal(canonicalJson(parseJsonStrict('{"a": -0, "b": 1e10}')), '{"a":0,"b":10000000000}');
    assert.deepEqual(parseJsonStrict('{"a":1E2,"b":2.50e1,"c":1.0,"d":0e999,"e":-0.0,"f":9.007199254740991e15,"g":100e-2}'), {
      a: 100, b: 25, c: 1, d: 0, e: -0, f: 9007199254740991, g: 1,
    });
  });

  it("accepts floats when not strict (room versions 1-5)", () => {
    assert.deepEqual(parseJsonStrict('{"a":1.5,"b":1e3}', { strictIntegers: false }), { a: 1.5, b: 1000 });
  });

  it("does not mistake 'e' or '.' inside strings for numbers", () => {
    assert.deepEqual(parseJsonStrict('{"v1.2e5":"3.5e1","t":true,"f":false}'), { "v1.2e5": "3.5e1", t: true, f: false });
  });

  it("refuses escaped lone surrogates in strings and keys (step 5)", () => {
    fails(() => parseJsonStrict('{"a":["\\ud800"]}'), "M_BAD_JSON", /a\[0\]: string contains a lone/);
    fails(() => parseJsonStrict('{"\\udc00":1}'), "M_BAD_JSON", /key contains a lone/);
    assert.equal(parseJsonStrict('"\\ud83d\\ude00"'), "\u{1F600}");
  });

  it("parseJsonObjectStrict requires an object at the top level", () => {
    fails(() => parseJsonObjectStrict("[1]"), "M_BAD_JSON", /expected a JSON object/);
  });
});
