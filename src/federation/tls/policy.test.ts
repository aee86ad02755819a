import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { globToRegExp, TlsPolicy } from "./policy.js";

describe("TLS policy", () => {
  it("reads the whitelist with Synapse's glob syntax ('*' any run including dots, '?' one character)", () => {
    const p = new TlsPolicy({ verificationWhitelist: ["*.onion", "lab?.example.org"] });
    assert.equal(p.verifies("abc.onion"), false);
    assert.equal(p.verifies("a.b.onion"), false);
    assert.equal(p.verifies("lab1.example.org"), false);
    assert.equal(p.verifies("lab12.example.org"), true);
    assert.equal(p.verifies("example.org"), true);
    assert.equal(globToRegExp("a.b").test("aXb"), false, "dots are literal");
  });

  it("verifies nothing when federation_verify_certificates is false", () => {
    assert.equal(new TlsPolicy({ verifyCertificates: false }).verifies("example.org"), false);
  });

  it("maps federation_client_minimum_tls_version to node's names", () => {
    assert.equal(new TlsPolicy({ minimumTlsVersion: "1.2" }).minVersion, "TLSv1.2");
    assert.equal(new TlsPolicy().minVersion, "TLSv1");
  });
});
