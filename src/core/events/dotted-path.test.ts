/** Dot-separated property paths: https://spec.matrix.org/v1.19/appendices/#dot-separated-property-paths */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseDottedPath, valueAtPath } from "./dotted-path.js";

describe("parseDottedPath", () => {
  it("splits on dots", () => assert.deepEqual(parseDottedPath("content.body"), ["content", "body"]));
  it("keeps an escaped dot inside a name (content.m\\.relates_to)", () =>
    assert.deepEqual(parseDottedPath("content.m\\.relates_to.rel_type"), ["content", "m.relates_to", "rel_type"]));
  it("unescapes a doubled backslash (content.m\\\\foo names m\\foo)", () =>
    assert.deepEqual(parseDottedPath("content.m\\\\foo"), ["content", "m\\foo"]));
  it("leaves other escapes as the two characters (\\x)", () => assert.deepEqual(parseDottedPath("a.\\x"), ["a", "\\x"]));
  it("splits after an escaped backslash (a\\\\.b is a\\ then b)", () => assert.deepEqual(parseDottedPath("a\\\\.b"), ["a\\", "b"]));
  it("keeps a trailing lone backslash", () => assert.deepEqual(parseDottedPath("a\\"), ["a\\"]));
  it("gives empty names for leading, doubled and trailing dots", () => assert.deepEqual(parseDottedPath(".a..b."), ["", "a", "", "b", ""]));
});

describe("valueAtPath", () => {
  const ev = { content: { "m.relates_to": { rel_type: "m.replace" }, body: "x", list: [1] }, "a.b": 1 };
  it("walks nested objects", () => assert.equal(valueAtPath(ev, ["content", "m.relates_to", "rel_type"]), "m.replace"));
  it("does not treat a dotted key as a path", () => assert.equal(valueAtPath(ev, ["a", "b"]), undefined));
  it("finds a dotted key named with one part", () => assert.equal(valueAtPath(ev, ["a.b"]), 1));
  it("is undefined through a non-object", () => assert.equal(valueAtPath(ev, ["content", "body", "length"]), undefined));
  it("does not index arrays", () => assert.equal(valueAtPath(ev, ["content", "list", "0"]), undefined));
  it("does not see inherited properties", () => assert.equal(valueAtPath(ev, ["content", "constructor"]), undefined));
});
