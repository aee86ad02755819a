import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkCertificateName, dnsNameMatches, normaliseIp, parseSubjectAltName } from "./name-check.js";

describe("certificate name checks (RFC 6125)", () => {
  it("matches DNS names case-insensitively and ignoring a trailing dot (step 3)", () => {
    assert.equal(dnsNameMatches("HS1.Example.ORG", "hs1.example.org.").match, true);
    assert.equal(dnsNameMatches("hs1.example.org", "hs2.example.org").match, false);
  });

  it("lets a wildcard cover exactly one left-most label (step 4)", () => {
    assert.equal(dnsNameMatches("*.example.org", "a.example.org").match, true);
    assert.equal(dnsNameMatches("*.example.org", "example.org").match, false);
    assert.equal(dnsNameMatches("*.example.org", "a.b.example.org").match, false);
  });

  it("refuses partial-label, inner and too-broad wildcards (step 4)", () => {
    assert.equal(dnsNameMatches("f*.example.org", "foo.example.org").match, false);
    assert.equal(dnsNameMatches("a.*.example.org", "a.b.example.org").match, false);
    assert.equal(dnsNameMatches("*.org", "example.org").match, false);
  });

  it("compares IP addresses as addresses, never with wildcards (step 5)", () => {
    assert.equal(normaliseIp("::1"), "0000:0000:0000:0000:0000:0000:0000:0001");
    assert.equal(normaliseIp("0:0:0:0:0:0:0:1"), normaliseIp("::1"));
    assert.equal(normaliseIp("::ffff:127.0.0.1"), "127.0.0.1");
    assert.equal(normaliseIp("2001:db8::1.2.3.4"), "2001:0db8:0000:0000:0000:0000:0102:0304");
    const names = parseSubjectAltName("DNS:*.0.0.127, IP Address:0:0:0:0:0:0:0:1, IP Address:127.0.2.1");
    assert.equal(checkCertificateName(names, "::1").ok, true);
    assert.equal(checkCertificateName(names, "[::1]").ok, true);
    assert.equal(checkCertificateName(names, "127.0.2.1").ok, true);
    assert.equal(checkCertificateName(names, "127.0.2.2").ok, false);
    assert.equal(checkCertificateName(parseSubjectAltName("DNS:127.0.2.1"), "127.0.2.1").ok, false, "a DNS entry does not prove an IP");
  });

  it("never falls back to the subject common name (step 2)", () => {
    const v = checkCertificateName(parseSubjectAltName(undefined, "hs.example.org"), "hs.example.org");
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(v.reason, /common name/);
  });

  it("names what the certificate covers when it does not match", () => {
    const v = checkCertificateName(parseSubjectAltName("DNS:other.example.org, DNS:*.example.net"), "hs.example.org");
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(v.reason, /other\.example\.org, \*\.example\.net, not hs\.example\.org/);
  });
});
