/**
 * The federation tester against one real misconfiguration each: real DNS (dnsmasq), real TLS with the test CA,
 * small https servers playing the misconfigured peers on 127.0.6.x. Each scenario asserts the verdict, the check
 * that names the mistake, and that a fix sentence comes with it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { runFederationTest } from "../../src/tester/federation-test.js";
import { standaloneEnv } from "../../src/tester/env.js";
import type { Check, Report } from "../../src/tester/report.js";
import { toJsonReport } from "../../src/tester/render-json.js";
import { renderHuman } from "../../src/tester/render-human.js";
import { WELL_KNOWN_MIN_CACHE_MS } from "../../src/federation/discovery/well-known.js";
import { serveFederation, serveWellKnown, type Running, lockAddresses } from "./tester-remotes.js";

const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

function find(report: Report, id: string, status?: Check["status"]): Check {
  const c = report.checks.find((x) => x.id === id && (status === undefined || x.status === status));
  assert.ok(c, `no ${id}${status ? ` (${status})` : ""} check in:\n${report.checks.map((x) => `${x.status} ${x.id}: ${x.detail}`).join("\n")}`);
  return c;
}

function assertFix(c: Check): void {
  assert.ok(c.fix && c.fix.length > 20 && /[.!]$/.test(c.fix.trim()), `check ${c.id} has no fix sentence: ${JSON.stringify(c.fix)}`);
}

describe("federation tester scenarios", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  const running: Running[] = [];
  let env: ReturnType<typeof standaloneEnv>;

  // Every report of this file, for the checks that hold across scenarios.
  const reports: Report[] = [];
  const run = async (name: string, e: ReturnType<typeof standaloneEnv> = env): Promise<Report> => {
    const r = await runFederationTest(name, e);
    reports.push(r);
    return r;
  };

  let unlock: (() => void) | undefined;
  before(async () => {
    unlock = await lockAddresses("scenarios");
    dir = await mkdtemp(join(tmpdir(), "zion-tester-scen-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq({
      a: {
        "nothing.test": ["127.0.6.1"],
        "ctype.test": ["127.0.6.2"],
        "pasted.test": ["127.0.6.3"],
        "real.cname.test": ["127.0.6.4"],
        "cname.test": ["127.0.6.4"],
        "wrongname.test": ["127.0.6.5"],
        "wild.test": ["127.0.6.6"],
        "expired.test": ["127.0.6.7"],
        "chain.test": ["127.0.6.8"],
        "twoa.test": ["127.0.6.9", "127.0.6.10"],
        "keyname.test": ["127.0.6.11"],
        "badsig.test": ["127.0.6.12"],
        "good.test": ["127.0.6.13"],
        "ignored.test": ["127.0.6.14"],
        "legacy.test": ["127.0.6.15"],
        "wkmulti.test": ["127.0.6.16", "127.0.6.17"],
        "port.test": ["127.0.6.18"],
        "redirect.test": ["127.0.6.19"],
        "client.test": ["127.0.6.50"],
        "noversion.test": ["127.0.6.51"],
        "badjson.test": ["127.0.6.52"],
      },
      srv: [
        { name: "_matrix-fed._tcp.cname.test", target: "alias.cname.test", port: 8448 },
        // ignored.test delegates with .well-known, so its own SRV record is never consulted.
        { name: "_matrix-fed._tcp.ignored.test", target: "old.ignored.test", port: 8448 },
        // legacy.test only has the deprecated record.
        { name: "_matrix._tcp.legacy.test", target: "legacy.test", port: 8448 },
        { name: "_matrix-fed._tcp.port.test", target: "port.test", port: 8448 },
      ],
      cname: { "alias.cname.test": "real.cname.test" },
    }, { address: "127.0.6.250" });
    env = standaloneEnv(clock, { dnsServers: [dns.server], caPems: [ca.caCertPem], timeoutMs: 5000 });

    const leaf = (dns: string[], opts: Parameters<TestCa["issue"]>[0] = {}) => ca.issue({ dns, ...opts });
    // ctype.test: .well-known served as text/plain, federation fine on 8448.
    const ctype = await leaf(["ctype.test"]);
    running.push(await serveWellKnown("127.0.6.2", { tls: ctype, contentType: "text/plain", serverBody: '{"m.server": "ctype.test:8448"}' }));
    running.push(await serveFederation("127.0.6.2", { tls: ctype, keysServerName: "ctype.test" }));
    // pasted.test: the client well-known in the server file; nothing on 8448.
    const pasted = await leaf(["pasted.test"]);
    running.push(await serveWellKnown("127.0.6.3", { tls: pasted, serverBody: '{"m.homeserver": {"base_url": "https://pasted.test"}}' }));
    // cname.test: SRV target is an alias; the real host serves federation.
    const cname = await leaf(["cname.test", "real.cname.test", "alias.cname.test"]);
    running.push(await serveFederation("127.0.6.4", { tls: cname, keysServerName: "cname.test" }));
    // wrongname.test: certificate for another name.
    running.push(await serveFederation("127.0.6.5", { tls: await leaf(["other.test"]), keysServerName: "wrongname.test" }));
    // wild.test: a wildcard certificate that does not cover the bare name.
    running.push(await serveFederation("127.0.6.6", { tls: await leaf(["*.wild.test"]), keysServerName: "wild.test" }));
    // expired.test
    running.push(await serveFederation("127.0.6.7", { tls: await leaf(["expired.test"], { expired: true }), keysServerName: "expired.test" }));
    // chain.test: issued by the intermediate, served without it.
    const chain = await leaf(["chain.test"], { viaIntermediate: true });
    running.push(await serveFederation("127.0.6.8", { tls: { certPem: chain.certPem, keyPem: chain.keyPem }, keysServerName: "chain.test" }));
    // twoa.test: two A records, only the first serves.
    running.push(await serveFederation("127.0.6.9", { tls: await leaf(["twoa.test"]), keysServerName: "twoa.test" }));
    // keyname.test: the keys say another server's name.
    running.push(await serveFederation("127.0.6.11", { tls: await leaf(["keyname.test"]), keysServerName: "someone-else.test" }));
    // badsig.test: the self-signature does not verify.
    running.push(await serveFederation("127.0.6.12", { tls: await leaf(["badsig.test"]), keysServerName: "badsig.test", tamperSignature: true }));
    // good.test: everything right, with the client well-known too.
    const good = await leaf(["good.test"]);
    running.push(await serveWellKnown("127.0.6.13", { tls: good, serverBody: '{"m.server": "good.test:8448"}', clientBody: '{"m.homeserver": {"base_url": "https://good.test:8448"}}', clientCors: true }));
    running.push(await serveFederation("127.0.6.13", { tls: good, keysServerName: "good.test", seed: randomBytes(32) }));
    const ignored = await leaf(["ignored.test"]);
    running.push(await serveWellKnown("127.0.6.14", { tls: ignored, serverBody: '{"m.server": "ignored.test:8448"}' }));
    running.push(await serveFederation("127.0.6.14", { tls: ignored, keysServerName: "ignored.test" }));
    running.push(await serveFederation("127.0.6.15", { tls: await leaf(["legacy.test"]), keysServerName: "legacy.test" }));
    // port.test:8449: an explicit port, so no .well-known and no SRV; an SRV record exists and is ignored.
    running.push(await serveFederation("127.0.6.18", { tls: await leaf(["port.test"]), keysServerName: "port.test:8449", port: 8449 }));
    // redirect.test: the .well-known answers with a redirect to the real file.
    const redirect = await leaf(["redirect.test"]);
    running.push(await serveWellKnown("127.0.6.19", { tls: redirect, redirectTo: "/matrix/server.json", serverBody: '{"m.server": "redirect.test:8448"}' }));
    running.push(await serveFederation("127.0.6.19", { tls: redirect, keysServerName: "redirect.test" }));
    // client.test: federation fine, but .well-known cached for a minute, the client file without CORS, and base_url
    // pointing at a host that does not route /_matrix/client/versions.
    const client = await leaf(["client.test"]);
    running.push(await serveWellKnown("127.0.6.50", {
      tls: client, serverBody: '{"m.server": "client.test:8448"}', serverHeaders: { "cache-control": "max-age=60" },
      clientBody: '{"m.homeserver": {"base_url": "https://client.test"}}', clientCors: false,
    }));
    running.push(await serveFederation("127.0.6.50", { tls: client, keysServerName: "client.test" }));
    // noversion.test: keys served, but /_matrix/federation/v1/version is not routed to the homeserver.
    running.push(await serveFederation("127.0.6.51", { tls: await leaf(["noversion.test"]), keysServerName: "noversion.test", versionStatus: 404 }));
    // badjson.test: a .well-known that is not JSON, while port 8448 of the name happens to serve federation.
    const badjson = await leaf(["badjson.test"]);
    running.push(await serveWellKnown("127.0.6.52", { tls: badjson, serverBody: '{"m.server": "badjson.test:8448",}' }));
    running.push(await serveFederation("127.0.6.52", { tls: badjson, keysServerName: "badjson.test" }));
    // wkmulti.test: two machines behind the name; only the first serves the delegation.
    const multi = await leaf(["wkmulti.test"]);
    const multiSeed = randomBytes(32);
    running.push(await serveWellKnown("127.0.6.16", { tls: multi, serverBody: '{"m.server": "wkmulti.test:8448"}' }));
    running.push(await serveWellKnown("127.0.6.17", { tls: multi }));
    running.push(await serveFederation("127.0.6.16", { tls: multi, keysServerName: "wkmulti.test", seed: multiSeed }));
    running.push(await serveFederation("127.0.6.17", { tls: multi, keysServerName: "wkmulti.test", seed: multiSeed }));
  });

  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
    unlock?.();
  });

  it("passes a correctly configured server, with the matrix-federation-tester fields filled", async () => {
    const r = await run("good.test", env);
    assert.equal(r.federationOK, true, r.checks.filter((c) => c.status === "fail").map((c) => c.detail).join("\n"));
    const j = toJsonReport(r);
    assert.equal(j.WellKnownResult["m.server"], "good.test:8448");
    assert.deepEqual(j.DNSResult.Addrs, ["127.0.6.13:8448"]);
    assert.equal(j.ConnectionReports["127.0.6.13:8448"]?.Checks.AllChecksOK, true);
    assert.equal(j.Version.name, "fake-remote");
    assert.equal(find(r, "client.cors").status, "ok");
    assert.match(find(r, "client.versions", "ok").detail, /latest v1\.12/);
    assert.deepEqual(r.checks.filter((c) => c.status !== "ok").map((c) => `${c.id}: ${c.detail}`), []);
  });

  it("fails a server with no .well-known, no SRV and nothing on 8448, and says to listen on 8448 or delegate", async () => {
    const r = await run("nothing.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "conn.tcp", "fail");
    assert.equal(c.address, "127.0.6.1:8448");
    assertFix(c);
    assert.match(c.fix!, /8448/);
    assert.match(c.fix!, /well-known/);
  });

  it("warns about a .well-known served with the wrong Content-Type, which still federates", async () => {
    const r = await run("ctype.test", env);
    assert.equal(r.federationOK, true);
    const c = find(r, "well-known.content-type", "warn");
    assert.match(c.detail, /text\/plain/);
    assertFix(c);
    assert.match(c.fix!, /application\/json/);
  });

  it("names the client well-known pasted into the server file", async () => {
    const r = await run("pasted.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "well-known.client-pasted", "fail");
    assertFix(c);
    assert.match(c.fix!, /\/\.well-known\/matrix\/client/);
  });

  it("fails an SRV record whose target is a CNAME", async () => {
    const r = await run("cname.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "srv.cname", "fail");
    assert.match(c.detail, /alias\.cname\.test/);
    assertFix(c);
    assert.match(c.fix!, /real\.cname\.test/);
  });

  it("fails a certificate for the wrong name", async () => {
    const r = await run("wrongname.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "tls.name", "fail");
    assert.match(c.detail, /other\.test/);
    assertFix(c);
    // As in matrix-federation-tester: the address answered over TLS, so it has a ConnectionReport saying the
    // certificate is not valid (and why), with its keys read all the same; it is not a connection error.
    const j = toJsonReport(r);
    assert.equal(j.ConnectionErrors["127.0.6.5:8448"], undefined);
    const conn = j.ConnectionReports["127.0.6.5:8448"];
    assert.ok(conn, JSON.stringify(j.ConnectionErrors));
    assert.equal(conn.Checks.ValidCertificates, false);
    assert.equal(conn.Checks.AllChecksOK, false);
    assert.equal(conn.Checks.MatchingServerName, true);
    assert.deepEqual(conn.Certificates[0]?.DNSNames, ["other.test"]);
    assert.ok(conn.Errors.some((e) => /other\.test/.test(e.Message)), JSON.stringify(conn.Errors));
  });

  it("says the checks after a refused certificate were not run because of it, and still shows the keys", async () => {
    const r = await run("wrongname.test");
    const cert = find(r, "tls.name", "fail");
    // One root cause, one failure: the version request is not blamed on routing.
    assert.deepEqual(r.checks.filter((c) => c.status === "fail").map((c) => c.id), ["tls.name"]);
    const version = find(r, "version", "skip");
    assert.equal(version.cause, cert.title);
    assert.match(version.detail, /^not run because of "Certificate is valid for the expected name \(127\.0\.6\.5:8448\)"/);
    assert.equal(version.fix, undefined);
    assert.doesNotMatch(JSON.stringify(r.checks), /Route \/_matrix\/federation\/v1/);
    assert.equal(find(r, "keys.fetch", "skip").cause, cert.title);
    // The key checks stay in the report (not only in the JSON's ConnectionReports), saying how the keys were read.
    for (const id of ["keys.server-name", "keys.valid-until", "keys.signature"]) {
      const k = find(r, id, "ok");
      assert.equal(k.address, "127.0.6.5:8448");
      assert.match(k.detail, /read over the refused certificate/);
    }
    assert.match(renderHuman(r, { colour: false }), /\n– GET \/_matrix\/federation\/v1\/version: not run because of/);
    assert.match(renderHuman(r, { colour: false }), /\n✓ Keys are self-signed correctly \(127\.0\.6\.5:8448\)/);
    // With -c, the signed request from us is not sent either, and says why.
    let sent = 0;
    const withUs = await run("wrongname.test", { ...env, identity: { serverName: "us.test", reachBack: async () => { sent++; return { ok: true, detail: "verified" }; } } });
    assert.equal(find(withUs, "reach-back", "skip").cause, cert.title);
    assert.equal(sent, 0);
  });

  it("shows each refused certificate as the one failure it is, whatever the reason", async () => {
    for (const [name, id] of [["expired.test", "tls.expiry"], ["chain.test", "tls.chain"], ["wild.test", "tls.name"]] as const) {
      const r = await run(name);
      assert.deepEqual(r.checks.filter((c) => c.status === "fail").map((c) => c.id), [id], name);
      assert.equal(find(r, "version", "skip").cause, find(r, id, "fail").title, name);
    }
  });

  it("shows a name without any address as one failure, the checks that need an address not run because of it", async () => {
    const r = await run("nodns.test");
    assert.deepEqual(r.checks.filter((c) => c.status === "fail").map((c) => c.id), ["dns.host"]);
    const dnsFail = find(r, "dns.host", "fail");
    for (const id of ["well-known.fetch", "resolution.target", "client.well-known"]) assert.equal(find(r, id, "skip").cause, dnsFail.title);
    assert.match(renderHuman(r, { colour: false }), /Federation NOT OK: 1 failure, 3 checks not run\n$/);
  });

  it("explains a wildcard certificate that does not cover the bare server name", async () => {
    const r = await run("wild.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "tls.name", "fail");
    assertFix(c);
    assert.match(c.fix!, /wildcard \*\.wild\.test covers exactly one label/);
    find(r, "tls.wildcard", "warn");
  });

  it("fails an expired certificate", async () => {
    const r = await run("expired.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "tls.expiry", "fail");
    assert.match(c.detail, /expired/);
    assertFix(c);
    assert.match(c.fix!, /[Rr]enew/);
    assert.equal(toJsonReport(r).ConnectionReports["127.0.6.7:8448"]?.Checks.ValidCertificates, false);
  });

  it("names the missing intermediate certificate", async () => {
    const r = await run("chain.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "tls.chain", "fail");
    assert.match(c.detail, /intermediate certificate is missing/);
    assertFix(c);
    assert.match(c.fix!, /full chain/);
    const conn = toJsonReport(r).ConnectionReports["127.0.6.8:8448"];
    assert.equal(conn?.Checks.ValidCertificates, false);
    assert.equal(conn?.Certificates.length, 1, "only the leaf was served");
  });

  it("tests every address and fails the dead one of two A records", async () => {
    const r = await run("twoa.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "conn.tcp", "fail");
    assert.equal(c.address, "127.0.6.10:8448");
    assertFix(c);
    assert.equal(find(r, "keys.signature").address, "127.0.6.9:8448");
    assert.deepEqual(toJsonReport(r).DNSResult.Addrs?.slice().sort(), ["127.0.6.10:8448", "127.0.6.9:8448"]);
  });

  it("suggests removing the stale record of a dead address while another address answers, and lists each address once", async () => {
    const r = await run("twoa.test");
    const c = find(r, "conn.tcp", "fail");
    assert.match(c.fix!, /while 127\.0\.6\.9:8448 does: if the machine at 127\.0\.6\.10 is gone, remove the stale A record twoa\.test -> 127\.0\.6\.10/);
    const host = find(r, "dns.host", "ok");
    assert.equal(host.detail.match(/127\.0\.6\.10/g)?.length, 1, host.detail);
    assert.equal(host.detail.match(/127\.0\.6\.9\b/g)?.length, 1, host.detail);
    assert.equal(find(r, "keys.fetch", "skip").address, "127.0.6.10:8448");
    assert.equal(find(r, "version", "ok").status, "ok", "one dead address of two does not stop the version request");
  });

  it("names our public_baseurl in the client well-known fix when the server tested is our own", async () => {
    const own = await run("twoa.test", { ...env, identity: { serverName: "twoa.test", publicBaseUrl: "https://matrix.twoa.test/" } });
    assert.match(find(own, "client.well-known", "warn").fix!, /\{"m\.homeserver": \{"base_url": "https:\/\/matrix\.twoa\.test"\}\} \(your public_baseurl\)/);
    const other = await run("twoa.test");
    assert.match(find(other, "client.well-known", "warn").fix!, /matrix\.example\.org/);
  });

  it("fails keys that name another server", async () => {
    const r = await run("keyname.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "keys.server-name", "fail");
    assert.match(c.detail, /someone-else\.test/);
    assertFix(c);
    assert.equal(toJsonReport(r).ConnectionReports["127.0.6.11:8448"]?.Checks.MatchingServerName, false);
  });

  it("fails keys whose self-signature does not verify", async () => {
    const r = await run("badsig.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "keys.signature", "fail");
    assertFix(c);
    const checks = toJsonReport(r).ConnectionReports["127.0.6.12:8448"]?.Checks;
    assert.equal(checks?.AllEd25519ChecksOK, false);
    assert.equal(checks?.Ed25519Checks["ed25519:t1"]?.MatchingSignature, false);
  });

  it("warns about an SRV record that .well-known makes irrelevant", async () => {
    const r = await run("ignored.test", env);
    assert.equal(r.federationOK, true);
    const c = find(r, "srv.ignored", "warn");
    assert.match(c.detail, /_matrix-fed\._tcp\.ignored\.test \(old\.ignored\.test:8448\) is ignored because \/\.well-known\/matrix\/server delegates/);
    assertFix(c);
    assert.match(find(r, "resolution.target").detail, /well-known delegates to ignored\.test:8448, which has a port/);
  });

  it("warns that only the deprecated _matrix._tcp record exists, and uses it", async () => {
    const r = await run("legacy.test", env);
    assert.equal(r.federationOK, true);
    const c = find(r, "srv.matrix", "warn");
    assertFix(c);
    assert.match(c.fix!, /_matrix-fed\._tcp\.legacy\.test/);
    assert.match(find(r, "resolution.target").detail, /deprecated _matrix\._tcp\.legacy\.test is used/);
    // Fully qualified, as matrix-federation-tester (Go's net.LookupSRV) writes them.
    assert.equal(toJsonReport(r).DNSResult.SRVCName, "_matrix._tcp.legacy.test.");
    assert.deepEqual(toJsonReport(r).DNSResult.SRVRecords, [{ Target: "legacy.test.", Port: 8448, Priority: 0, Weight: 0 }]);
  });

  it("fetches .well-known from every address and fails when one machine does not serve it", async () => {
    const r = await run("wkmulti.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "well-known.addresses", "fail");
    assert.match(c.detail, /127\.0\.6\.16:443: "m\.server": "wkmulti\.test:8448"/);
    assert.match(c.detail, /127\.0\.6\.17:443: status 404/);
    assertFix(c);
    assert.equal(find(r, "keys.consistent").status, "ok");
  });

  it("uses an explicit port directly, skipping .well-known and SRV, and says the SRV record is ignored", async () => {
    const r = await run("port.test:8449", env);
    assert.equal(r.federationOK, true, r.checks.filter((c) => c.status === "fail").map((c) => c.detail).join("\n"));
    const j = toJsonReport(r);
    assert.equal(j.DNSResult.SRVSkipped, true);
    assert.deepEqual(j.DNSResult.Addrs, ["127.0.6.18:8449"]);
    assert.match(find(r, "resolution.target").detail, /explicit port/);
    assert.match(find(r, "srv.ignored", "warn").detail, /explicit port/);
  });

  it("follows a redirected .well-known and warns about the redirect", async () => {
    const r = await run("redirect.test", env);
    assert.equal(r.federationOK, true);
    const c = find(r, "well-known.redirects", "warn");
    assert.match(c.detail, /redirects \(301\) to https:\/\/redirect\.test\/matrix\/server\.json/);
    assertFix(c);
    assert.equal(toJsonReport(r).WellKnownResult["m.server"], "redirect.test:8448");
  });

  it("warns about a short .well-known cache lifetime, a client file without CORS, and base_url without the client API", async () => {
    const before = Date.now();
    const r = await run("client.test", env);
    assert.equal(r.federationOK, true, "client-side problems and caching do not stop federation");
    const cache = find(r, "well-known.cache", "warn");
    assert.match(cache.detail, /max-age=60/);
    assertFix(cache);
    // CacheExpiresAt is when the server's own cache would drop the answer: max-age=60 raised to its 5-minute floor.
    const expires = toJsonReport(r).WellKnownResult.CacheExpiresAt;
    const floor = WELL_KNOWN_MIN_CACHE_MS / 1000;
    assert.ok(expires >= Math.floor(before / 1000) + floor - 1 && expires <= Math.ceil(Date.now() / 1000) + floor, `CacheExpiresAt ${expires}`);
    const cors = find(r, "client.cors", "warn");
    assert.match(cors.detail, /no Access-Control-Allow-Origin/);
    assertFix(cors);
    assert.match(cors.fix!, /Access-Control-Allow-Origin: \*/);
    const versions = find(r, "client.versions", "warn");
    assert.match(versions.detail, /https:\/\/client\.test\/_matrix\/client\/versions answered 404/);
    assertFix(versions);
  });

  it("fails a server whose /_matrix/federation/v1/version is not routed, with the version error in the JSON", async () => {
    const r = await run("noversion.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "version", "fail");
    assert.match(c.detail, /answered 404 \(not JSON\)/);
    assertFix(c);
    assert.match(c.fix!, /\/_matrix\/federation\/v1/);
    assert.match(toJsonReport(r).Version.error ?? "", /404/);
    assert.equal(find(r, "keys.signature").status, "ok");
  });

  it("fails a .well-known that is not JSON even though the fallback to port 8448 works", async () => {
    const r = await run("badjson.test", env);
    assert.equal(r.federationOK, false);
    const c = find(r, "well-known.json", "fail");
    assertFix(c);
    assert.match(find(r, "resolution.target").detail, /no usable \.well-known and no SRV record, so port 8448/);
    assert.equal(find(r, "keys.signature").status, "ok");
    assert.match(toJsonReport(r).WellKnownResult.result ?? "", /JSON/);
  });

  it("never gives a green tick to a check whose text says it failed (across every scenario above)", () => {
    assert.ok(reports.length > 15);
    const ticked = reports.flatMap((r) => r.checks.filter((c) => c.status === "ok" && /\bfail(ed|s|ure)?\b/i.test(c.detail)).map((c) => `${r.serverName} ${c.id}: ${c.detail}`));
    assert.deepEqual(ticked, []);
  });

  it("reports an invalid server name without connecting anywhere", async () => {
    const r = await run("bad name!", env);
    assert.equal(r.federationOK, false);
    assertFix(find(r, "name.valid", "fail"));
    assert.match(toJsonReport(r).Error ?? "", /Invalid server name/);
  });
});
