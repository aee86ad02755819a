import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkCertificatePair, coversAll, nameCovers } from "./certificate.js";
import { createTestCa, type TestCa } from "../../test/harness/test-ca.js";

describe("certificate names (RFC 6125 section 6.4)", () => {
  it("matches exact names case-insensitively and a wildcard for exactly one left-most label", () => {
    assert.equal(nameCovers("Matrix.Example.org", "matrix.example.org"), true);
    assert.equal(nameCovers("*.example.org", "matrix.example.org"), true);
    assert.equal(nameCovers("*.example.org", "example.org"), false);
    assert.equal(nameCovers("*.example.org", "a.b.example.org"), false);
    assert.equal(nameCovers("example.org", "matrix.example.org"), false);
    assert.equal(coversAll(["a.test", "*.b.test"], ["a.test", "x.b.test"]), true);
    assert.equal(coversAll(["a.test"], ["a.test", "b.test"]), false);
  });
});

describe("checkCertificatePair", () => {
  let dir: string;
  let ca: TestCa;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-acme-cert-"));
    ca = await createTestCa(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("accepts a chain and its key, reporting the leaf's serial, names and chain length", async () => {
    const c = await ca.issue({ dns: ["hs.test", "*.hs.test"], viaIntermediate: true });
    const v = checkCertificatePair(c.chainPem, c.keyPem);
    assert.ok(v.ok, v.ok ? "" : v.reason);
    assert.deepEqual(v.info.dnsNames, ["hs.test", "*.hs.test"]);
    assert.equal(v.info.chainLength, 2);
    assert.match(v.info.serial, /^[0-9A-F]+$/);
  });

  it("refuses a key that is not the certificate's", async () => {
    const a = await ca.issue({ dns: ["hs.test"] });
    const b = await ca.issue({ dns: ["hs.test"] });
    const v = checkCertificatePair(a.certPem, b.keyPem);
    assert.equal(v.ok, false);
    assert.match(v.ok ? "" : v.reason, /does not match the certificate/);
  });

  it("refuses text that is no certificate, and a key that does not parse", async () => {
    const a = await ca.issue({ dns: ["hs.test"] });
    assert.match((checkCertificatePair("hello", a.keyPem) as { reason: string }).reason, /no PEM certificate/);
    assert.match((checkCertificatePair(a.certPem, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") as { reason: string }).reason, /private key does not parse/);
  });
});
