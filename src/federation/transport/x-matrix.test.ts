import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { signingKeyFromSeed, verifyJsonSignature } from "../../core/crypto/index.js";
import { formatXMatrix, parseXMatrix, requestJson, signRequest } from "./x-matrix.js";

describe("X-Matrix header", () => {
  it("parses the spec's example with quoted values", () => {
    const p = parseXMatrix('X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF..."');
    assert.deepEqual(p, { ok: true, value: { origin: "origin.hs.example.com", destination: "destination.hs.example.com", key: "ed25519:key1", sig: "ABCDEF..." } });
  });

  it("accepts any order, case-insensitive names, spaces around commas, unquoted values with colons", () => {
    const p = parseXMatrix("x-matrix  Sig=abc ,  KEY=ed25519:key1,origin=hs.example:8448");
    assert.deepEqual(p, { ok: true, value: { origin: "hs.example:8448", key: "ed25519:key1", sig: "abc" } });
  });

  it("unescapes backslash pairs in quoted values and ignores unknown parameters", () => {
    const p = parseXMatrix('X-Matrix origin="a\\"b",key="k",sig="s",extra="x"');
    assert.ok(p.ok);
    assert.equal(p.value.origin, 'a"b');
  });

  it("refuses other schemes, missing parameters, duplicates and unterminated quotes", () => {
    assert.match((parseXMatrix('Bearer abc') as { reason: string }).reason, /not X-Matrix/);
    assert.match((parseXMatrix('X-Matrix origin="a",key="k"') as { reason: string }).reason, /no sig/);
    assert.match((parseXMatrix('X-Matrix origin="a",origin="b",key="k",sig="s"') as { reason: string }).reason, /twice/);
    assert.match((parseXMatrix('X-Matrix key=k,sig=s,origin="a') as { reason: string }).reason, /not closed/);
  });

  it("formats what it parses", () => {
    const v = { origin: "a.example", destination: "b.example", key: "ed25519:1", sig: "xyz" };
    assert.deepEqual(parseXMatrix(formatXMatrix(v)), { ok: true, value: v });
  });

  it("signs method, uri, origin, destination and content (step 1)", () => {
    const key = signingKeyFromSeed("k1", randomBytes(32));
    const req = { method: "PUT", uri: "/_matrix/federation/v1/send/1", origin: "a.example", destination: "b.example", content: { pdus: [] } };
    const header = signRequest(req, key);
    const p = parseXMatrix(header);
    assert.ok(p.ok);
    const signed = { ...requestJson(req), signatures: { "a.example": { [key.keyId]: p.value.sig } } };
    assert.deepEqual(verifyJsonSignature(signed, "a.example", key.keyId, key.publicKey), { ok: true });
    const other = { ...requestJson({ ...req, destination: "c.example" }), signatures: signed.signatures };
    assert.equal(verifyJsonSignature(other, "a.example", key.keyId, key.publicKey).ok, false);
  });
});
