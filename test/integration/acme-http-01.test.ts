/**
 * ACME against a real ACME server (Pebble) with HTTP-01: first issuance, the served chain and names, renewal at
 * two thirds of the lifetime (reached by moving the manager's clock, so a loaded machine cannot make the certificate
 * expire before the renewal lands) with a TLS client connecting throughout the swap, and a refused order that leaves
 * the old certificate serving. Addresses: 127.0.5.10 (dnsmasq), 127.0.5.11 (our listeners), Pebble 127.0.5.2xx.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";
import { AcmeManager, startHttpChallengeServer, type HttpChallengeServer, type RenewOutcome } from "../../src/acme/index.js";
import type { Clock } from "../../src/core/clock.js";
import { CertificateReloader } from "../../src/app/tls-reload.js";
import { readAcmeDoctorView } from "../../src/app/certificates.js";
import type { HomeserverConfig } from "../../src/config/index.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { collectingLog, eventually, manualClock, startPebble, tlsPeer, unrefClock, type Pebble } from "../harness/pebble.js";

const HOST_IP = "127.0.5.11";
const NAME = "hs.acme-http.test";
const BLOCKED = "blocked.acme-http.test";
// One hour: nothing expires during the run however slow the machine; renewal time is reached with a manual clock.
// (A real 24 s lifetime failed 1 run in 4 on a loaded 2-core machine: the renewal landed after expiry.)
const VALIDITY_S = 3600;

describe("ACME HTTP-01 against Pebble", { timeout: 300_000 }, () => {
  let dir: string;
  let dns: Dnsmasq;
  let pebble: Pebble;
  let root: string;
  let httpChallenges: HttpChallengeServer;
  let tlsServer: Server;
  let tlsPort: number;
  const managers: AcmeManager[] = [];
  const reloaders: CertificateReloader[] = [];

  // One TLS listener, served through a reloader per test (attached in turn).
  const challengeServers = new Map<string, AcmeManager>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-acme-http-"));
    dns = await startDnsmasq({ a: { [NAME]: [HOST_IP], [BLOCKED]: [HOST_IP] } }, { address: "127.0.5.10" });
    tlsServer = createServer({}, (s) => s.end("hello\n"));
    await new Promise<void>((r) => tlsServer.listen(0, HOST_IP, r));
    tlsPort = (tlsServer.address() as AddressInfo).port;
    // The HTTP-01 listener answers for whichever manager the test is running.
    const responder = {
      httpResponse: (token: string) => {
        for (const m of challengeServers.values()) {
          const a = m.responder.httpResponse(token);
          if (a !== undefined) return a;
        }
        return undefined;
      },
    };
    httpChallenges = await startHttpChallengeServer({ host: HOST_IP, port: 0, responder, httpsPort: tlsPort });
    pebble = await startPebble({ dnsServer: dns.server, httpPort: httpChallenges.port, tlsPort, validitySeconds: VALIDITY_S, domainBlocklist: [BLOCKED] });
    root = await pebble.issuingRootPem();
  });

  after(async () => {
    for (const m of managers) await m.stop();
    for (const r of reloaders) r.close();
    await httpChallenges?.close();
    await new Promise<void>((r) => (tlsServer ? tlsServer.close(() => r()) : r()));
    await pebble?.stop();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function setup(name: string, domains: string[], storage: string, extra: { retryMinMs?: number; clock?: Clock; random?: () => number } = {}) {
    const log = collectingLog();
    const reloader = new CertificateReloader({ log });
    reloaders.push(reloader);
    const detach = reloader.attach(tlsServer);
    const manager = new AcmeManager({
      directoryUrl: pebble.directoryUrl,
      contactEmail: "admin@acme-http.test",
      domains,
      challenge: "http-01",
      accountKeyPath: join(dir, "account.key"),
      storageDir: join(dir, storage),
      caBundlePem: pebble.apiCaPem,
      clock: extra.clock ?? unrefClock(),
      ...(extra.random ? { random: extra.random } : {}),
      log,
      onCertificate: (pair) => reloader.install(pair, "acme"),
      pollMinMs: 100,
      pollMaxMs: 500,
      retryMinMs: extra.retryMinMs ?? 60_000,
    });
    managers.push(manager);
    challengeServers.set(name, manager);
    const outcomes: RenewOutcome[] = [];
    const waiters: Array<() => void> = [];
    manager.onRenewal((o) => { outcomes.push(o); for (const w of waiters.splice(0)) w(); });
    const nextOutcome = (n: number) =>
      new Promise<RenewOutcome>((resolve) => {
        const check = () => (outcomes.length >= n ? resolve(outcomes[n - 1]!) : waiters.push(check));
        check();
      });
    return { log, reloader, manager, nextOutcome, detach };
  }

  it("obtains a certificate by HTTP-01 that a TLS client trusting only Pebble's root accepts for the name", async () => {
    const t = setup("first", [NAME], "first");
    await t.manager.start();
    const first = await t.nextOutcome(1);
    assert.equal(first.ok, true, first.ok ? "" : first.reason);
    const peer = await tlsPeer(HOST_IP, tlsPort, NAME, root);
    assert.equal(peer.serial, t.manager.status().certificate?.serial);
    assert.match(peer.subjectaltname, new RegExp(`DNS:${NAME.replace(/\./g, "\\.")}`));
    // Leaf, Pebble's intermediate, Pebble's root: the served chain is complete.
    assert.equal(peer.chainCNs.length, 3, `chain seen: ${peer.chainCNs.join(" <- ")}`);
    assert.match(peer.chainCNs[1]!, /Pebble Intermediate/i);
    // A client asking for another name refuses the certificate.
    await assert.rejects(tlsPeer(HOST_IP, tlsPort, "other.acme-http.test", root), /altnames|does not match|Hostname/i);
    // Account key and certificate files are private to the server's user.
    for (const f of [join(dir, "account.key"), join(dir, "first", "certificate.pem"), join(dir, "first", "private-key.pem")]) {
      assert.equal((await stat(f)).mode & 0o777, 0o600, f);
    }
    await t.manager.stop();
    t.detach();
  });

  it("answers only challenges on the HTTP listener and redirects everything else to HTTPS", async () => {
    const get = (path: string, host: string) =>
      new Promise<{ status: number; location?: string }>((resolve, reject) => {
        const req = request({ host: HOST_IP, port: httpChallenges.port, path, headers: { host } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}) });
        });
        req.on("error", reject);
        req.end();
      });
    const unknown = await get("/.well-known/acme-challenge/no-such-token", NAME);
    assert.equal(unknown.status, 404);
    const other = await get("/_matrix/federation/v1/version", NAME);
    assert.equal(other.status, 301);
    assert.equal(other.location, `https://${NAME}:${tlsPort}/_matrix/federation/v1/version`);
  });

  it("renews at two thirds of the lifetime and swaps the served certificate with no connection refused", async () => {
    const clock = manualClock(Date.now());
    const t = setup("renew", [NAME], "renew", { clock });
    await t.manager.start();
    const first = await t.nextOutcome(1);
    assert.ok(first.ok, first.ok ? "" : first.reason);
    const oldSerial = first.info.serial;
    const renewAt = t.manager.status().renewAt!;
    assert.equal(renewAt, first.info.notBefore + Math.floor(((first.info.notAfter - first.info.notBefore) * 2) / 3));
    // The manager waits for exactly the two-thirds point: a millisecond before it, nothing is attempted.
    const firstAttemptAt = t.manager.status().lastAttemptAt;
    await eventually("the manager to sleep until the renewal time", () => (clock.pending() > 0 && t.manager.status().nextAttemptAt === renewAt) || undefined);
    clock.advance(renewAt - 1 - clock.now());
    await new Promise((r) => setTimeout(r, 300)); // time for a wrongly early attempt to start
    assert.equal(t.manager.status().lastAttemptAt, firstAttemptAt, "attempted a renewal before it was due");

    // Connect over and over (bounded) while the renewal happens; every handshake must verify.
    const seen = new Map<string, number>();
    const errors: string[] = [];
    let renewed: RenewOutcome | undefined;
    void t.nextOutcome(2).then((o) => { renewed = o; });
    let newSeenAfter = 0;
    let due = false;
    const deadline = Date.now() + 90_000;
    while (newSeenAfter < 20 && Date.now() < deadline && !(renewed && !renewed.ok)) {
      try {
        const p = await tlsPeer(HOST_IP, tlsPort, NAME, root);
        seen.set(p.serial, (seen.get(p.serial) ?? 0) + 1);
        if (renewed?.ok && p.serial === renewed.info.serial) newSeenAfter++;
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
      // The renewal falls due while handshakes are going on.
      if (!due && (seen.get(oldSerial) ?? 0) >= 5) {
        due = true;
        clock.advance(1);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const story = () => t.log.lines.map((l) => `${new Date(l.at).toISOString()} ${l.level} ${l.msg} ${JSON.stringify(l.obj)}`).join("\n");
    assert.ok(renewed, `no renewal happened:\n${story()}`);
    assert.ok(renewed.ok, renewed.ok ? "" : `${renewed.reason}\n${story()}`);
    assert.notEqual(renewed.info.serial, oldSerial);
    assert.deepEqual(errors, [], story());
    assert.ok((seen.get(oldSerial) ?? 0) > 0, "the old certificate was never seen before the swap");
    assert.ok((seen.get(renewed.info.serial) ?? 0) >= 20, "the new certificate is not the one served");
    // The renewal happened at or after the two-thirds point, not before.
    assert.ok(t.manager.status().lastSuccessAt! >= renewAt, "renewed before it was due");
    assert.ok(t.log.lines.some((l) => l.msg === "tls: certificate swapped on every listener" && l.obj["previousSerial"] === oldSerial));
    await t.manager.stop();
    t.detach();
  });

  it("keeps the old certificate serving and logs why when Pebble refuses an order for a blocked name", async () => {
    const t1 = setup("before-refusal", [NAME], "refusal");
    await t1.manager.start();
    const first = await t1.nextOutcome(1);
    assert.ok(first.ok, first.ok ? "" : first.reason);
    await t1.manager.stop();
    t1.detach();

    // Restart with a name the CA refuses: the stored certificate is served, the order fails, nothing changes.
    const t2 = setup("refusal", [NAME, BLOCKED], "refusal");
    await t2.manager.start();
    const refused = await t2.nextOutcome(1);
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? "" : refused.reason, /refused the order/);
    assert.match(refused.ok ? "" : refused.reason, new RegExp(BLOCKED.replace(/\./g, "\\.")));
    const peer = await tlsPeer(HOST_IP, tlsPort, NAME, root);
    assert.equal(peer.serial, first.info.serial);
    const line = t2.log.lines.find((l) => l.level === "error" && /renewal failed; the current certificate stays/.test(l.msg));
    assert.ok(line, "no log line about the failed renewal");
    assert.match(String(line.obj["reason"]), /blocked|policy|rejectedIdentifier/i);
    // The certificate expires within the hour, so a failing renewal warns (the doctor reads the same status).
    const status = t2.manager.status();
    assert.equal(status.consecutiveFailures, 1);
    assert.match(status.warning ?? "", /renewal has failed 1 time/);
    assert.ok(t2.log.lines.some((l) => l.level === "warn" && /renewal has failed/.test(l.msg)));
    // `zion doctor`, another process, reads the same state from storage_dir.
    const config = { acme: { enabled: true, storage_dir: join(dir, "refusal") }, config_dir: dir } as unknown as HomeserverConfig;
    const view = await readAcmeDoctorView(config, Date.now());
    assert.equal(view?.certificate?.serial, first.info.serial);
    assert.equal(view?.consecutiveFailures, 1);
    assert.match(view?.warning ?? "", /renewal has failed 1 time\(s\) and the certificate expires in .* days: the CA refused the order/);
    await t2.manager.stop();
    t2.detach();
  });

  it("retries a failing order with jittered exponential back-off, only when the clock says so", async () => {
    const clock = manualClock(Date.now());
    const t0 = clock.now();
    const t = setup("backoff", [BLOCKED], "backoff", { clock, retryMinMs: 1000, random: () => 0.25 });
    await t.manager.start();
    const first = await t.nextOutcome(1);
    assert.equal(first.ok, false);
    // No certificate at all and failing: the status carries a warning for the doctor.
    assert.match(t.manager.status().warning ?? "", /no certificate yet/);
    // Delay after failure n: 1000 * 2^(n-1), scaled by (0.5 + 0.25).
    const expected = [750, 1500, 3000];
    let at = t0;
    for (const [i, delay] of expected.entries()) {
      await eventually(`the manager to sleep before retry ${i + 1}`, () => clock.pending() > 0 || undefined);
      assert.equal(t.manager.status().nextAttemptAt, at + delay, `retry ${i + 1}`);
      clock.advance(delay - 1);
      await new Promise((r) => setTimeout(r, 200)); // time for a wrongly early attempt to start
      // An attempt records its start at once, so an early one would show here even before Pebble answers it.
      assert.equal(t.manager.status().lastAttemptAt, at, `attempted before retry ${i + 1} was due`);
      assert.equal(t.manager.status().consecutiveFailures, i + 1);
      clock.advance(1);
      at += delay;
      const o = await t.nextOutcome(i + 2);
      assert.equal(o.ok, false);
      assert.equal(t.manager.status().consecutiveFailures, i + 2);
      assert.equal(t.manager.status().lastAttemptAt, at);
    }
    await t.manager.stop();
    t.detach();
  });

  it("keeps a stored certificate across restarts, but orders anew when it came from another ACME directory", async () => {
    const t1 = setup("restart-1", [NAME], "restart");
    await t1.manager.start();
    const first = await t1.nextOutcome(1);
    assert.ok(first.ok, first.ok ? "" : first.reason);
    await t1.manager.stop();
    t1.detach();

    // Same directory: the stored certificate is served and the next attempt waits for its renewal time.
    const t2 = setup("restart-2", [NAME], "restart");
    await t2.manager.start();
    assert.equal((await tlsPeer(HOST_IP, tlsPort, NAME, root)).serial, first.info.serial);
    const s2 = t2.manager.status();
    assert.equal(s2.certificate?.serial, first.info.serial);
    await eventually("the renewal to be scheduled", () => t2.manager.status().nextAttemptAt);
    assert.equal(t2.manager.status().nextAttemptAt, s2.renewAt);
    await t2.manager.stop();
    t2.detach();

    // The stored certificate says it came from a staging directory: a new order goes out at once.
    const statusPath = join(dir, "restart", "status.json");
    const saved = JSON.parse(await readFile(statusPath, "utf8")) as Record<string, unknown>;
    assert.equal(saved["directoryUrl"], pebble.directoryUrl);
    await writeFile(statusPath, JSON.stringify({ ...saved, directoryUrl: "https://acme-staging.example/directory" }));
    const t3 = setup("restart-3", [NAME], "restart");
    await t3.manager.start();
    const again = await t3.nextOutcome(1);
    assert.ok(again.ok, again.ok ? "" : again.reason);
    assert.notEqual(again.info.serial, first.info.serial);
    assert.ok(t3.log.lines.some((l) => /from another ACME directory/.test(l.msg)));
    await t3.manager.stop();
    t3.detach();
  });
});
