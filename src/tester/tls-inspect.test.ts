import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { connect, createServer, type Server, type TLSSocket } from "node:tls";
import { createTestCa, type IssuedCert, type TestCa } from "../../test/harness/test-ca.js";
import { inspectTls, peerInfoFromSocket, trustAnchors, type TlsInspection } from "./tls-inspect.js";

/** Serves `chainPem` on 127.0.6.200 (port 0), connects once, and inspects what was served. */
async function inspectServed(cert: IssuedCert, chainPem: string, expectedHost: string, ca: TestCa, verify = true): Promise<TlsInspection> {
  const server: Server = createServer({ cert: chainPem, key: cert.keyPem }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, "127.0.6.200", r));
  const port = (server.address() as { port: number }).port;
  try {
    const socket: TLSSocket = await new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.6.200", port, ...(isIP(expectedHost) ? {} : { servername: expectedHost }), rejectUnauthorized: false }, () => resolve(s));
      s.once("error", reject);
    });
    const info = peerInfoFromSocket(socket);
    socket.destroy();
    return inspectTls(info, {
      expectedHost, address: `127.0.6.200:${port}`, now: Date.now(), anchors: trustAnchors([ca.caCertPem], false), verifyCertificates: verify,
    });
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

function check(r: TlsInspection, id: string) {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c, `no ${id} check in ${JSON.stringify(r.checks.map((x) => x.id))}`);
  return c;
}

