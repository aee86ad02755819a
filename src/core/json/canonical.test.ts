import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { canonicalJson, canonicalJsonBytes, compareCodePoints } from "./canonical.js";
import { CanonicalJsonError } from "./errors.js";

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../../../test/fixtures/signed-json/spec-appendix.json", import.meta.url)), "utf8"),
) as { canonical: { input: string; canonical: string }[] };

describe("canonicalJson: the specification's examples (appendices, Canonical JSON)", () => {
  for (const c of fixture.canonical) {
    it(`encodes ${c.canonical} byte for byte`, () => {
      const bytes = canonicalJsonBytes(JSON.parse(c.input));
      assert.deepEqual(Buffer.from(bytes), Buffer.from(c.canonical, "utf8"));
    });
  }
});

describe("canonicalJson: every rule", () => {
  it("sorts keys by code point, putting astral-plane keys after U+E000-U+FFFF (step 1)", () => {
    const obj = { "\u{1F600}": 1, "\uFFFD": 2, "\uE000": 3, a: 4, "": 5, ab: 6, "\u00e9": 7 };
    assert.equal(canonicalJson(obj), '{"":5,"a":4,"ab":6,"\u00e9":7,"\uE000":3,"\uFFFD":2,"\u{1F600}":1}');
    // The plain UTF-16 sort would have put the emoji (D83D DE00) before U+E000.
    assert.ok(["\u{1F600}", "\uE000"].sort()[0] === "\u{1F600}");
  });

  it("orders astral-plane keys among themselves by code point", () => {
    assert.equal(canonicalJson({ "\u{10000}": 1, "\u{1F600}": 2, "\u{10FFFF}": 3 }), '{"\u{10000}":1,"\u{1F600}":2,"\u{10FFFF}":3}');
    assert.ok(compareCodePoints("\u{10000}", "\uFFFF") > 0);
    assert.ok(compareCodePoints("\uD7FF", "\u{10000}") < 0);
    assert.ok(compareCodePoints("abc", "ab") > 0);
  });

  it("escapes control characters with the short forms and lowercase \\u00XX (step 3)", () => {
    const s = "\b\t\n\f\r\u0000\u0001\u000b\u000e\u001f";
    assert.equal(canonicalJson(s), '"\\b\\t\\n\\f\\r\\u0000\\u0001\\u000b\\u000e\\u001f"');
  });

  it("escapes the quote and the backslash and nothing else", () => {
    assert.equal(canonicalJson('a"b\\c/d'), '"a\\"b\\\\c/d"');
  });

  it("keeps U+2028, U+2029, U+007F and non-ASCII raw (step 3)", () => {
    const s = "\u2028\u2029\u007f\u00e9\u65e5\u{1F600}";
    assert.equal(canonicalJson(s), `"${s}"`);
    assert.deepEqual(Buffer.from(canonicalJsonBytes(s)), Buffer.from(`"${s}"`, "utf8"));
  });

  it("refuses lone surrogates in values and keys, naming the path", () => {
    assert.throws(() => canonicalJson({ a: ["ok", "\ud800"] }), (e: unknown) => e instanceof CanonicalJsonError && e.message.startsWith("a[1]:") && e.errcode === "M_BAD_JSON");
    assert.throws(() => canonicalJson({ "\udc00x": 1 }), /lone UTF-16 surrogate/);
  });

  it("accepts integers at the limits and refuses them one past (step 4)", () => {
    assert.equal(canonicalJson([9007199254740991, -9007199254740991]), "[9007199254740991,-9007199254740991]");
    assert.throws(() => canonicalJson({ n: 9007199254740992 }), (e: unknown) => e instanceof CanonicalJsonError && /n: integer 9007199254740992 is outside/.test(e.message));
    assert.throws(() => canonicalJson({ n: -9007199254740992 }), /outside/);
  });

  it("refuses floats, NaN and infinities in strict mode and names the field", () => {
    assert.throws(() => canonicalJson({ content: { x: 1.5 } }), /content\.x: 1\.5 is not an integer/);
    assert.throws(() => canonicalJson({ x: NaN }), /NaN/);
    assert.throws(() => canonicalJson({ x: Infinity }), /infinite/);
  });

  it("lets floats through in non-strict mode (room versions 1-5) but never NaN", () => {
    assert.equal(canonicalJson({ x: 1.5, y: 2 ** 60 }, { strict: false }), '{"x":1.5,"y":1152921504606846976}');
    assert.throws(() => canonicalJson({ x: NaN }, { strict: false }), CanonicalJsonError);
  });

  it("writes -0 as 0", () => {
    assert.equal(canonicalJson({ a: -0 }), '{"a":0}');
  });

  it("encodes deep nesting without whitespace", () => {
    let v: unknown = "x";
    for (let i = 0; i < 200; i++) v = i % 2 ? [v] : { k: v };
    const s = canonicalJson(v);
    assert.equal(s.length, "x".length + 2 + 100 * 2 + 100 * 6);
    assert.deepEqual(JSON.parse(s), v);
  });

  it("refuses cyclic values and non-JSON types with a typed error", () => {
    const a: Record<string, unknown> = {};
    a["self"] = a;
    assert.throws(() => canonicalJson(a), (e: unknown) => e instanceof CanonicalJsonError && /cyclic/.test(e.message));
    assert.throws(() => canonicalJson({ f: () => 1 }), /f: a function is not a JSON value/);
    assert.throws(() => canonicalJson([undefined]), /undefined/);
  });

  it("leaves out object properties that are undefined", () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  });

  it("agrees with JSON.stringify on ASCII strings of every code unit below 0x80", () => {
    for (let c = 0; c < 0x80; c++) {
      const s = `a${String.fromCharCode(c)}b`;
      assert.equal(canonicalJson(s), JSON.stringify(s));
    }
  });
});
