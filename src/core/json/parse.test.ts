import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseJsonStrict, parseJsonObjectStrict } from "./parse.js";
import { CanonicalJsonError } from "./errors.js";

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

  it("refuses floats, exponents and integers out of range when strict (step 4)", () => {
    fails(() => parseJsonStrict('{"a":1.0}'), "M_BAD_JSON", /number 1\.0 is not an integer/);
    fails(() => parseJsonStrict('{"a":1e10}'), "M_BAD_JSON", /1e10/);
    fails(() => parseJsonStrict('{"a":[2E3]}'), "M_BAD_JSON", /2E3/);
    fails(() => parseJsonStrict('{"a":{"b":9007199254740992}}'), "M_BAD_JSON", /a\.b: integer 9007199254740992 is outside/);
    assert.deepEqual(parseJsonStrict('{"a":9007199254740991,"b":-9007199254740991,"c":true,"d":false}'), {
      a: 9007199254740991, b: -9007199254740991, c: true, d: false,
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
