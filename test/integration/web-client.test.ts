/**
 * The web client served by a real Zion from the bundle `npm run build` wrote (dist/web-client): off by default;
 * with web_client.enabled, the page, every file it and its script name, config.json pointing at public_baseurl,
 * and GET / redirecting to it on the client listener only; with Synapse's web_client_location, GET / redirects
 * there on every listener, and /_matrix/client/ is not redirected (as in Synapse 1.163).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestServer, type TestServer } from "../harness/server.js";
import { httpCall, trustCert } from "../harness/http-get.js";

/** dist/web-client (this file runs from dist/test/integration). */
const bundleDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../web-client");

describe("web client: off by default", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer();
  });
  after(() => zion.stop());

  it("serves nothing at /_zion/client/ and nothing at /", async () => {
    for (const path of ["/_zion/client/", "/_zion/client/index.html", "/"]) {
      const r = await httpCall(`${zion.clientUrl}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.json()["errcode"], "M_UNRECOGNIZED", path);
    }
  });
});

describe("web client: web_client.enabled", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({ config: { web_client: { enabled: true }, public_baseurl: "https://matrix.zion.test/" } });
  });
  after(() => zion.stop());

  it("serves the built page, whose stylesheet and script are served with their content types", async () => {
    const page = await httpCall(`${zion.clientUrl}/_zion/client/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(page.body, readFileSync(join(bundleDir, "index.html"), "utf8"));
    assert.match(page.body, /<body class="hydrogen" id="zion-web-client">/);
    const css = /href="(assets\/main-[A-Z0-9]+\.css)"/.exec(page.body)?.[1];
    const js = /src="(assets\/main-[A-Z0-9]+\.js)"/.exec(page.body)?.[1];
    assert.ok(css && js, "the page names its hashed stylesheet and script");
    const cssReply = await httpCall(`${zion.clientUrl}/_zion/client/${css}`);
    assert.equal(cssReply.headers["content-type"], "text/css; charset=utf-8");
    assert.equal(cssReply.headers["cache-control"], "public, max-age=31536000, immutable");
    const jsReply = await httpCall(`${zion.clientUrl}/_zion/client/${js}`);
    assert.equal(jsReply.status, 200);
    assert.equal(jsReply.headers["content-type"], "text/javascript; charset=utf-8");

    // The script names the files Hydrogen loads by URL: olm (wasm and loaders), its worker, the download sandbox.
    const named = [...jsReply.body.matchAll(/"(assets\/[A-Za-z_-]+-[0-9a-f]{10}\.(?:wasm|js|html))"/g)].map((m) => m[1]!);
    const types: Record<string, string> = { wasm: "application/wasm", js: "text/javascript; charset=utf-8", html: "text/html; charset=utf-8" };
    assert.deepEqual(new Set(named.map((n) => n.replace(/-[0-9a-f]{10}\./, "."))), new Set([
      "assets/olm.wasm", "assets/olm.js", "assets/olm_legacy.js", "assets/hydrogen-worker.js", "assets/download-sandbox.html",
    ]));
    for (const name of named) {
      const r = await httpCall(`${zion.clientUrl}/_zion/client/${name}`);
      assert.equal(r.status, 200, name);
      assert.equal(r.headers["content-type"], types[name.slice(name.lastIndexOf(".") + 1)], name);
    }

    // Every font and icon the stylesheet points at.
    const urls = [...cssReply.body.matchAll(/url\("?(?:\.\/)?([^)"']+)"?\)/g)].map((m) => m[1]!).filter((u) => !u.startsWith("data:"));
    assert.ok(urls.length > 20, `the theme names its fonts and icons (${urls.length})`);
    for (const u of new Set(urls)) {
      const r = await httpCall(`${zion.clientUrl}/_zion/client/assets/${u}`, { method: "HEAD" });
      assert.equal(r.status, 200, u);
      assert.match(String(r.headers["content-type"]), /^(font\/woff2?|image\/svg\+xml|image\/png)$/, u);
    }
  });

  it("serves Hydrogen's service worker at the client's top, so its scope is the whole client", async () => {
    const sw = await httpCall(`${zion.clientUrl}/_zion/client/sw.js`);
    assert.equal(sw.status, 200);
    assert.equal(sw.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(sw.headers["cache-control"], "no-cache");
    assert.match(sw.body, /addEventListener\("fetch"/);
  });

  it("points Hydrogen at public_baseurl in config.json", async () => {
    const r = await httpCall(`${zion.clientUrl}/_zion/client/config.json`);
    assert.equal(r.headers["content-type"], "application/json");
    assert.deepEqual(r.json(), { defaultHomeServer: "https://matrix.zion.test" });
  });

  it("redirects / to /_zion/client/ on the client listener", async () => {
    const r = await httpCall(`${zion.clientUrl}/`);
    assert.equal(r.status, 302);
    assert.equal(r.headers["location"], "/_zion/client/");
  });

  it("serves neither the client nor the redirect on a listener without the client resource", async () => {
    const tls = trustCert(zion.config.tls_certificate_path!, "zion.test");
    for (const path of ["/_zion/client/", "/"]) {
      const r = await httpCall(`${zion.federationUrl}${path}`, tls);
      assert.equal(r.status, 404, path);
    }
  });

  it("answers unknown files and traversal attempts with 404", async () => {
    for (const path of ["/_zion/client/nope.html", "/_zion/client/..%2f..%2fpackage.json", "/_zion/client/assets/..%2f..%2f..%2fpackage.json"]) {
      const r = await httpCall(`${zion.clientUrl}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.json()["errcode"], "M_NOT_FOUND", path);
    }
  });
});

describe("web client: Synapse's web_client_location", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({ config: { web_client_location: "https://app.element.example/#/welcome", web_client: { enabled: true } } });
  });
  after(() => zion.stop());

  it("redirects GET and HEAD / there with 302 on every listener, the bundled client still at /_zion/client/", async () => {
    const tls = trustCert(zion.config.tls_certificate_path!, "zion.test");
    for (const [url, opts] of [[zion.clientUrl!, {}], [zion.federationUrl!, tls]] as const) {
      for (const method of ["GET", "HEAD"]) {
        const r = await httpCall(`${url}/?from=test`, { ...opts, method });
        assert.equal(r.status, 302, `${method} ${url}`);
        assert.equal(r.headers["location"], "https://app.element.example/#/welcome");
      }
    }
    assert.equal((await httpCall(`${zion.clientUrl}/_zion/client/`)).status, 200);
  });

  it("does not redirect /_matrix/client/ (Synapse 1.163 answers it 404 M_UNRECOGNIZED too)", async () => {
    for (const path of ["/_matrix/client/", "/_matrix/client"]) {
      const r = await httpCall(`${zion.clientUrl}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.json()["errcode"], "M_UNRECOGNIZED", path);
    }
  });
});
