/**
 * URL previews on a real Zion over loopback: an HTML page with Open Graph tags served by a local HTTP server is
 * previewed (its og:image stored as media), a loopback address is refused unless url_preview_ip_range_whitelist
 * allows it, a redirect to an address the policy refuses is refused too, and previews are off by default.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { scryptHasher } from "../../src/api/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";

const BLACKLIST = ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fe80::/10", "fc00::/7"];

async function start(config: Record<string, unknown>): Promise<{ zion: TestServer; token: string }> {
  const zion = await startTestServer({
    config: { enable_registration: true, enable_registration_without_verification: true, ...config },
    startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
  });
  const r = await fetch(`${zion.clientUrl}/_matrix/client/v3/register`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "alice", password: "a password 1", auth: { type: "m.login.dummy" } }),
  });
  return { zion, token: ((await r.json()) as { access_token: string }).access_token };
}

describe("URL previews", () => {
  let site: Server;
  let base: string;
  let image: Buffer;
  let allowed: { zion: TestServer; token: string };
  let strict: { zion: TestServer; token: string };
  let off: { zion: TestServer; token: string };

  before(async () => {
    image = await sharp({ create: { width: 120, height: 60, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer();
    site = createServer((req, res) => {
      if (req.url === "/page") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(`<!doctype html><html><head><title>Ignored title</title>
          <meta property="og:title" content="A &amp; B">
          <meta property="og:description" content="What the page is about">
          <meta property="og:image" content="/pic.png"></head><body>hi</body></html>`);
      } else if (req.url === "/plain") {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html><head><title>Just a title</title><meta name=description content='desc'></head></html>");
      } else if (req.url === "/pic.png") {
        res.writeHead(200, { "content-type": "image/png" });
        res.end(image);
      } else if (req.url === "/elsewhere") {
        const port = (site.address() as AddressInfo).port;
        res.writeHead(302, { location: `http://127.0.0.2:${port}/page` });
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    [allowed, strict, off] = await Promise.all([
      start({ url_preview_enabled: true, url_preview_ip_range_blacklist: BLACKLIST, url_preview_ip_range_whitelist: ["127.0.0.1/32"] }),
      start({ url_preview_enabled: true, url_preview_ip_range_blacklist: BLACKLIST }),
      start({}),
    ]);
  });
  after(async () => {
    await Promise.all([allowed?.zion.stop(), strict?.zion.stop(), off?.zion.stop()]);
    await new Promise<void>((resolve) => site.close(() => resolve()));
  });

  const preview = (s: { zion: TestServer; token: string }, url: string) =>
    fetch(`${s.zion.clientUrl}/_matrix/client/v1/media/preview_url?url=${encodeURIComponent(url)}`, { headers: { authorization: `Bearer ${s.token}` } });

  it("previews a page's Open Graph tags and stores its og:image as media", async () => {
    const r = await preview(allowed, `${base}/page`);
    const j = (await r.json()) as Record<string, unknown>;
    assert.equal(r.status, 200, JSON.stringify(j));
    assert.equal(j["og:title"], "A & B");
    assert.equal(j["og:description"], "What the page is about");
    assert.match(String(j["og:image"]), /^mxc:\/\/zion\.test\//);
    assert.equal(j["og:image:width"], 120);
    assert.equal(j["og:image:height"], 60);
    assert.equal(j["matrix:image:size"], image.length);
    const [, server, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(String(j["og:image"]))!;
    const img = await fetch(`${allowed.zion.clientUrl}/_matrix/client/v1/media/download/${server}/${id}`, { headers: { authorization: `Bearer ${allowed.token}` } });
    assert.deepEqual(Buffer.from(await img.arrayBuffer()), image);
  });

  it("falls back to the title and meta description without Open Graph tags", async () => {
    const j = (await (await preview(allowed, `${base}/plain`)).json()) as Record<string, unknown>;
    assert.deepEqual(j, { "og:title": "Just a title", "og:description": "desc" });
  });

  it("refuses a loopback address the whitelist does not allow with 403 M_FORBIDDEN", async () => {
    const r = await preview(strict, `${base}/page`);
    assert.equal(r.status, 403);
    const j = (await r.json()) as { errcode: string; error: string };
    assert.equal(j.errcode, "M_FORBIDDEN");
    assert.match(j.error, /127\.0\.0\.1 is in ip_range_blacklist/);
  });

  it("refuses a redirect to an address outside the whitelist (each hop is checked)", async () => {
    const r = await preview(allowed, `${base}/elsewhere`);
    assert.equal(r.status, 403);
    assert.match(((await r.json()) as { error: string }).error, /127\.0\.0\.2/);
  });

  it("refuses a URL that is not http(s) with 400 M_INVALID_PARAM", async () => {
    const r = await preview(allowed, "file:///etc/passwd");
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { errcode: string }).errcode, "M_INVALID_PARAM");
  });

  it("answers 404 M_UNRECOGNIZED when url_preview_enabled is off (the default)", async () => {
    const r = await preview(off, `${base}/page`);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { errcode: string }).errcode, "M_UNRECOGNIZED");
  });
});
