/**
 * The IP range policy against the IPv6 forms of a blocked IPv4 address (IPv4-compatible ::a.b.c.d, IPv4-mapped
 * ::ffff:a.b.c.d, 6to4 2002:aabb:ccdd::), in each place an address comes from: server-name resolution (IP-literal
 * names and AAAA records), .well-known fetches and key fetches. Real dnsmasq, and a real HTTPS key server on
 * 127.0.9.x (blocked by Synapse's default 127.0.0.0/8): the mapped form would reach it, so its connection count
 * proves nothing was sent.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/core/clock.js";
import { publicKeyBase64, signJson, signingKeyFromSeed } from "../../src/core/crypto/index.js";
import type { KeyId, ServerName } from "../../src/core/ids/index.js";
import { DEFAULT_IP_RANGE_BLACKLIST, IpRangePolicy, NodeDns, ServerResolver, WellKnownResolver, httpsGetVia } from "../../src/federation/discovery/index.js";
import { KeyRing } from "../../src/federation/keys/key-ring.js";
import { MemoryKeyStore } from "../../src/federation/keys/memory-key-store.js";
import { HttpsClient } from "../../src/federation/tls/https-client.js";
import { TlsPolicy } from "../../src/federation/tls/policy.js";
import { RecordingTrace } from "../../src/federation/trace.js";
import { FederationClient } from "../../src/federation/transport/client.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { createTestCa, json, serveHttps, type TestCa, type TestHttpsServer } from "../harness/test-ca.js";

class FakeClock implements Clock {
  t = Date.now();
  now(): number { return this.t; }
  async sleep(ms: number): Promise<void> { this.t += ms; }
}

// One of five blocks of 127.0.9.x per run (ports 443 and 8448 are fixed).
const V4 = `127.0.9.${10 + 10 * Math.floor(Math.random() * 5)}`;
const [, , c, d] = V4.split(".").map(Number) as [number, number, number, number];
const FORMS: Readonly<Record<string, string>> = {
  "IPv4-compatible": `::${V4}`,
  "IPv4-mapped": `::ffff:${V4}`,
  "6to4": `2002:7f00:${((c << 8) | d).toString(16)}::`,
};

describe("IPv6 forms of blocked IPv4 addresses (real DNS, TLS and key server)", { timeout: 60_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  let keyServer: TestHttpsServer;
  let wellKnownServer: TestHttpsServer;
  const clients: HttpsClient[] = [];
  const remoteKey = signingKeyFromSeed("r1", randomBytes(32));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-ipforms-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq();
    const aaaa: Record<string, string[]> = {};
    for (const [form, ip] of Object.entries(FORMS)) {
      aaaa[`${slug(form)}.test`] = [ip];
      aaaa[`wk-${slug(form)}.test`] = [ip];
    }
    await dns.setRecords({ aaaa });
    const names = Object.keys(FORMS).flatMap((f) => [`${slug(f)}.test`, `wk-${slug(f)}.test`]);
    const leaf = await ca.issue({ dns: names, ip: [V4] });
    keyServer = await serveHttps(V4, 8448, leaf, (_req, res) => {
      let body = { server_name: "unused", valid_until_ts: Date.now() + 3600_000, verify_keys: { [remoteKey.keyId]: { key: publicKeyBase64(remoteKey) } } };
      body = signJson(body, "unused", remoteKey) as typeof body;
      json(200, body)(_req, res);
    });
    wellKnownServer = await serveHttps(V4, 443, leaf, json(200, { "m.server": `${V4}:8448` }));
  });
  after(async () => {
    await Promise.all(clients.splice(0).map((x) => x.close()));
    await keyServer?.close();
    await wellKnownServer?.close();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((x) => x.close()));
  });

  function stack() {
    const clock = new FakeClock();
    // Synapse's default blacklist, no whitelist: 127.0.9.x is refused, so each of its IPv6 forms must be too.
    const ipPolicy = new IpRangePolicy(DEFAULT_IP_RANGE_BLACKLIST, []);
    const nodeDns = new NodeDns({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
    const https = new HttpsClient(new TlsPolicy({ customCaPems: [ca.caCertPem] }), { connectTimeoutMs: 2000, requestTimeoutMs: 3000 });
    clients.push(https);
    const get = httpsGetVia(nodeDns, ipPolicy, https);
    const resolver = new ServerResolver({ dns: nodeDns, wellKnown: new WellKnownResolver(get, clock, { timeoutMs: 1000 }), clock, ipPolicy });
    const key = signingKeyFromSeed("z1", randomBytes(32));
    const client = new FederationClient({ serverName: "zion.test" as ServerName, signingKey: key, resolver, https });
    const keyRing = new KeyRing({ store: new MemoryKeyStore(), client, clock, own: { serverName: "zion.test" as ServerName, signingKeys: [key] } });
    return { resolver, get, client, keyRing };
  }

  const refusedFor = (form: string) => new RegExp(`the ${form} form of ${V4.replace(/\./g, "\\.")}\\) is in ip_range_blacklist`);

  for (const [form, ip] of Object.entries(FORMS)) {
    it(`refuses the ${form} form ${ip} as an IP-literal server name and as an AAAA record (resolution)`, async () => {
      const { resolver } = stack();
      const literal = await resolver.resolve(`[${ip}]:8448`, { trace: new RecordingTrace() });
      assert.equal(literal.ok, false, `[${ip}] must not resolve`);
      if (!literal.ok) assert.match(literal.reason, refusedFor(form));
      const trace = new RecordingTrace();
      const byName = await resolver.resolve(`${slug(form)}.test:8448`, { trace });
      assert.equal(byName.ok, false);
      if (!byName.ok) assert.match(byName.reason, refusedFor(form));
      assert.ok(trace.steps.some((s) => s.check === "policy.ip-ranges" && !s.ok));
    });

    it(`refuses a .well-known fetch from a host whose AAAA is the ${form} form ${ip}`, async () => {
      const { get } = stack();
      const before = wellKnownServer.connections();
      await assert.rejects(
        get(new URL(`https://wk-${slug(form)}.test/.well-known/matrix/server`), { timeoutMs: 1000, maxBytes: 65536, trace: new RecordingTrace() }),
        refusedFor(form),
      );
      await assert.rejects(
        get(new URL(`https://[${ip}]/.well-known/matrix/server`), { timeoutMs: 1000, maxBytes: 65536, trace: new RecordingTrace() }),
        refusedFor(form),
      );
      assert.equal(wellKnownServer.connections(), before, "no connection was made");
    });

    it(`refuses a key fetch from [${ip}] (the ${form} form), connecting nowhere`, async () => {
      const { client, keyRing } = stack();
      const before = keyServer.connections();
      await assert.rejects(client.fetchServerKeys(`[${ip}]:8448` as ServerName), refusedFor(form));
      const r = await keyRing.getKeyForRequest(`${slug(form)}.test:8448` as ServerName, remoteKey.keyId as KeyId);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, refusedFor(form));
      assert.equal(keyServer.connections(), before, "no connection was made");
    });
  }

  it("reaches the same key server through its plain IPv4 address once the range is whitelisted (the server is real)", async () => {
    const ipPolicy = new IpRangePolicy(DEFAULT_IP_RANGE_BLACKLIST, [`${V4}/32`]);
    const https = new HttpsClient(new TlsPolicy({ customCaPems: [ca.caCertPem] }), { connectTimeoutMs: 2000, requestTimeoutMs: 3000 });
    clients.push(https);
    const nodeDns = new NodeDns({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
    const clock = new FakeClock();
    const resolver = new ServerResolver({ dns: nodeDns, wellKnown: new WellKnownResolver(httpsGetVia(nodeDns, ipPolicy, https), clock), clock, ipPolicy });
    const client = new FederationClient({ serverName: "zion.test" as ServerName, signingKey: signingKeyFromSeed("z1", randomBytes(32)), resolver, https });
    const before = keyServer.connections();
    const body = (await client.fetchServerKeys(`${V4}:8448` as ServerName)) as { server_name?: string };
    assert.equal(body.server_name, "unused");
    assert.equal(keyServer.connections(), before + 1);
  });
});

function slug(form: string): string {
  return form.toLowerCase().replace(/[^a-z0-9]+/g, "-");
}