describe("inspectTls", () => {
  let dir: string;
  let ca: TestCa;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-tls-inspect-"));
    ca = await createTestCa(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("passes a certificate for the expected name with the chain to a trusted root", async () => {
    const leaf = await ca.issue({ dns: ["hs.test"], viaIntermediate: true });
    const r = await inspectServed(leaf, leaf.chainPem, "hs.test", ca);
    assert.equal(r.validCertificates, true);
    assert.deepEqual(r.checks.filter((c) => c.status !== "ok"), []);
    assert.match(check(r, "tls.handshake").detail, /TLS 1\.[23]/);
    assert.equal(r.certificates.length, 2);
    assert.deepEqual(r.certificates[0]!.DNSNames, ["hs.test"]);
    assert.equal(r.certificates[1]!.SubjectCommonName, "Zion Test Intermediate CA");
  });

  it("fails a certificate for another name and says which names it has", async () => {
    const leaf = await ca.issue({ dns: ["other.test"] });
    const r = await inspectServed(leaf, leaf.chainPem, "hs.test", ca);
    const c = check(r, "tls.name");
    assert.equal(c.status, "fail");
    assert.match(c.detail, /other\.test/);
    assert.match(c.fix ?? "", /hs\.test/);
    assert.equal(r.validCertificates, false);
  });

  it("explains that a wildcard does not cover the bare domain", async () => {
    const leaf = await ca.issue({ dns: ["*.example.test"] });
    const r = await inspectServed(leaf, leaf.chainPem, "example.test", ca);
    assert.equal(check(r, "tls.name").status, "fail");
    assert.match(check(r, "tls.name").fix ?? "", /one label/);
    assert.equal(check(r, "tls.wildcard").status, "warn");
  });

  it("accepts a wildcard for one label with a note", async () => {
    const leaf = await ca.issue({ dns: ["*.example.test"] });
    const r = await inspectServed(leaf, leaf.chainPem, "matrix.example.test", ca);
    assert.equal(check(r, "tls.name").status, "ok");
    assert.equal(check(r, "tls.wildcard").status, "ok");
  });

  it("notes a name that is only in the Common Name", async () => {
    const leaf = await ca.issue({ commonName: "hs.test", ip: ["127.0.6.200"] });
    const r = await inspectServed(leaf, leaf.chainPem, "hs.test", ca);
    assert.equal(check(r, "tls.name").status, "fail");
    assert.equal(check(r, "tls.cn-san").status, "warn");
    assert.match(check(r, "tls.name").fix ?? "", /subjectAltName/);
  });

  it("matches an IP literal server name against an IP subjectAltName, never against a DNS one", async () => {
    const byIp = await ca.issue({ ip: ["127.0.6.200"] });
    const ok = await inspectServed(byIp, byIp.chainPem, "127.0.6.200", ca);
    assert.equal(check(ok, "tls.name").status, "ok");
    assert.match(check(ok, "tls.name").detail, /subjectAltName IP:127\.0\.6\.200/);
    const byDns = await ca.issue({ dns: ["127.0.6.200.test"] });
    const miss = await inspectServed(byDns, byDns.chainPem, "127.0.6.200", ca);
    assert.equal(check(miss, "tls.name").status, "fail");
    assert.match(check(miss, "tls.name").fix ?? "", /subjectAltName includes 127\.0\.6\.200/);
  });

  it("notes a Common Name missing from subjectAltName as harmless when the name matches", async () => {
    const leaf = await ca.issue({ commonName: "legacy-name.test", dns: ["hs.test"] });
    const r = await inspectServed(leaf, leaf.chainPem, "hs.test", ca);
    assert.equal(check(r, "tls.name").status, "ok");
    const c = check(r, "tls.cn-san");
    assert.equal(c.status, "ok");
    assert.match(c.detail, /"legacy-name\.test" is not in subjectAltName; that is harmless/);
  });

  it("warns about a TLS version older than 1.2 and names the cipher", async () => {
    const leaf = await ca.issue({ dns: ["hs.test"] });
    const served = await inspectServed(leaf, leaf.chainPem, "hs.test", ca);
    assert.equal(check(served, "tls.handshake").status, "ok");
    assert.match(served.cipher.CipherSuite, /^TLS_/);
    // OpenSSL 3 refuses TLS 1.1 at its default security level, so an old server's handshake is given as facts.
    const old = inspectTls({ protocol: "TLSv1.1", cipher: "TLS_RSA_WITH_AES_128_CBC_SHA", chain: [new X509Certificate(leaf.certPem)] }, {
      expectedHost: "hs.test", address: "a:1", now: Date.now(), anchors: trustAnchors([ca.caCertPem], false),
    });
    const c = check(old, "tls.handshake");
    assert.equal(c.status, "warn");
    assert.match(c.detail, /TLS 1\.1, TLS_RSA_WITH_AES_128_CBC_SHA: older than TLS 1\.2/);
    assert.match(c.fix ?? "", /TLS 1\.2 and 1\.3/);
    assert.equal(old.cipher.Version, "TLS 1.1");
  });

  it("fails an expired certificate and warns one that expires within 14 days", async () => {
    const expired = await ca.issue({ dns: ["hs.test"], expired: true });
    const r1 = await inspectServed(expired, expired.chainPem, "hs.test", ca);
    assert.equal(check(r1, "tls.expiry").status, "fail");
    assert.match(check(r1, "tls.expiry").detail, /expired/);
    const soon = await ca.issue({ dns: ["hs.test"], notAfterDays: 5 });
    const r2 = await inspectServed(soon, soon.chainPem, "hs.test", ca);
    assert.equal(check(r2, "tls.expiry").status, "warn");
    assert.match(check(r2, "tls.expiry").detail, /expires in [45] days/);
    assert.equal(r2.validCertificates, true);
  });

  it("names a missing intermediate when only the leaf is served", async () => {
    const leaf = await ca.issue({ dns: ["hs.test"], viaIntermediate: true });
    const r = await inspectServed(leaf, leaf.certPem, "hs.test", ca);
    const c = check(r, "tls.chain");
    assert.equal(c.status, "fail");
    assert.match(c.detail, /intermediate certificate is missing/);
    assert.match(c.fix ?? "", /full chain/);
  });

  it("fails a self-signed certificate, and only warns when verification is off", async () => {
    const self = await ca.selfSigned({ dns: ["hs.test"] });
    const r = await inspectServed(self, self.chainPem, "hs.test", ca);
    assert.equal(check(r, "tls.chain").status, "fail");
    assert.match(check(r, "tls.chain").detail, /self-signed/);
    const relaxed = await inspectServed(self, self.chainPem, "hs.test", ca, false);
    assert.equal(check(relaxed, "tls.chain").status, "warn");
  });

  it("fails a chain that ends at an untrusted root", async () => {
    const leaf = await ca.issue({ dns: ["hs.test"], viaIntermediate: true });
    const other = await createTestCa(join(dir, "other-ca"));
    const server = createServer({ cert: leaf.chainPem, key: leaf.keyPem }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.6.200", r));
    const port = (server.address() as { port: number }).port;
    const socket: TLSSocket = await new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.6.200", port, servername: "hs.test", rejectUnauthorized: false }, () => resolve(s));
      s.once("error", reject);
    });
    const info = peerInfoFromSocket(socket);
    socket.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    const r = inspectTls(info, { expectedHost: "hs.test", address: "x", now: Date.now(), anchors: trustAnchors([other.caCertPem], false) });
    assert.equal(check(r, "tls.chain").status, "fail");
    assert.match(check(r, "tls.chain").detail, /not a trusted CA/);
  });
});
