import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { openGraphOf } from "./preview.js";
import { fileNameOf } from "./remote.js";

describe("openGraphOf", () => {
  it("reads og: properties (first wins), decoding entities, with name= as well as property=", () => {
    const og = openGraphOf(`<meta property="og:title" content="One &lt;1&gt;"><meta property="og:title" content="Two"><META NAME="og:url" CONTENT="https://x">`);
    assert.deepEqual(og, { "og:title": "One <1>", "og:url": "https://x" });
  });
  it("falls back to <title> and meta description, and survives broken HTML", () => {
    assert.deepEqual(openGraphOf("<title> T </title><meta name=description content=D><div><p>unclosed"), { "og:title": "T", "og:description": "D" });
  });
  it("cuts each value to 2,000 characters", () => {
    const og = openGraphOf(`<meta property="og:description" content="${"x".repeat(5000)}">`);
    assert.equal(String(og["og:description"]).length, 2000);
  });
});

describe("fileNameOf", () => {
  it("prefers filename* (RFC 8187) and unescapes a quoted filename", () => {
    assert.equal(fileNameOf("inline; filename*=utf-8''caf%C3%A9.png"), "caf\u00e9.png");
    assert.equal(fileNameOf('attachment; filename="a \\"b\\".txt"'), 'a "b".txt');
    assert.equal(fileNameOf("inline"), null);
    assert.equal(fileNameOf(undefined), null);
  });
});
