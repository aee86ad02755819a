import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_THUMBNAIL_SIZES, chooseThumbnailSize, contentDisposition, multipartBoundary, multipartFrame, parseMediaId, parseMultipart, thumbnailPixels,
} from "./index.js";

describe("contentDisposition", () => {
  it("is inline for the spec's safe types and attachment for anything else", () => {
    assert.equal(contentDisposition("image/png", null), "inline");
    assert.equal(contentDisposition("Text/Plain; charset=utf-8", null), "inline");
    assert.equal(contentDisposition("text/html", null), "attachment");
    assert.equal(contentDisposition("image/svg+xml", null), "attachment");
  });
  it("quotes an ASCII file name with its quotes and backslashes escaped (RFC 6266)", () => {
    assert.equal(contentDisposition("image/png", 'a "b"\\c.png'), 'inline; filename="a \\"b\\"\\\\c.png"');
  });
  it("percent-encodes a non-ASCII or control-character name as filename*=utf-8'' (RFC 8187)", () => {
    assert.equal(contentDisposition("text/plain", "caf\u00e9 1.txt"), "inline; filename*=utf-8''caf%C3%A9%201.txt");
    assert.equal(contentDisposition("text/plain", "a\r\nb"), "inline; filename*=utf-8''a%0D%0Ab");
  });
});

describe("thumbnail sizing", () => {
  it("chooses the smallest configured size of the method covering the request, else the largest", () => {
    assert.deepEqual(chooseThumbnailSize({ width: 50, height: 50, method: "crop" }, DEFAULT_THUMBNAIL_SIZES), { width: 96, height: 96, method: "crop" });
    assert.deepEqual(chooseThumbnailSize({ width: 300, height: 200, method: "scale" }, DEFAULT_THUMBNAIL_SIZES), { width: 320, height: 240, method: "scale" });
    assert.deepEqual(chooseThumbnailSize({ width: 5000, height: 5000, method: "scale" }, DEFAULT_THUMBNAIL_SIZES), { width: 800, height: 600, method: "scale" });
  });
  it("scales inside the box keeping the aspect ratio and never upscales", () => {
    assert.deepEqual(thumbnailPixels({ width: 1000, height: 500 }, { width: 320, height: 240, method: "scale" }), { width: 320, height: 160 });
    assert.deepEqual(thumbnailPixels({ width: 100, height: 50 }, { width: 320, height: 240, method: "scale" }), { width: 100, height: 50 });
  });
  it("crops to the box's aspect ratio, shrunk to fit an original smaller than the box", () => {
    assert.deepEqual(thumbnailPixels({ width: 1000, height: 500 }, { width: 96, height: 96, method: "crop" }), { width: 96, height: 96 });
    assert.deepEqual(thumbnailPixels({ width: 60, height: 40 }, { width: 96, height: 96, method: "crop" }), { width: 40, height: 40 });
  });
});

describe("multipart/mixed", () => {
  it("round-trips a JSON part and a media part", () => {
    const { head, tail } = multipartFrame("b0undary", "{}", { "Content-Type": "image/png" });
    const body = Buffer.concat([head, Buffer.from("\r\n--b0undar\x00bytes"), tail]);
    const parts = parseMultipart(body, multipartBoundary("multipart/mixed; boundary=b0undary")!);
    assert.equal(parts.length, 2);
    assert.equal(parts[0]!.headers["content-type"], "application/json");
    assert.equal(parts[0]!.body.toString(), "{}");
    assert.equal(parts[1]!.headers["content-type"], "image/png");
    assert.equal(parts[1]!.body.toString("latin1"), "\r\n--b0undar\x00bytes");
  });
  it("reads a quoted boundary and refuses other types and a body without its closing delimiter", () => {
    assert.equal(multipartBoundary('multipart/mixed; boundary="a b"'), "a b");
    assert.equal(multipartBoundary("application/json"), undefined);
    assert.throws(() => parseMultipart(Buffer.from("--x\r\nContent-Type: a\r\n\r\nno end"), "x"), /closing boundary/);
  });
});

describe("parseMediaId", () => {
  it("accepts the spec's characters and refuses others with M_INVALID_PARAM", () => {
    assert.equal(parseMediaId("abc_-09Z"), "abc_-09Z");
    assert.throws(() => parseMediaId("../etc"), (e: { errcode?: string }) => e.errcode === "M_INVALID_PARAM");
    assert.throws(() => parseMediaId(""), (e: { errcode?: string }) => e.errcode === "M_INVALID_PARAM");
  });
});
