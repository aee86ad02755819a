/**
 * Outbound federation TLS against real HTTPS servers (127.0.2.100-199) with certificates from the test CA:
 * correct, wrong name, expired, self-signed, wildcard, IP SAN, missing intermediate; the verification switches
 * (federation_verify_certificates, the whitelist, the custom CA list, the minimum TLS version), connection reuse,
 * timeouts and the response size limit.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpsClient, HttpsRequestError, type HttpsRequest } from "../../src/federation/tls/https-client.js";
import { TlsPolicy, type TlsPolicyOptions } from "../../src/federation/tls/policy.js";
import { RecordingTrace } from "../../src/federation/trace.js";
import { createTestCa, json, serveHttps, type IssueOptions, type TestCa, type TestHttpsServer } from "../harness/test-ca.js";

describe("outbound federation TLS", { timeout: 60_000 }, () => {
  let dir: string;
  let ca: TestCa;
  const servers: TestHttpsServer[] = [];
  const clients: HttpsClient[] = [];
  let nextIp = 100;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-tls-"));
    ca = await createTestCa(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  type Variant = IssueOptions & { selfSigned?: boolean; serveChain?: boolean };
  async function server(v: Variant, opts: { handler?: Parameters<typeof serveHttps>[3]; maxVersion?: "TLSv1.2" } = {}) {
    const ip = `127.0.2.${nextIp++}`;
    const leaf = v.selfSigned ? await ca.selfSigned(v) : await ca.issue(v);
    const served = v.serveChain === false ? { certPem: leaf.certPem, keyPem: leaf.keyPem } : { chainPem: leaf.chainPem, keyPem: leaf.keyPem };
    const s = await serveHttps(ip, 0, served, opts.handler ?? json(200, { ok: true }), opts.maxVersion ? { maxVersion: opts.maxVersion } : {});
    servers.push(s);
    return s;
  }

  function client(p: TlsPolicyOptions = {}, o: ConstructorParameters<typeof HttpsClient>[1] = {}) {
    const c = new HttpsClient(new TlsPolicy({ customCaPems: [ca.caCertPem], ...p }), { connectTimeoutMs: 2000, requestTimeoutMs: 2000, ...o });
    clients.push(c);
    return c;
  }

  const req = (s: TestHttpsServer, tlsName: string, extra: Partial<HttpsRequest> = {}): HttpsRequest => ({
    targets: [{ ip: s.host, port: s.port }], tlsName, hostHeader: tlsName, method: "GET", path: "/_matrix/federation/v1/version", ...extra,
  });

  async function failure(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof HttpsRequestError, `expected HttpsRequestError, got ${String(e)}`);
      return e.message;
    }
    return assert.fail("the request succeeded");
  }

  it("accepts a correct certificate and sends SNI for the host name", async () => {
    const s = await server({ dns: ["good.test"] });
    const res = await client().request(req(s, "good.test"));
    assert.equal(res.status, 200);
    assert.equal(s.requests[0]?.sni, "good.test");
  });

  it("refuses a certificate for another name, naming both", async () => {
    const s = await server({ dns: ["other.test"] });
    const msg = await failure(client().request(req(s, "good.test")));
    assert.match(msg, /for other\.test, not good\.test/);
  });

  it("refuses an expired certificate", async () => {
    const s = await server({ dns: ["old.test"], expired: true });
    assert.match(await failure(client().request(req(s, "old.test"))), /expired/);
  });

  it("refuses a self-signed certificate", async () => {
    const s = await server({ dns: ["self.test"], selfSigned: true });
    assert.match(await failure(client().request(req(s, "self.test"))), /self-signed/);
  });

  it("refuses a chain with the intermediate missing, and accepts it when served", async () => {
    const s = await server({ dns: ["mid.test"], viaIntermediate: true, serveChain: false });
    assert.match(await failure(client().request(req(s, "mid.test"))), /intermediate certificate missing/);
    const s2 = await server({ dns: ["mid.test"], viaIntermediate: true });
    assert.equal((await client().request(req(s2, "mid.test"))).status, 200);
  });

  it("accepts a wildcard for one label only", async () => {
    const s = await server({ dns: ["*.wild.test"] });
    assert.equal((await client().request(req(s, "hs.wild.test"))).status, 200);
    assert.match(await failure(client().request(req(s, "a.b.wild.test"))), /wildcard covers exactly one/);
    assert.match(await failure(client().request(req(s, "wild.test"))), /not wild\.test/);
  });

  it("checks an IP SAN for an IP-literal name and sends no SNI", async () => {
    const s = await server({ ip: [`127.0.2.${nextIp}`] });
    const res = await client().request(req(s, s.host));
    assert.equal(res.status, 200);
    assert.equal(s.requests[0]?.sni, false);
    const s2 = await server({ dns: [`host.test`] });
    assert.match(await failure(client().request(req(s2, s2.host))), /no IP address subjectAltName/);
  });

  it("skips verification when federation_verify_certificates is false or the name is whitelisted", async () => {
    const s = await server({ dns: ["self.onion"], selfSigned: true });
    assert.equal((await client({ verifyCertificates: false }).request(req(s, "self.onion"))).status, 200);
    assert.equal((await client({ verificationWhitelist: ["*.onion"] }).request(req(s, "self.onion"))).status, 200);
    await failure(client({ verificationWhitelist: ["*.example"] }).request(req(s, "self.onion")));
  });

  it("trusts only the custom CA list when one is given", async () => {
    const s = await server({ dns: ["good.test"] });
    const other = await createTestCa(join(dir, "other-ca"));
    assert.match(await failure(client({ customCaPems: [other.caCertPem] }).request(req(s, "good.test"))), /not trusted|trusted CA/);
  });

  it("honours federation_client_minimum_tls_version", async () => {
    const s = await server({ dns: ["tls12.test"] }, { maxVersion: "TLSv1.2" });
    assert.equal((await client({ minimumTlsVersion: "1.2" }).request(req(s, "tls12.test"))).status, 200);
    assert.match(await failure(client({ minimumTlsVersion: "1.3" }).request(req(s, "tls12.test"))), /handshake/i);
  });

  it("reuses connections to a destination instead of one per request", async () => {
    const s = await server({ dns: ["reuse.test"] });
    const c = client();
    for (let i = 0; i < 10; i++) assert.equal((await c.request(req(s, "reuse.test"))).status, 200);
    // undici's pool may open a second socket while the first is being released; it never opens one per request.
    assert.ok(s.connections() <= 2, `${s.connections()} TLS connections for 10 requests`);
    assert.equal(new Set(s.requests.map((r) => r.connection)).size, s.connections());
  });

  it("caps the response size and the time to answer", async () => {
    const big = await server({ dns: ["big.test"] }, { handler: json(200, { pad: "x".repeat(10_000) }) });
    assert.match(await failure(client({}, { maxResponseBytes: 1000 }).request(req(big, "big.test"))), /1000-byte limit/);
    const slow = await server({ dns: ["slow.test"] }, { handler: () => { /* never answers */ } });
    assert.match(await failure(client().request(req(slow, "slow.test", { timeoutMs: 300 }))), /within 300 ms/);
  });

  it("traces the handshake, chain and name checks", async () => {
    const s = await server({ dns: ["traced.test"] });
    const trace = new RecordingTrace();
    await client().request(req(s, "traced.test", { trace }));
    assert.deepEqual(trace.steps.map((x) => [x.check, x.ok]), [["tls.handshake", true], ["tls.chain", true], ["tls.name", true]]);
    const bad = await server({ dns: ["nope.test"] });
    const t2 = new RecordingTrace();
    await failure(client().request(req(bad, "traced.test", { trace: t2 })));
    const name = t2.steps.find((x) => x.check === "tls.name");
    assert.ok(name && !name.ok && name.fix?.includes("traced.test"));
  });
});
