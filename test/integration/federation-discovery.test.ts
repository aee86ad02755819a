/**
 * Server-name resolution against real parts: dnsmasq on loopback fed records per test, HTTPS servers on distinct
 * 127.0.2.x addresses (one block of 50 per run, see BASE) with certificates from the test CA.
 * Steps are numbered as in https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/core/clock.js";
import {
  DEFAULT_IP_RANGE_BLACKLIST, IpRangePolicy, NodeDns, ServerResolver, WellKnownResolver, httpsGetVia,
  type Resolution, type ResolveOutcome,
} from "../../src/federation/discovery/index.js";
import { HttpsClient } from "../../src/federation/tls/https-client.js";
import { TlsPolicy } from "../../src/federation/tls/policy.js";
import { RecordingTrace } from "../../src/federation/trace.js";
import { startDnsmasq, type DnsRecords, type Dnsmasq } from "../harness/dnsmasq.js";
import { createTestCa, json, serveHttps, type TestCa, type TestHandler, type TestHttpsServer } from "../harness/test-ca.js";

class FakeClock implements Clock {
  constructor(public t = Date.UTC(2026, 0, 1)) {}
  now(): number { return this.t; }
  async sleep(ms: number): Promise<void> { this.t += ms; }
  advance(ms: number): void { this.t += ms; }
}

const MIN = 60_000;
// Each run takes one of five blocks of 127.0.2.x (fixed ports such as 443 are used), so two runs of this file at
// the same time on one machine rarely collide.
const BASE = 50 * Math.floor(Math.random() * 5);
const ip = (n: number) => `127.0.2.${BASE + n}`;
const HOUR = 3600_000;

describe("server name resolution (real DNS and TLS)", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  const servers: TestHttpsServer[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-discovery-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq();
  });
  after(async () => {
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  function setup(opts: { whitelist?: string[]; random?: () => number; hostsFile?: string } = {}) {
    const clock = new FakeClock();
    const ipPolicy = new IpRangePolicy(DEFAULT_IP_RANGE_BLACKLIST, opts.whitelist ?? ["127.0.2.0/24"]);
    const nodeDns = new NodeDns({ servers: [dns.server], timeoutMs: 1000, tries: 1, ...(opts.hostsFile ? { hostsFile: opts.hostsFile } : {}) });
    const https = new HttpsClient(new TlsPolicy({ customCaPems: [ca.caCertPem] }), { connectTimeoutMs: 2000, requestTimeoutMs: 3000 });
    const wellKnown = new WellKnownResolver(httpsGetVia(nodeDns, ipPolicy, https), clock, { timeoutMs: 1500 });
    const resolver = new ServerResolver({ dns: nodeDns, wellKnown, clock, ipPolicy, ...(opts.random ? { random: opts.random } : {}) });
    return { clock, resolver, https, wellKnown };
  }

  async function serve(host: string, port: number, names: { dns?: string[]; ip?: string[] }, handler: TestHandler) {
    const leaf = await ca.issue(names);
    const s = await serveHttps(host, port, leaf, handler);
    servers.push(s);
    return s;
  }

  const wellKnown = (mServer: string, headers: Record<string, string> = {}) => json(200, { "m.server": mServer }, headers);
  const version = json(200, { server: { name: "test", version: "1" } });

  function ok(out: ResolveOutcome): Resolution {
    if (!out.ok) assert.fail(`resolution failed: ${out.reason}`);
    return out.resolution;
  }
  const targets = (r: Resolution) => r.targets.map((t) => `${t.ip}:${t.port}`);

  /**
   * Serves the first target with a certificate for `cert` only, sends one request as Zion does (undici over the
   * checked connector) and returns what arrived: the Host header and the SNI (false for none).
   */
  async function probe(r: Resolution, https: HttpsClient, cert: { dns?: string[]; ip?: string[] }) {
    const t = r.targets[0]!;
    const s = await serve(t.ip, t.port, cert, version);
    const res = await https.request({ targets: r.targets, tlsName: r.tlsName, hostHeader: r.hostHeader, method: "GET", path: "/_matrix/federation/v1/version" });
    await https.close();
    assert.equal(res.status, 200);
    assert.equal(res.address, `${t.ip}:${t.port}`);
    const seen = s.requests[0]!;
    return { host: seen.host, sni: seen.sni };
  }

  async function records(r: DnsRecords) {
    await dns.setRecords(r);
  }

  it("uses an IP literal with its port, Host = server name, certificate for the IP, no SNI (step 1)", async () => {
    await records({});
    const { resolver, https } = setup();
    const r = ok(await resolver.resolve(`${ip(1)}:8450`));
    assert.equal(r.step, "1");
    assert.deepEqual(targets(r), [`${ip(1)}:8450`]);
    assert.equal(r.hostHeader, `${ip(1)}:8450`);
    assert.equal(r.tlsName, ip(1));
    const s = await serve(ip(1), 8450, { ip: [ip(1)] }, version);
    const res = await https.request({ targets: r.targets, tlsName: r.tlsName, hostHeader: r.hostHeader, method: "GET", path: "/_matrix/federation/v1/version" });
    assert.equal(res.status, 200);
    assert.equal(s.requests[0]?.sni, false, "no SNI for an IP literal");
    assert.equal(s.requests[0]?.host, `${ip(1)}:8450`);
    await https.close();
  });

  it("defaults an IP literal to port 8448 (step 1)", async () => {
    const { resolver } = setup();
    const r = ok(await resolver.resolve(ip(2)));
    assert.deepEqual(targets(r), [`${ip(2)}:8448`]);
    assert.equal(r.hostHeader, ip(2));
  });

  it("resolves a hostname with an explicit port by A records, Host = server name, SNI = hostname (step 2)", async () => {
    await records({ a: { "hs2.test": [ip(3)] } });
    const { resolver, https } = setup();
    const r = ok(await resolver.resolve("hs2.test:8451"));
    assert.equal(r.step, "2");
    assert.deepEqual(targets(r), [`${ip(3)}:8451`]);
    assert.equal(r.hostHeader, "hs2.test:8451");
    assert.equal(r.tlsName, "hs2.test");
    const s = await serve(ip(3), 8451, { dns: ["hs2.test"] }, version);
    const res = await https.request({ targets: r.targets, tlsName: r.tlsName, hostHeader: r.hostHeader, method: "GET", path: "/_matrix/federation/v1/version" });
    assert.equal(res.status, 200);
    assert.equal(s.requests[0]?.sni, "hs2.test");
    assert.equal(s.requests[0]?.host, "hs2.test:8451");
    await https.close();
  });

  it("uses a delegated IP literal: Host = the IP and port, certificate for the IP (step 3.1)", async () => {
    await records({ a: { "hs3.test": [ip(4)] } });
    await serve(ip(4), 443, { dns: ["hs3.test"] }, wellKnown(`${ip(5)}:8452`));
    const { resolver, https } = setup();
    const r = ok(await resolver.resolve("hs3.test"));
    assert.equal(r.step, "3.1");
    assert.deepEqual(targets(r), [`${ip(5)}:8452`]);
    assert.equal(r.hostHeader, `${ip(5)}:8452`);
    assert.equal(r.tlsName, ip(5));
    assert.equal(r.delegatedTo, `${ip(5)}:8452`);
    assert.deepEqual(await probe(r, https, { ip: [ip(5)] }), { host: `${ip(5)}:8452`, sni: false });
  });

  it("uses a delegated host and port: Host = delegated:port, certificate for the delegated host (step 3.2)", async () => {
    await records({ a: { "hs4.test": [ip(6)], "fed.hs4.test": [ip(7)] } });
    await serve(ip(6), 443, { dns: ["hs4.test"] }, wellKnown("fed.hs4.test:8453"));
    const { resolver, https } = setup();
    const r = ok(await resolver.resolve("hs4.test"));
    assert.equal(r.step, "3.2");
    assert.deepEqual(targets(r), [`${ip(7)}:8453`]);
    assert.equal(r.hostHeader, "fed.hs4.test:8453");
    assert.equal(r.tlsName, "fed.hs4.test");
    assert.deepEqual(await probe(r, https, { dns: ["fed.hs4.test"] }), { host: "fed.hs4.test:8453", sni: "fed.hs4.test" });
  });

  it("looks up _matrix-fed._tcp of the delegated host; Host and certificate stay the delegated host (step 3.3)", async () => {
    await records({
      a: { "hs5.test": [ip(8)], "t.hs5.test": [ip(9)] },
      srv: [{ name: "_matrix-fed._tcp.fed.hs5.test", target: "t.hs5.test", port: 8454 }],
    });
    await serve(ip(8), 443, { dns: ["hs5.test"] }, wellKnown("fed.hs5.test"));
    const { resolver, https } = setup();
    const r = ok(await resolver.resolve("hs5.test"));
    assert.equal(r.step, "3.3");
    assert.deepEqual(targets(r), [`${ip(9)}:8454`]);
    assert.equal(r.hostHeader, "fed.hs5.test");
    assert.equal(r.tlsName, "fed.hs5.test");
    assert.equal(r.srvName, "_matrix-fed._tcp.fed.hs5.test");
    assert.deepEqual(await probe(r, https, { dns: ["fed.hs5.test"] }), { host: "fed.hs5.test", sni: "fed.hs5.test" }, "not the SRV target t.hs5.test");
  });

  it("falls back to the deprecated _matrix._tcp of the delegated host only when _matrix-fed is not found (step 3.4)", async () => {
    await records({
      a: { "hs6.test": [ip(10)], "t.hs6.test": [ip(11)] },
      srv: [{ name: "_matrix._tcp.fed.hs6.test", target: "t.hs6.test", port: 8455 }],
    });
    await serve(ip(10), 443, { dns: ["hs6.test"] }, wellKnown("fed.hs6.test"));
    const { resolver, https } = setup();
    const trace = new RecordingTrace();
    const r = ok(await resolver.resolve("hs6.test", { trace }));
    assert.equal(r.step, "3.4");
    assert.deepEqual(targets(r), [`${ip(11)}:8455`]);
    assert.equal(r.hostHeader, "fed.hs6.test");
    assert.equal(r.tlsName, "fed.hs6.test");
    assert.deepEqual(await probe(r, https, { dns: ["fed.hs6.test"] }), { host: "fed.hs6.test", sni: "fed.hs6.test" });
    assert.ok(trace.steps.some((s) => s.check === "srv.matrix" && s.warn === true), "the deprecated record is flagged");
  });

  it("uses the delegated host's A record and port 8448 when it has no SRV (step 3.5)", async () => {
    await records({ a: { "hs7.test": [ip(12)], "fed.hs7.test": [ip(13)] } });
    await serve(ip(12), 443, { dns: ["hs7.test"] }, wellKnown("fed.hs7.test"));
    const { resolver, https } = setup();
    const r = ok(await resolver.resolve("hs7.test"));
    assert.equal(r.step, "3.5");
    assert.deepEqual(targets(r), [`${ip(13)}:8448`]);
    assert.equal(r.hostHeader, "fed.hs7.test");
    assert.equal(r.tlsName, "fed.hs7.test");
    assert.deepEqual(await probe(r, https, { dns: ["fed.hs7.test"] }), { host: "fed.hs7.test", sni: "fed.hs7.test" });
  });

  it("uses _matrix-fed._tcp of the server name when .well-known answers 404; Host = server name (step 4)", async () => {
    await records({
      a: { "hs8.test": [ip(14)], "t.hs8.test": [ip(15)] },
      srv: [
        { name: "_matrix-fed._tcp.hs8.test", target: "t.hs8.test", port: 8456 },
        { name: "_matrix._tcp.hs8.test", target: "t.hs8.test", port: 9999 },
      ],
    });
    await serve(ip(14), 443, { dns: ["hs8.test"] }, json(404, { errcode: "M_NOT_FOUND" }));
    const { resolver, https } = setup();
    const r = ok(await resolver.resolve("hs8.test"));
    assert.equal(r.step, "4");
    assert.deepEqual(targets(r), [`${ip(15)}:8456`], "the deprecated record is not used when _matrix-fed exists");
    assert.equal(r.hostHeader, "hs8.test");
    assert.equal(r.tlsName, "hs8.test");
    assert.deepEqual(await probe(r, https, { dns: ["hs8.test"] }), { host: "hs8.test", sni: "hs8.test" }, "not the SRV target t.hs8.test");
  });

  it("uses the deprecated _matrix._tcp of the server name when there is no _matrix-fed record (step 5)", async () => {
    await records({
      a: { "t.hs9.test": [ip(16)] },
      srv: [{ name: "_matrix._tcp.hs9.test", target: "t.hs9.test", port: 8457 }],
    });
    const { resolver, https } = setup();
    const r = ok(await resolver.resolve("hs9.test"));
    assert.equal(r.step, "5");
    assert.deepEqual(targets(r), [`${ip(16)}:8457`]);
    assert.equal(r.hostHeader, "hs9.test");
    assert.equal(r.tlsName, "hs9.test");
    assert.deepEqual(await probe(r, https, { dns: ["hs9.test"] }), { host: "hs9.test", sni: "hs9.test" });
  });

  it("uses A records and port 8448 last (step 6)", async () => {
    await records({ a: { "hs10.test": [ip(17), ip(18)] } });
    const { resolver, https } = setup();
    const trace = new RecordingTrace();
    const r = ok(await resolver.resolve("hs10.test", { trace }));
    assert.equal(r.step, "6");
    assert.deepEqual(targets(r).sort(), [`${ip(17)}:8448`, `${ip(18)}:8448`]);
    assert.equal(r.hostHeader, "hs10.test");
    assert.equal(r.tlsName, "hs10.test");
    assert.deepEqual(await probe(r, https, { dns: ["hs10.test"] }), { host: "hs10.test", sni: "hs10.test" });
    const checks = trace.steps.map((s) => s.check);
    for (const c of ["name.valid", "well-known.fetch", "srv.matrix-fed", "srv.matrix", "dns.host", "resolution.target"]) {
      assert.ok(checks.includes(c), `trace has ${c}: ${checks.join(", ")}`);
    }
  });

  it("finds a server name listed only in the hosts file, as the system resolver does; SRV is still asked of DNS (step 6)", async () => {
    // dnsmasq knows nothing of hosts-only.test (NXDOMAIN for SRV, A and AAAA); the hosts file names it.
    await records({});
    const hostsFile = join(dir, "hosts");
    await writeFile(hostsFile, `# as in /etc/hosts\n${ip(48)}\thosts-only.test\n`);
    const { resolver, https } = setup({ hostsFile });
    const trace = new RecordingTrace();
    const r = ok(await resolver.resolve("hosts-only.test", { trace }));
    assert.equal(r.step, "6");
    assert.deepEqual(targets(r), [`${ip(48)}:8448`]);
    const srv = trace.steps.filter((s) => s.check === "srv.matrix-fed" || s.check === "srv.matrix");
    // dnsmasq's NXDOMAIN: the SRV lookups went to DNS, not to the hosts file.
    assert.deepEqual(srv.map((s) => s.detail), ["no SRV record _matrix-fed._tcp.hosts-only.test (ENOTFOUND)", "no SRV record _matrix._tcp.hosts-only.test (ENOTFOUND)"]);
    assert.deepEqual(await probe(r, https, { dns: ["hosts-only.test"] }), { host: "hosts-only.test", sni: "hosts-only.test" });
  });

  it("stops when the _matrix-fed SRV lookup errs instead of falling through to _matrix._tcp (step 4)", async () => {
    await records({
      a: { "t.broken.test": [ip(19)], "x.broken.test": [ip(19)] },
      srv: [{ name: "_matrix._tcp.x.broken.test", target: "t.broken.test", port: 8458 }],
      refused: ["_matrix-fed._tcp.x.broken.test"],
    });
    const { resolver } = setup();
    const out = await resolver.resolve("x.broken.test");
    assert.equal(out.ok, false);
    if (!out.ok) {
      assert.equal(out.step, "4");
      assert.match(out.reason, /EREFUSED/);
    }
  });

  it("orders SRV targets by priority, then weight, and lists every address for fallback (RFC 2782)", async () => {
    await records({
      a: { "a.hs11.test": [ip(20)], "b.hs11.test": [ip(21)], "c.hs11.test": [ip(22), ip(23)] },
      srv: [
        { name: "_matrix-fed._tcp.hs11.test", target: "c.hs11.test", port: 3, priority: 20, weight: 0 },
        { name: "_matrix-fed._tcp.hs11.test", target: "a.hs11.test", port: 1, priority: 10, weight: 1 },
        { name: "_matrix-fed._tcp.hs11.test", target: "b.hs11.test", port: 2, priority: 10, weight: 99 },
      ],
    });
    // random() = 0.5 picks by running weight sum: of {a:1, b:99} the pick 50 lands on b first.
    const { resolver } = setup({ random: () => 0.5 });
    const r = ok(await resolver.resolve("hs11.test"));
    const got = targets(r);
    assert.deepEqual(got.slice(0, 2), [`${ip(21)}:2`, `${ip(20)}:1`]);
    assert.deepEqual(got.slice(2).sort(), [`${ip(22)}:3`, `${ip(23)}:3`]);
    // With random() = 0 the zero-weight-first rule does not apply (both weights > 0): a (weight 1) wins the pick 0.
    const r2 = ok(await setup({ random: () => 0 }).resolver.resolve("hs11.test"));
    assert.deepEqual(targets(r2).slice(0, 2), [`${ip(20)}:1`, `${ip(21)}:2`]);
  });

  it("falls back across addresses when the first one does not answer", async () => {
    await records({
      a: { "a.hs12.test": [ip(24)], "b.hs12.test": [ip(25)] },
      srv: [
        { name: "_matrix-fed._tcp.hs12.test", target: "a.hs12.test", port: 8459, priority: 1 },
        { name: "_matrix-fed._tcp.hs12.test", target: "b.hs12.test", port: 8459, priority: 2 },
      ],
    });
    const s = await serve(ip(25), 8459, { dns: ["hs12.test"] }, version);
    const { resolver, https } = setup();
    const r = ok(await resolver.resolve("hs12.test"));
    assert.deepEqual(targets(r), [`${ip(24)}:8459`, `${ip(25)}:8459`]);
    const res = await https.request({ targets: r.targets, tlsName: r.tlsName, hostHeader: r.hostHeader, method: "GET", path: "/_matrix/federation/v1/version" });
    assert.equal(res.address, `${ip(25)}:8459`);
    assert.equal(s.requests[0]?.host, "hs12.test");
    assert.equal(s.requests[0]?.sni, "hs12.test");
    await https.close();
  });

  it("refuses an SRV target that is a CNAME", async () => {
    await records({
      a: { "real.hs13.test": [ip(26)], "ok.hs13.test": [ip(27)] },
      cname: { "alias.hs13.test": "real.hs13.test" },
      srv: [
        { name: "_matrix-fed._tcp.hs13.test", target: "alias.hs13.test", port: 8460, priority: 1 },
        { name: "_matrix-fed._tcp.hs13.test", target: "ok.hs13.test", port: 8461, priority: 2 },
      ],
    });
    const { resolver } = setup();
    const trace = new RecordingTrace();
    const r = ok(await resolver.resolve("hs13.test", { trace }));
    assert.deepEqual(targets(r), [`${ip(27)}:8461`]);
    const refused = trace.steps.find((s) => s.check === "srv.cname");
    assert.ok(refused && !refused.ok, "the CNAME refusal is traced");
    assert.match(refused.fix ?? "", /real\.hs13\.test/);
  });

  it("refuses addresses in ip_range_blacklist after every DNS answer, SRV and well-known included", async () => {
    await records({
      a: { "hs14.test": [ip(28)], "internal.hs14.test": ["127.0.3.200", "10.1.2.3"], "mixed.hs15.test": ["127.0.3.201", ip(29)] },
      srv: [{ name: "_matrix-fed._tcp.mixed.hs15.test", target: "mixed.hs15.test", port: 8462 }],
    });
    await serve(ip(28), 443, { dns: ["hs14.test"] }, wellKnown("internal.hs14.test:8448"));
    const { resolver } = setup();
    const trace = new RecordingTrace();
    const out = await resolver.resolve("hs14.test", { trace });
    assert.equal(out.ok, false);
    if (!out.ok) assert.match(out.reason, /every address of internal\.hs14\.test is refused/);
    assert.equal(trace.steps.filter((s) => s.check === "policy.ip-ranges" && !s.ok).length, 2);
    const r = ok(await resolver.resolve("mixed.hs15.test"));
    assert.deepEqual(targets(r), [`${ip(29)}:8462`], "only the allowed address remains");
    const lit = await resolver.resolve("127.0.3.202");
    assert.equal(lit.ok, false, "an IP-literal server name is checked too");
  });

  it("checks the .well-known host's own addresses against the IP ranges before connecting", async () => {
    await records({ a: { "hs26.test": [ip(43)] } });
    const s = await serve(ip(43), 443, { dns: ["hs26.test"] }, wellKnown(`${ip(44)}:8448`));
    const { resolver } = setup({ whitelist: [`${ip(44)}/32`] });
    const trace = new RecordingTrace();
    const out = await resolver.resolve("hs26.test", { trace });
    assert.equal(out.ok, false, "steps 4-6 refuse the same address");
    assert.equal(s.connections(), 0, "nothing connected to the refused address");
    assert.ok(trace.steps.some((x) => x.check === "policy.ip-ranges" && !x.ok && x.address === `${ip(43)}:443`), "the well-known fetch was refused by policy");
  });

  it("tries AAAA addresses first and falls back to the A addresses when they do not answer", async () => {
    await records({ a: { "hs27.test": [ip(45)] }, aaaa: { "hs27.test": ["::1"] } });
    const { resolver, https } = setup({ whitelist: ["127.0.2.0/24", "::1/128"] });
    const r = ok(await resolver.resolve("hs27.test:8465"));
    assert.deepEqual(targets(r), ["::1:8465", `${ip(45)}:8465`]);
    const s = await serve(ip(45), 8465, { dns: ["hs27.test"] }, version);
    const res = await https.request({ targets: r.targets, tlsName: r.tlsName, hostHeader: r.hostHeader, method: "GET", path: "/_matrix/federation/v1/version" });
    await https.close();
    assert.equal(res.address, `${ip(45)}:8465`);
    assert.equal(s.requests[0]?.host, "hs27.test:8465");
  });

  it("reads m.server after following redirects (step 3)", async () => {
    await records({ a: { "hs16.test": [ip(30)], "other.hs16.test": [ip(31)], "fed.hs16.test": [ip(32)] } });
    await serve(ip(30), 443, { dns: ["hs16.test"] }, (_q, res) => { res.writeHead(301, { location: "https://other.hs16.test/.well-known/matrix/server" }); res.end(); });
    await serve(ip(31), 443, { dns: ["other.hs16.test"] }, wellKnown("fed.hs16.test:8463"));
    const { resolver } = setup();
    const trace = new RecordingTrace();
    const r = ok(await resolver.resolve("hs16.test", { trace }));
    assert.equal(r.step, "3.2");
    assert.deepEqual(targets(r), [`${ip(32)}:8463`]);
    assert.ok(trace.steps.some((s) => s.check === "well-known.redirects" && s.ok));
  });

  it("gives up on redirect loops and on too many hops, then continues with step 4", async () => {
    await records({ a: { "hs17.test": [ip(33)], "hs18.test": [ip(34)] } });
    await serve(ip(33), 443, { dns: ["hs17.test"] }, (_q, res) => { res.writeHead(302, { location: "/.well-known/matrix/server" }); res.end(); });
    let n = 0;
    await serve(ip(34), 443, { dns: ["hs18.test"] }, (_q, res) => { res.writeHead(302, { location: `/hop/${++n}` }); res.end(); });
    const { resolver } = setup();
    const t1 = new RecordingTrace();
    const r1 = ok(await resolver.resolve("hs17.test", { trace: t1 }));
    assert.equal(r1.step, "6");
    assert.ok(t1.steps.some((s) => s.check === "well-known.redirects" && !s.ok && /loop/.test(s.detail ?? "")));
    const t2 = new RecordingTrace();
    ok(await resolver.resolve("hs18.test", { trace: t2 }));
    assert.ok(t2.steps.some((s) => s.check === "well-known.redirects" && !s.ok && /more than 5 redirects/.test(s.detail ?? "")));
    assert.equal(n, 6, "one first request and five followed hops");
  });

  it("refuses a well-known body over the size limit and one that never arrives", async () => {
    await records({ a: { "hs19.test": [ip(35)], "hs20.test": [ip(36)] } });
    await serve(ip(35), 443, { dns: ["hs19.test"] }, json(200, JSON.stringify({ "m.server": "x.test", pad: "x".repeat(60 * 1024) })));
    await serve(ip(36), 443, { dns: ["hs20.test"] }, () => { /* never answers */ });
    const { resolver } = setup();
    const t1 = new RecordingTrace();
    assert.equal(ok(await resolver.resolve("hs19.test", { trace: t1 })).step, "6");
    assert.ok(t1.steps.some((s) => s.check === "well-known.fetch" && !s.ok && /limit/.test(s.detail ?? "")), "size limit traced");
    const t2 = new RecordingTrace();
    assert.equal(ok(await resolver.resolve("hs20.test", { trace: t2 })).step, "6");
    assert.ok(t2.steps.some((s) => s.check === "well-known.fetch" && !s.ok && /within/.test(s.detail ?? "")), "timeout traced");
  });

  it("explains a client well-known pasted where the server one belongs", async () => {
    await records({ a: { "hs21.test": [ip(37)] } });
    await serve(ip(37), 443, { dns: ["hs21.test"] }, json(200, { "m.homeserver": { base_url: "https://hs21.test" } }));
    const { resolver } = setup();
    const trace = new RecordingTrace();
    await resolver.resolve("hs21.test", { trace });
    const step = trace.steps.find((s) => s.check === "well-known.client-pasted");
    assert.ok(step && !step.ok && step.fix, "pasted client well-known is named with a fix");
  });

  it("caches well-known by Cache-Control, then Expires, defaults to 24 h, caps at 48 h, and answers from cache", async () => {
    await records({ a: { "hs22.test": [ip(38)], "hs23.test": [ip(39)], "hs24.test": [ip(40)], "hs28.test": [ip(46)], "fed.test": [ip(41)] } });
    const s22 = await serve(ip(38), 443, { dns: ["hs22.test"] }, wellKnown("fed.test:1", { "cache-control": "max-age=3600" }));
    const s23 = await serve(ip(39), 443, { dns: ["hs23.test"] }, wellKnown("fed.test:2"));
    const s24 = await serve(ip(40), 443, { dns: ["hs24.test"] }, wellKnown("fed.test:3", { "cache-control": "public, max-age=31536000" }));
    const { resolver, clock } = setup();
    // Expires two hours after the fake clock's start.
    const s28 = await serve(ip(46), 443, { dns: ["hs28.test"] }, wellKnown("fed.test:4", { expires: new Date(clock.now() + 2 * HOUR).toUTCString() }));
    const names = ["hs22.test", "hs23.test", "hs24.test", "hs28.test"];
    for (const n of names) ok(await resolver.resolve(n, {}));
    const again = await resolver.resolve("hs22.test");
    assert.ok(again.ok && again.fromCache, "second resolution answered from cache");
    const hits = () => [s22, s23, s24, s28].map((s) => s.requests.length);
    assert.deepEqual(hits(), [1, 1, 1, 1]);
    clock.advance(HOUR + MIN);
    for (const n of names) ok(await resolver.resolve(n));
    assert.deepEqual(hits(), [2, 1, 1, 1], "max-age=3600 expired; Expires (2 h), the 24 h default and the 48 h cap did not");
    clock.advance(HOUR);
    for (const n of names) ok(await resolver.resolve(n));
    assert.deepEqual(hits(), [3, 1, 1, 2], "Expires passed (and max-age=3600 again)");
    clock.advance(22 * HOUR);
    for (const n of ["hs22.test", "hs23.test", "hs24.test"]) ok(await resolver.resolve(n));
    assert.deepEqual(hits().slice(0, 3), [4, 2, 1], "24 h default expired");
    clock.advance(24 * HOUR);
    for (const n of ["hs23.test", "hs24.test"]) ok(await resolver.resolve(n));
    assert.deepEqual(hits().slice(1, 3), [3, 2], "a year of max-age is capped at 48 h");
  });

  it("caches well-known errors with exponential back-off up to an hour", async () => {
    await records({ a: { "hs25.test": [ip(42)] } });
    const s = await serve(ip(42), 443, { dns: ["hs25.test"] }, json(500, { errcode: "M_UNKNOWN" }));
    const { resolver, clock } = setup();
    const backoffs: number[] = [];
    ok(await resolver.resolve("hs25.test"));
    assert.equal(s.requests.length, 1);
    for (let i = 0; i < 7; i++) {
      // The smallest whole-minute wait after which resolving fetches .well-known again.
      let waited = 0;
      for (;;) {
        clock.advance(MIN);
        waited += 1;
        const n = s.requests.length;
        ok(await resolver.resolve("hs25.test"));
        if (s.requests.length > n) break;
        if (waited > 120) assert.fail("no retry within two hours");
      }
      backoffs.push(waited);
    }
    assert.deepEqual(backoffs, [2, 4, 8, 16, 32, 60, 60]);
  });
});
