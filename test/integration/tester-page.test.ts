/**
 * The tester's HTML page in a real browser (Debian's Chromium driven by playwright-core): fed a report object it
 * shows the verdict, every check with its status and the fix for each warning and failure, treating report text
 * as text; served by a real Zion it asks GET /api/report and renders the answer. The HTTP API answers GOOD/BAD
 * and rate-limits per client address.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
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

describe("federation tester page and HTTP API", { timeout: 120_000 }, () => {
  let browser: Browser;
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  let zion: TestServer;
  const running: Running[] = [];

  let unlock: (() => void) | undefined;
  before(async () => {
    unlock = await lockAddresses("page");
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    dir = await mkdtemp(join(tmpdir(), "zion-tester-page-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq({ a: { "good.page.test": ["127.0.6.30"], "dead.page.test": ["127.0.6.31"] } }, { address: "127.0.6.248" });
    const cert = await ca.issue({ dns: ["good.page.test"] });
    running.push(await serveWellKnown("127.0.6.30", { tls: cert, serverBody: '{"m.server": "good.page.test:8448"}' }));
    running.push(await serveFederation("127.0.6.30", { tls: cert, keysServerName: "good.page.test" }));
    const env = standaloneEnv(clock, { dnsServers: [dns.server], caPems: [ca.caCertPem], timeoutMs: 3000 });
    const api = new TesterApi({ run: (name) => runFederationTest(name, env), clock, maxPerWindow: 4, windowMs: 600_000, cacheMs: 0 });
    zion = await startTestServer({
      serverName: "page.zion.test",
      config: { federation_tester: { enabled: true } },
      startOptions: { extraRoutes: testerRoutes as readonly Route<never>[], extraDeps: { federationTester: api } },
    });
  });

  after(async () => {
    await browser?.close();
    await zion?.stop();
    await Promise.all(running.map((r) => r.stop()));
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
    unlock?.();
  });

  it("renders a report object: verdict, each check's status, and the fixes, with report text kept as text", async () => {
    const b = new ReportBuilder("federation-test", "shown.test", 0);
    b.ok("name.valid", "shown.test is a valid server name");
    b.warn("well-known.content-type", "Content-Type is \"text/plain\"");
    b.fail("tls.name", "the certificate is for <img src=x onerror=\"window.__pwned=1\">other.test", { address: "127.0.0.1:8448", fix: "Get a certificate whose subjectAltName includes shown.test." });
    const page = await browser.newPage();
    try {
      await page.setContent(renderReportPage({ report: toJsonReport(b.finish(1)) }));
      assert.equal(await page.textContent("#verdict"), "Federation NOT OK for shown.test");
      assert.equal(await page.getAttribute("#verdict", "data-ok"), "false");
      const items = await page.$$eval("#checks li.check", (lis) => lis.map((li) => ({
        id: li.getAttribute("data-id"), status: li.getAttribute("data-status"),
        fix: li.querySelector(".fix")?.textContent ?? null, detail: li.querySelector(".detail")?.textContent ?? "",
      })));
      assert.deepEqual(items.map((i) => [i.id, i.status]), [["name.valid", "ok"], ["well-known.content-type", "warn"], ["tls.name", "fail"]]);
      assert.equal(items[0]!.fix, null);
      assert.match(items[1]!.fix ?? "", /application\/json/);
      assert.equal(items[2]!.fix, "Get a certificate whose subjectAltName includes shown.test.");
      assert.match(items[2]!.detail, /<img src=x/);
      assert.equal(await page.evaluate("window.__pwned"), undefined);
      assert.equal(await page.$$eval("#checks img", (x) => x.length), 0);
      assert.equal(await page.textContent("#status"), "1 ok, 1 warnings, 1 failures");
    } finally {
      await page.close();
    }
  });

  it("asks a real Zion's /api/report and renders a passing test", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${zion.clientUrl}/federation-tester?server_name=good.page.test`);
      await page.waitForSelector("#verdict[data-ok]", { timeout: 30_000 });
      assert.equal(await page.textContent("#verdict"), "Federation OK for good.page.test");
      const statuses = await page.$$eval("#checks li.check", (lis) => lis.map((li) => li.getAttribute("data-status")));
      assert.ok(statuses.length > 5);
      assert.ok(!statuses.includes("fail"));
      // The form runs another test.
      await page.fill("#server_name", "dead.page.test");
      await page.click("button[type=submit]");
      await page.waitForSelector('#verdict[data-ok="false"]', { timeout: 30_000 });
      assert.match((await page.textContent("#checks")) ?? "", /Nothing answers on 127\.0\.6\.31:8448/);
    } finally {
      await page.close();
    }
  });

  it("answers GOOD or BAD, refuses a bad server_name, and rate-limits per client address", async () => {
    const good = await fetch(`${zion.clientUrl}/api/federation-ok?server_name=good.page.test`);
    assert.equal(good.status, 200);
    assert.equal(await good.text(), "GOOD");
    assert.equal(good.headers.get("access-control-allow-origin"), "*");
    const bad = await fetch(`${zion.clientUrl}/api/federation-ok?server_name=dead.page.test`);
    assert.equal(await bad.text(), "BAD");
    const invalid = await fetch(`${zion.clientUrl}/api/report?server_name=${encodeURIComponent("no way!")}`);
    assert.equal(invalid.status, 400);
    assert.equal(((await invalid.json()) as { errcode: string }).errcode, "M_INVALID_PARAM");
    // The browser test used 2 of this address's 4 tests, the two above 2 more: the next is refused.
    const limited = await fetch(`${zion.clientUrl}/api/report?server_name=good.page.test`);
    assert.equal(limited.status, 429);
    assert.equal(((await limited.json()) as { errcode: string }).errcode, "M_LIMIT_EXCEEDED");
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
  });
});
