import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { pino } from "pino";
import { createHttpApp, type HttpApp } from "../http/index.js";
import { createWebClientBundle, rootRedirect, webClientRoutes, WEB_CLIENT_PREFIX } from "./index.js";
import { IMMUTABLE, PAGE_CSP, REVALIDATE } from "./bundle.js";

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw request: the path goes on the wire exactly as given (no URL normalisation, unlike fetch). */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

const wasm = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x80]);
const woff2 = Buffer.from([0x77, 0x4f, 0x46, 0x32, 0x00, 0x01, 0xc3, 0x28]);
const files = new Map<string, Uint8Array>([
  ["index.html", Buffer.from("<!DOCTYPE html><title>client</title>")],
  ["sw.js", Buffer.from("self.addEventListener('fetch', () => {});")],
  ["assets/main-ABCD1234.js", Buffer.from("console.log('main');")],
  ["assets/main-ABCD1234.css", Buffer.from("body{}")],
  ["assets/olm-0123456789.wasm", wasm],
  ["assets/Inter-Regular-89d406b0-XYZW1234.woff2", woff2],
  ["assets/icon-1234abcd.svg", Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'/>")],
  ["assets/download-sandbox-48a866e9cd.html", Buffer.from("<!DOCTYPE html><a id=link></a>")],
]);

describe("web client files (/_zion/client/)", () => {
  let app: HttpApp;
  let port = 0;
  before(async () => {
    app = createHttpApp({
      routes: [...webClientRoutes, rootRedirect(WEB_CLIENT_PREFIX, "client")],
      deps: { webClient: createWebClientBundle(files, { defaultHomeServer: "https://matrix.example.org" }) },
      logger: pino({ level: "silent" }),
    });
    port = (await app.listen({ host: "127.0.0.1", port: 0 })).port;
  });
  after(() => app.close({ graceMs: 100 }));

  it("serves the page at /_zion/client/ and /_zion/client/index.html with its CSP, revalidated on every load", async () => {
    for (const path of ["/_zion/client/", "/_zion/client/index.html", "/_zion/client/?loginToken=abc"]) {
      const r = await raw(port, "GET", path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(r.body.toString(), "<!DOCTYPE html><title>client</title>");
      assert.equal(r.headers["cache-control"], REVALIDATE);
      assert.equal(r.headers["content-security-policy"], PAGE_CSP);
      assert.equal(r.headers["x-content-type-options"], "nosniff");
      assert.equal(r.headers["access-control-allow-origin"], undefined, "same-origin files carry no CORS headers");
    }
  });

  it("serves each file byte for byte with the content type of its extension", async () => {
    const want: Record<string, string> = {
      "assets/main-ABCD1234.js": "text/javascript; charset=utf-8",
      "assets/main-ABCD1234.css": "text/css; charset=utf-8",
      "assets/olm-0123456789.wasm": "application/wasm",
      "assets/Inter-Regular-89d406b0-XYZW1234.woff2": "font/woff2",
      "assets/icon-1234abcd.svg": "image/svg+xml",
      "assets/download-sandbox-48a866e9cd.html": "text/html; charset=utf-8",
      "sw.js": "text/javascript; charset=utf-8",
    };
    for (const [path, type] of Object.entries(want)) {
      const r = await raw(port, "GET", `/_zion/client/${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers["content-type"], type, path);
      assert.deepEqual(r.body, Buffer.from(files.get(path)!), path);
      assert.equal(r.headers["content-length"], String(files.get(path)!.byteLength), path);
    }
  });

  it("lets browsers keep content-hashed assets for a year and revalidate the fixed names", async () => {
    assert.equal((await raw(port, "GET", "/_zion/client/assets/main-ABCD1234.js")).headers["cache-control"], IMMUTABLE);
    assert.equal((await raw(port, "GET", "/_zion/client/assets/olm-0123456789.wasm")).headers["cache-control"], IMMUTABLE);
    assert.equal((await raw(port, "GET", "/_zion/client/sw.js")).headers["cache-control"], REVALIDATE);
    assert.equal((await raw(port, "GET", "/_zion/client/config.json")).headers["cache-control"], REVALIDATE);
  });

  it("serves the service worker with a scope of the whole client", async () => {
    const r = await raw(port, "GET", "/_zion/client/sw.js");
    assert.equal(r.headers["service-worker-allowed"], "/_zion/client/");
  });

  it("answers 304 to If-None-Match with the file's ETag, and 200 to another ETag", async () => {
    const first = await raw(port, "GET", "/_zion/client/assets/main-ABCD1234.js");
    const etag = String(first.headers["etag"]);
    assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/);
    const again = await raw(port, "GET", "/_zion/client/assets/main-ABCD1234.js", { "if-none-match": etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers["etag"], etag);
    const listed = await raw(port, "GET", "/_zion/client/assets/main-ABCD1234.js", { "if-none-match": `"other", ${etag}` });
    assert.equal(listed.status, 304);
    const other = await raw(port, "GET", "/_zion/client/assets/main-ABCD1234.js", { "if-none-match": '"something-else"' });
    assert.equal(other.status, 200);
    const page = await raw(port, "GET", "/_zion/client/", { "if-none-match": etag });
    assert.equal(page.status, 200, "another file's ETag does not match the page");
  });

  it("answers HEAD with the headers and no body", async () => {
    const r = await raw(port, "HEAD", "/_zion/client/assets/olm-0123456789.wasm");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/wasm");
    assert.equal(r.body.length, 0);
  });

  it("writes config.json with defaultHomeServer, which pre-fills Hydrogen's homeserver field", async () => {
    const r = await raw(port, "GET", "/_zion/client/config.json");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(r.body.toString()), { defaultHomeServer: "https://matrix.example.org" });
  });

  it("answers 404 M_NOT_FOUND for names that are not files of the bundle", async () => {
    for (const path of ["/_zion/client/nope.js", "/_zion/client/assets/", "/_zion/client/assets", "/_zion/client/ASSETS/main-ABCD1234.js", "/_zion/client/index.html/"]) {
      const r = await raw(port, "GET", path);
      assert.equal(r.status, 404, path);
      assert.equal(JSON.parse(r.body.toString()).errcode, "M_NOT_FOUND", path);
    }
  });

  it("refuses directory traversal, plain or percent-encoded, with 404 and nothing of the file system", async () => {
    for (const path of [
      "/_zion/client/../../../../etc/passwd",
      "/_zion/client/assets/../../../package.json",
      "/_zion/client/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/_zion/client/..%2f..%2f..%2fetc%2fpasswd",
      "/_zion/client/assets/..%2fsw.js",
      "/_zion/client/%2fetc%2fpasswd",
      "/_zion/client//etc/passwd",
      "/_zion/client/assets%5c..%5c..%5cpackage.json",
      "/_zion/client/./index.html",
    ]) {
      const r = await raw(port, "GET", path);
      assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
      assert.doesNotMatch(r.body.toString(), /root:|"name"|addEventListener|<title>/, path);
    }
  });

  it("redirects /_zion/client to /_zion/client/, keeping the query", async () => {
    const r = await raw(port, "GET", "/_zion/client?loginToken=abc");
    assert.equal(r.status, 301);
    assert.equal(r.headers["location"], "/_zion/client/?loginToken=abc");
  });

  it("redirects / to the client with 302 and a page linking there", async () => {
    const r = await raw(port, "GET", "/");
    assert.equal(r.status, 302);
    assert.equal(r.headers["location"], "/_zion/client/");
    assert.match(r.body.toString(), /<a href="\/_zion\/client\/">/);
  });

  it("refuses other methods on the client's files with 405", async () => {
    const r = await raw(port, "POST", "/_zion/client/index.html");
    assert.equal(r.status, 405);
  });
});

describe("root redirect", () => {
  it("escapes the location in its HTML page", async () => {
    const app = createHttpApp({ routes: [rootRedirect("https://app.example.org/?a=1&b=\"2\"", "public")], deps: {}, logger: pino({ level: "silent" }) });
    try {
      const r = await app.inject({ method: "GET", url: "/" });
      assert.equal(r.statusCode, 302);
      assert.equal(r.headers["location"], "https://app.example.org/?a=1&b=\"2\"");
      assert.match(r.body, /href="https:\/\/app\.example\.org\/\?a=1&#38;b=&#34;2&#34;"/);
    } finally {
      await app.close({ graceMs: 100 });
    }
  });
});
