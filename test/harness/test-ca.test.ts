import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { createTestCa, type IssuedCert, type TestCa } from "./test-ca.js";

/** Serves `pem` with `key` on 127.0.0.1 and returns what a client trusting only the root concludes. */
async function handshake(
  ca: TestCa, served: { certPem: string; keyPem: string }, servername: string | undefined, host = "127.0.0.1",
): Promise<{ ok: true } | { ok: false; code: string }> {
  const server = tls.createServer({ cert: served.certPem, key: served.keyPem }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve) => {
      const sock = tls.connect({ host, port, ca: ca.caCertPem, ...(servername ? { servername } : {}) });
      sock.once("secureConnect", () => { sock.destroy(); resolve({ ok: true }); });
      sock.once("error", (e: NodeJS.ErrnoException) => { sock.destroy(); resolve({ ok: false, code: e.code ?? e.message }); });
    });
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe("test CA harness", () => {
  let dir: string;
  let ca: TestCa;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-test-ca-"));
    ca = await createTestCa(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("issues a leaf whose SANs are the DNS names and IPs asked for", async () => {
    const leaf = await ca.issue({ dns: ["hs1.test", "*.wild.test"], ip: ["127.0.2.1", "::1"] });
    const x = new X509Certificate(leaf.certPem);
    assert.equal(x.subjectAltName, "DNS:hs1.test, DNS:*.wild.test, IP Address:127.0.2.1, IP Address:0:0:0:0:0:0:0:1");
    assert.ok(x.checkIssued(new X509Certificate(ca.caCertPem)));
    assert.equal(x.ca, false);
  });

  it("accepts a correct certificate for the right name over real TLS", async () => {
    const leaf = await ca.issue({ dns: ["hs1.test"] });
    assert.deepEqual(await handshake(ca, leaf, "hs1.test"), { ok: true });
  });

  it("chains a leaf through the intermediate when the chain is served", async () => {
    const leaf = await ca.issue({ dns: ["hs2.test"], viaIntermediate: true });
    assert.ok(new X509Certificate(leaf.certPem).checkIssued(new X509Certificate(ca.intermediateCertPem)));
    assert.deepEqual(await handshake(ca, { certPem: leaf.chainPem, keyPem: leaf.keyPem }, "hs2.test"), { ok: true });
  });

  it("fails the chain when the intermediate is missing", async () => {
    const leaf: IssuedCert = await ca.issue({ dns: ["hs3.test"], viaIntermediate: true });
    assert.deepEqual(await handshake(ca, leaf, "hs3.test"), { ok: false, code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
  });

  it("issues expired certificates that TLS refuses", async () => {
    const leaf = await ca.issue({ dns: ["old.test"], expired: true });
    assert.ok(Date.parse(new X509Certificate(leaf.certPem).validTo) < Date.now());
    assert.deepEqual(await handshake(ca, leaf, "old.test"), { ok: false, code: "CERT_HAS_EXPIRED" });
  });

  it("issues not-yet-valid certificates that TLS refuses", async () => {
    const leaf = await ca.issue({ dns: ["new.test"], notYetValid: true });
    assert.deepEqual(await handshake(ca, leaf, "new.test"), { ok: false, code: "CERT_NOT_YET_VALID" });
  });

  it("issues self-signed certificates the root does not vouch for", async () => {
    const leaf = await ca.selfSigned({ dns: ["self.test"] });
    assert.deepEqual(await handshake(ca, leaf, "self.test"), { ok: false, code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
  });

  it("refuses a certificate for another name (node's own host check)", async () => {
    const leaf = await ca.issue({ dns: ["other.test"] });
    assert.deepEqual(await handshake(ca, leaf, "hs1.test"), { ok: false, code: "ERR_TLS_CERT_ALTNAME_INVALID" });
  });

  it("issues wildcard and IP-SAN certificates", async () => {
    const wild = await ca.issue({ dns: ["*.wild.test"] });
    assert.deepEqual(await handshake(ca, wild, "a.wild.test"), { ok: true });
    const ip = await ca.issue({ ip: ["127.0.0.1"] });
    assert.equal(tls.checkServerIdentity("127.0.0.1", new X509Certificate(ip.certPem).toLegacyObject()), undefined);
  });
});
