/**
 * The tester's HTML page in a real browser (Debian's Chromium driven by playwright-core): fed a report object it
 * shows the verdict, the checks grouped with failures first, the fix for each warning and failure, treating report
 * text as text; served by a real Zion (at /federation-tester and /federation-tester/) it asks GET /api/report and
 * renders the answer with the certificates and keys per address, a timestamp and a raw JSON link, keeps the server
 * name in the URL, disables the button while a test runs, and shows the server's own error text. The HTTP API
 * answers GOOD/BAD, answers an invalid name with a report, and rate-limits per client address.
 *
 * Screenshots of each state are kept under test-artifacts/tester-page/ (gitignored); the test prints the path.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { testerRoutes } from "../../src/api/tester/index.js";
import type { Route } from "../../src/api/http/route.js";
import { renderReportPage } from "../../src/tester/html-page.js";
import { ReportBuilder } from "../../src/tester/report.js";
import { toJsonReport } from "../../src/tester/render-json.js";
import { TesterApi } from "../../src/tester/http-api.js";
import { runFederationTest } from "../../src/tester/federation-test.js";
import { standaloneEnv } from "../../src/tester/env.js";
import { serveFederation, serveWellKnown, type Running, lockAddresses } from "./tester-remotes.js";

const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
const ARTIFACTS = resolve("test-artifacts", "tester-page");

/** The launch flags for Debian's Chromium on a machine without a display or network (fresh profile per run). */
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

interface Item { id: string | null; status: string | null; fix: string | null; detail: string; group: string | null }

function items(page: Page): Promise<Item[]> {
  return page.$$eval("#checks li.check", (lis) => lis.map((li) => ({
    id: li.getAttribute("data-id"), status: li.getAttribute("data-status"),
    fix: li.querySelector(".fix")?.textContent ?? null, detail: li.querySelector(".detail")?.textContent ?? "",
    group: li.closest("section.group")?.getAttribute("data-group") ?? null,
  })));
}

