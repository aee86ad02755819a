/**
 * The bundled web client in a real browser: a real `zion start -c homeserver.yaml` (child process) with
 * web_client.enabled, and Debian's Chromium (playwright-core, fresh profile) loading http://127.0.0.1:PORT/.
 * The root redirects to /_zion/client/, Hydrogen mounts its login screen with the homeserver field pre-filled
 * with this server's public_baseurl and, since GET /login offers passwords, its username and password form; its
 * service worker registers for /_zion/client/, olm's WebAssembly loads and works under the page's
 * Content-Security-Policy, and nothing the page loads violates that policy.
 *
 * A screenshot of the login screen is kept under test-artifacts/web-client/ (gitignored); the test prints the path.
 * The full flow (log in, open a room, send, see another user's message) is test/integration/hydrogen-chat.test.ts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { launchChromium } from "../harness/chromium.js";
import { freePort } from "../harness/ports.js";
import { startTestServer, type TestServer } from "../harness/server.js";

const HOST = "127.0.0.1";
const ARTIFACTS = resolve("test-artifacts", "web-client");

describe("web client in Chromium", { timeout: 120_000 }, () => {
  let dir: string;
  let context: BrowserContext;
  let zion: TestServer;
  let base = "";
  let page: Page;
  const violations: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), "zion-web-client-browser-"));
    const port = await freePort(HOST);
    base = `http://${HOST}:${port}`;
    zion = await startTestServer({
      mode: "child",
      config: {
        public_baseurl: `${base}/`,
        web_client: { enabled: true },
        listeners: [{ port, bind_addresses: [HOST], type: "http", tls: false, resources: [{ names: ["client"] }] }],
      },
    });
    context = await launchChromium(join(dir, "chromium-profile"));
    // Before any script of the page runs: record every CSP violation.
    // (Page scripts are strings: the tests are compiled without the DOM library.)
    await context.addInitScript({
      content: `window.__cspViolations = [];
        document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));`,
    });
    page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });
  after(async () => {
    await context?.close();
    await zion?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("follows / to /_zion/client/ and shows Hydrogen's login form, the homeserver field pre-filled with this server", async () => {
    const response = await page.goto(`${base}/`);
    assert.equal(response?.status(), 200);
    assert.equal(new URL(page.url()).pathname, "/_zion/client/");
    const homeserver = page.locator("#homeserver");
    await homeserver.waitFor({ state: "visible", timeout: 30_000 });
    assert.equal(await homeserver.inputValue(), base);
    assert.equal(await page.locator(".PreSessionScreen h1").textContent(), "Sign In", "Hydrogen's login screen is mounted");
    assert.equal(await page.locator("label[for=homeserver]").textContent(), "Homeserver");
    // Hydrogen asks the server for its login flows at once; wait until it has its answer before the screenshot.
    await page.locator(".LoginView_query-spinner").waitFor({ state: "detached", timeout: 30_000 });
    // GET /login offers m.login.password, so Hydrogen shows its password form.
    await page.locator("#username").waitFor({ state: "visible", timeout: 30_000 });
    assert.ok(await page.locator("#password").isVisible(), "the password field");
    assert.ok(await page.getByRole("button", { name: "Log In" }).isVisible(), "the Log In button");
    const shot = join(ARTIFACTS, "login.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);
  });

  it("registers Hydrogen's service worker with the scope /_zion/client/", async () => {
    const scope = await page.evaluate<string>("navigator.serviceWorker.ready.then((r) => r.scope)");
    assert.equal(scope, `${base}/_zion/client/`);
  });

  it("loads olm's WebAssembly and makes an account with it, under the page's Content-Security-Policy", async () => {
    // Hydrogen keeps its root view model on window; its platform loads olm from the bundle's hashed assets.
    const keys = await page.evaluate<{ curve25519: string; ed25519: string }>(`(async () => {
      const olm = await window.__hydrogenViewModel.platform.loadOlm();
      const account = new olm.Account();
      account.create();
      const keys = JSON.parse(account.identity_keys());
      account.free();
      return keys;
    })()`);
    assert.match(keys.curve25519, /^[A-Za-z0-9+/]{43}$/);
    assert.match(keys.ed25519, /^[A-Za-z0-9+/]{43}$/);
  });

  it("loads nothing the Content-Security-Policy blocks and throws no uncaught error", async () => {
    const seen = await page.evaluate<string[]>("window.__cspViolations");
    violations.push(...seen);
    assert.deepEqual(violations, []);
    assert.deepEqual(pageErrors, []);
  });
});