describe("federation tester page and HTTP API", { timeout: 180_000 }, () => {
  let context: BrowserContext;
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  let zion: TestServer;
  let goodCertPem: string;
  let silent: Server;
  const held = new Set<Socket>();
  const running: Running[] = [];

  async function shot(page: Page, name: string): Promise<void> {
    const path = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  }

  let unlock: (() => void) | undefined;
  before(async () => {
    unlock = await lockAddresses("page");
    await mkdir(ARTIFACTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), "zion-tester-page-"));
    context = await chromium.launchPersistentContext(join(dir, "chromium-profile"), { executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
    ca = await createTestCa(dir);
    dns = await startDnsmasq({
      a: { "good.page.test": ["127.0.6.30"], "dead.page.test": ["127.0.6.31"], "slow.page.test": ["127.0.6.32"], "wrong.page.test": ["127.0.6.33"] },
    }, { address: "127.0.6.248" });
    const cert = await ca.issue({ dns: ["good.page.test"] });
    goodCertPem = cert.certPem;
    running.push(await serveWellKnown("127.0.6.30", { tls: cert, serverBody: '{"m.server": "good.page.test:8448"}' }));
    running.push(await serveFederation("127.0.6.30", { tls: cert, keysServerName: "good.page.test" }));
    running.push(await serveFederation("127.0.6.33", { tls: await ca.issue({ dns: ["other.page.test"] }), keysServerName: "wrong.page.test" }));
    // slow.page.test: accepts TCP on 8448 and never speaks TLS, so its test lasts until the tester's timeout.
    silent = createServer((s) => {
      held.add(s);
      s.on("close", () => held.delete(s));
    });
    await new Promise<void>((r) => silent.listen(8448, "127.0.6.32", r));
    const env = standaloneEnv(clock, { dnsServers: [dns.server], caPems: [ca.caCertPem], timeoutMs: 1500 });
    // Requests for one name within ten minutes share a run, so the raw JSON link and reloads cost no test.
    const api = new TesterApi({ run: (name) => runFederationTest(name, env), clock, maxPerWindow: 5, windowMs: 600_000, cacheMs: 600_000 });
    zion = await startTestServer({
      serverName: "page.zion.test",
      config: { federation_tester: { enabled: true } },
      startOptions: { extraRoutes: testerRoutes as readonly Route<never>[], extraDeps: { federationTester: api } },
    });
  });

  after(async () => {
    await context?.close();
    await zion?.stop();
    await Promise.all(running.map((r) => r.stop()));
    for (const s of held) s.destroy();
    await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
    unlock?.();
  });

  it("renders a report object: verdict, checks grouped with failures first, fixes, plurals, with report text kept as text", async () => {
    const b = new ReportBuilder("federation-test", "shown.test", 0);
    b.ok("name.valid", "shown.test is a valid server name");
    b.warn("well-known.content-type", "Content-Type is \"text/plain\"");
    const cert = b.fail("tls.name", "the certificate is for <img src=x onerror=\"window.__pwned=1\">other.test", { address: "127.0.0.1:8448", fix: "Get a certificate whose subjectAltName includes shown.test." });
    b.skip("version", cert, "no address accepts a checked connection");
    const page = await context.newPage();
    try {
      await page.setContent(renderReportPage({ report: toJsonReport(b.finish(1)) }));
      assert.equal(await page.textContent("#verdict"), "Federation NOT OK for shown.test");
      assert.equal(await page.getAttribute("#verdict", "data-ok"), "false");
      const got = await items(page);
      // The TLS group of the failing address first; inside the DNS group the warning before the tick.
      assert.deepEqual(got.map((i) => [i.group, i.id, i.status]), [
        ["tls", "tls.name", "fail"], ["dns", "well-known.content-type", "warn"], ["dns", "name.valid", "ok"], ["requests", "version", "skip"],
      ]);
      assert.deepEqual(await page.$$eval("section.group h2", (h) => h.map((x) => x.textContent)), ["TLS 127.0.0.1:8448", "DNS and delegation", "Requests"]);
      assert.equal(got[0]!.fix, "Get a certificate whose subjectAltName includes shown.test.");
      assert.match(got[1]!.fix ?? "", /application\/json/);
      assert.equal(got[2]!.fix, null);
      assert.match(got[3]!.detail, /^not run because of "Certificate is valid for the expected name \(127\.0\.0\.1:8448\)"/);
      assert.equal(got[3]!.fix, null);
      assert.match(got[0]!.detail, /<img src=x/);
      assert.equal(await page.evaluate("window.__pwned"), undefined);
      assert.equal(await page.$$eval("#checks img", (x) => x.length), 0);
      assert.equal(await page.textContent("#status"), "1 ok, 1 warning, 1 failure, 1 check not run");
      assert.match((await page.textContent("#note")) ?? "", /machine that ran zion federation-test/);
      assert.match((await page.getAttribute("#raw", "href")) ?? "", /^blob:/);
      await shot(page, "embedded-report");
    } finally {
      await page.close();
    }
  });

  it("at /federation-tester/ asks a real Zion's /api/report and shows certificates, keys, a timestamp, the raw JSON and a note", async () => {
    const page = await context.newPage();
    try {
      const before = Date.now();
      await page.goto(`${zion.clientUrl}/federation-tester/?server_name=good.page.test`);
      await page.waitForSelector("#verdict[data-ok]", { timeout: 30_000 });
      assert.equal(await page.textContent("#verdict"), "Federation OK for good.page.test");
      const got = await items(page);
      assert.ok(got.length > 5);
      assert.ok(!got.some((i) => i.status === "fail"));
      // good.page.test serves no client well-known: the group with that warning comes first, the others in order.
      assert.deepEqual([...new Set(got.map((i) => i.group))], ["requests", "dns", "tls", "keys"]);
      assert.equal(await page.getAttribute('section.group[data-group="requests"]', "data-worst"), "warn");
      assert.equal(got[0]!.id, "client.well-known");
      assert.match((await page.textContent("#note")) ?? "", /runs from this server \(127\.0\.0\.1:\d+\), with its DNS servers/);
      // The certificate the address served, as a person checks it.
      const x = new X509Certificate(goodCertPem);
      const cert = 'section.group[data-group="tls"][data-address="127.0.6.30:8448"] .cert';
      assert.match((await page.textContent(`${cert} [data-field=subject]`)) ?? "", /CN=good\.page\.test/);
      assert.match((await page.textContent(`${cert} [data-field=issuer]`)) ?? "", /Zion Test/);
      assert.equal(await page.textContent(`${cert} [data-field=sans]`), "DNS:good.page.test");
      assert.equal(await page.textContent(`${cert} [data-field=sha256]`), x.fingerprint256);
      assert.equal(await page.textContent(`${cert} [data-field=expiry]`), new Date(x.validTo).toISOString());
      // The keys it served.
      const keys = 'section.group[data-group="keys"] .keys[data-address="127.0.6.30:8448"]';
      assert.equal(await page.textContent(`${keys} [data-field=server-name]`), "good.page.test");
      assert.match((await page.textContent(`${keys} dt:nth-of-type(3)`)) ?? "", /^ed25519:t1$/);
      assert.match((await page.textContent(`${keys} [data-field=key]`)) ?? "", /^[A-Za-z0-9+/]{43}$/);
      // When, and the raw JSON behind the page.
      const at = Date.parse((await page.getAttribute("#meta time", "datetime")) ?? "");
      assert.ok(at >= before - 1000 && at <= Date.now(), `timestamp ${at}`);
      const raw = await page.getAttribute("#raw", "href");
      assert.equal(raw, `${zion.clientUrl}/api/report?server_name=good.page.test`);
      const json = (await (await fetch(raw!)).json()) as { FederationOK: boolean; Zion: { ServerName: string } };
      assert.equal(json.FederationOK, true);
      assert.equal(json.Zion.ServerName, "good.page.test");
      await shot(page, "good-server");
    } finally {
      await page.close();
    }
  });

  it("shows why a refused certificate fails, with the certificate served and the checks after it not run", async () => {
    const page = await context.newPage();
    try {
      await page.goto(`${zion.clientUrl}/federation-tester?server_name=wrong.page.test`);
      await page.waitForSelector('#verdict[data-ok="false"]', { timeout: 30_000 });
      const got = await items(page);
      assert.deepEqual(got.filter((i) => i.status === "fail").map((i) => i.id), ["tls.name"]);
      assert.equal(got[0]!.id, "tls.name", "the failure comes first");
      assert.equal(await page.textContent('.cert[data-address="127.0.6.33:8448"] [data-field=sans]'), "DNS:other.page.test");
      assert.match(got.find((i) => i.id === "version")?.detail ?? "", /not run because of "Certificate is valid for the expected name/);
      assert.ok(got.some((i) => i.id === "keys.signature" && i.status === "ok"), "the key checks stay visible");
      await shot(page, "refused-certificate");
    } finally {
      await page.close();
    }
  });

  it("runs another test from the form: the button is disabled while it runs and the URL names the server", async () => {
    const page = await context.newPage();
    try {
      await page.goto(`${zion.clientUrl}/federation-tester`);
      await page.fill("#server_name", "slow.page.test");
      await page.click("button[type=submit]");
      assert.equal(await page.isDisabled("button[type=submit]"), true, "disabled while the test runs");
      assert.match((await page.textContent("#status")) ?? "", /^Testing slow\.page\.test/);
      assert.equal(new URL(page.url()).searchParams.get("server_name"), "slow.page.test");
      await shot(page, "test-running");
      await page.waitForSelector('#verdict[data-ok="false"]', { timeout: 30_000 });
      assert.equal(await page.isDisabled("button[type=submit]"), false, "enabled again when it is done");
      await page.fill("#server_name", "dead.page.test");
      await page.click("button[type=submit]");
      await page.waitForSelector('#verdict[data-ok="false"]', { timeout: 30_000 });
      assert.match((await page.textContent("#checks")) ?? "", /Nothing answers on 127\.0\.6\.31:8448/);
      assert.equal(new URL(page.url()).searchParams.get("server_name"), "dead.page.test");
      // The shared URL shows the same test.
      const shared = await context.newPage();
      await shared.goto(page.url());
      await shared.waitForSelector('#verdict[data-ok="false"]', { timeout: 30_000 });
      assert.equal(await shared.textContent("#verdict"), "Federation NOT OK for dead.page.test");
      await shared.close();
    } finally {
      await page.close();
    }
  });

  it("answers an invalid name with a report and BAD, in the API and on the page", async () => {
    const invalid = await fetch(`${zion.clientUrl}/api/report?server_name=${encodeURIComponent("no way!")}`);
    assert.equal(invalid.status, 200);
    const j = (await invalid.json()) as { Error?: string; FederationOK: boolean };
    assert.equal(j.Error, "Invalid server name 'no way!'");
    assert.equal(j.FederationOK, false);
    assert.equal(await (await fetch(`${zion.clientUrl}/api/federation-ok?server_name=${encodeURIComponent("no way!")}`)).text(), "BAD");
    const page = await context.newPage();
    try {
      await page.goto(`${zion.clientUrl}/federation-tester?server_name=${encodeURIComponent("no way!")}`);
      await page.waitForSelector('#verdict[data-ok="false"]', { timeout: 30_000 });
      assert.equal(await page.textContent("#checks .error"), "Invalid server name 'no way!'");
      await shot(page, "invalid-name");
    } finally {
      await page.close();
    }
  });

  it("answers GOOD or BAD, rate-limits per client address, and the page shows the server's error text and Retry-After", async () => {
    const good = await fetch(`${zion.clientUrl}/api/federation-ok?server_name=good.page.test`);
    assert.equal(good.status, 200);
    assert.equal(await good.text(), "GOOD");
    assert.equal(good.headers.get("access-control-allow-origin"), "*");
    assert.equal(await (await fetch(`${zion.clientUrl}/api/federation-ok?server_name=dead.page.test`)).text(), "BAD");
    // good, wrong, slow and dead used 4 of this address's 5 tests (repeats shared a run): one more, then 429.
    assert.equal((await fetch(`${zion.clientUrl}/api/report?server_name=nothing1.page.test`)).status, 200);
    const limited = await fetch(`${zion.clientUrl}/api/report?server_name=nothing2.page.test`);
    assert.equal(limited.status, 429);
    assert.equal(((await limited.json()) as { errcode: string }).errcode, "M_LIMIT_EXCEEDED");
    const retry = Number(limited.headers.get("retry-after"));
    assert.ok(retry > 0);
    const page = await context.newPage();
    try {
      await page.goto(`${zion.clientUrl}/federation-tester?server_name=nothing3.page.test`);
      await page.waitForSelector("#status.error", { timeout: 30_000 });
      const text = (await page.textContent("#status")) ?? "";
      assert.match(text, /^The test could not run: too many federation tests from this address \(HTTP 429 M_LIMIT_EXCEEDED\); try again in \d+ seconds$/);
      assert.equal(await page.isDisabled("button[type=submit]"), false);
      await shot(page, "rate-limited");
    } finally {
      await page.close();
    }
  });
});
