/**
 * The media repository on a real Zion over loopback (docs/media.md): uploads (small, at the limit, one byte over,
 * a declared type the bytes contradict), identical files stored once, downloads with the spec's headers,
 * thumbnails of a PNG and a JPEG at the requested sizes (checked with sharp), asynchronous uploads, the legacy
 * unauthenticated endpoints, quarantine and deletion. Everything checked on disk and in the server's own store.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { scryptHasher } from "../../src/api/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";

const LIMIT = 1024 * 1024;
const generous = { per_second: 1000, burst_count: 1000 };

/** Every file under a folder (recursively). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer();
const jpeg = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 20, g: 140, b: 90 } } }).jpeg().toBuffer();

describe("media repository", () => {
  let zion: TestServer;
  let token: string;
  let other: string;
  before(async () => {
    zion = await startTestServer({
      config: {
        enable_registration: true,
        enable_registration_without_verification: true,
        rc_registration: generous,
        max_upload_size: LIMIT,
        max_pending_media_uploads: 2,
        dynamic_thumbnails: true,
      },
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
    const register = async (username: string): Promise<string> => {
      const r = await fetch(`${zion.clientUrl}/_matrix/client/v3/register`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: "a password 1", auth: { type: "m.login.dummy" } }),
      });
      assert.equal(r.status, 200, await r.clone().text());
      return ((await r.json()) as { access_token: string }).access_token;
    };
    token = await register("alice");
    other = await register("bob");
  });
  after(() => zion?.stop());

  const store = () => zion.homeserver!.storage.media;
  const mediaDir = () => zion.config.media_store_path;
  const auth = (t = token) => ({ authorization: `Bearer ${t}` });
  const upload = (bytes: Buffer, contentType: string | undefined, query = "", t = token) =>
    fetch(`${zion.clientUrl}/_matrix/media/v3/upload${query}`, {
      method: "POST", headers: { ...auth(t), ...(contentType ? { "content-type": contentType } : {}) }, body: bytes,
    });
  const uploaded = async (bytes: Buffer, contentType: string | undefined, query = ""): Promise<{ server: string; id: string }> => {
    const r = await upload(bytes, contentType, query);
    const body = await r.text();
    assert.equal(r.status, 200, body);
    const uri = (JSON.parse(body) as { content_uri: string }).content_uri;
    const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(uri);
    assert.ok(m, uri);
    return { server: m[1]!, id: m[2]! };
  };
  const download = (server: string, id: string, suffix = "", t: string | null = token) =>
    fetch(`${zion.clientUrl}/_matrix/client/v1/media/download/${server}/${id}${suffix}`, { headers: t ? auth(t) : {} });
  const contentFiles = () => filesUnder(join(mediaDir(), "content"));

  it("stores a small upload and serves it back byte for byte with the spec's headers", async () => {
    const bytes = Buffer.from("hello, media\n");
    const { server, id } = await uploaded(bytes, "text/plain", "?filename=hello.txt");
    assert.equal(server, zion.serverName);
    const r = await download(server, id);
    assert.equal(r.status, 200);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), bytes);
    assert.equal(r.headers.get("content-type"), "text/plain");
    assert.equal(r.headers.get("content-disposition"), 'inline; filename="hello.txt"');
    assert.match(r.headers.get("content-security-policy") ?? "", /sandbox; default-src 'none'/);
    assert.equal(r.headers.get("cross-origin-resource-policy"), "cross-origin");
    const rec = await store().getMedia(server, id);
    assert.equal(rec?.size, bytes.length);
    assert.equal(rec?.uploadName, "hello.txt");
  });

  it("serves an unsafe type as an attachment and escapes a non-ASCII file name per RFC 6266", async () => {
    const { server, id } = await uploaded(Buffer.from("<script>alert(1)</script>"), "text/html", "?filename=" + encodeURIComponent("bad\u00e9.html"));
    const r = await download(server, id);
    assert.equal(r.headers.get("content-disposition"), "attachment; filename*=utf-8''bad%C3%A9.html");
    const named = await download(server, id, '/a%22b.html');
    assert.equal(named.headers.get("content-disposition"), 'attachment; filename="a\\"b.html"');
  });

  it("accepts an upload of exactly max_upload_size bytes", async () => {
    const bytes = Buffer.alloc(LIMIT, 7);
    const { server, id } = await uploaded(bytes, "application/octet-stream");
    const r = await download(server, id);
    assert.equal(Buffer.from(await r.arrayBuffer()).length, LIMIT);
  });

  it("refuses one byte over max_upload_size with 413 M_TOO_LARGE and stores nothing, with or without Content-Length", async () => {
    const filesBefore = contentFiles().length;
    const tmpBefore = filesUnder(join(mediaDir(), "tmp")).length;
    const mediaBefore = (await store().listUserMedia({ userId: (await whoami()).user_id as never, from: 0, limit: 1000, orderBy: "media_id", dir: "f" })).total;
    const over = Buffer.alloc(LIMIT + 1, 9);
    const r = await upload(over, "application/octet-stream");
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as { errcode: string }).errcode, "M_TOO_LARGE");
    // Chunked (no Content-Length): the limit is enforced while streaming.
    const chunked = await fetch(`${zion.clientUrl}/_matrix/media/v3/upload`, {
      method: "POST", headers: { ...auth(), "content-type": "application/octet-stream" }, duplex: "half",
      body: new ReadableStream({ start(c) { for (let i = 0; i < 17; i++) c.enqueue(new Uint8Array(LIMIT / 16)); c.close(); } }),
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal(((await chunked.json()) as { errcode: string }).errcode, "M_TOO_LARGE");
    assert.equal(contentFiles().length, filesBefore);
    assert.equal(filesUnder(join(mediaDir(), "tmp")).length, tmpBefore);
    assert.equal((await store().listUserMedia({ userId: (await whoami()).user_id as never, from: 0, limit: 1000, orderBy: "media_id", dir: "f" })).total, mediaBefore);
  });

  const whoami = async () => (await (await fetch(`${zion.clientUrl}/_matrix/client/v3/account/whoami`, { headers: auth() })).json()) as { user_id: string };

  it("refuses an image/png declaration whose bytes are not a PNG with 400 M_INVALID_PARAM naming Content-Type", async () => {
    const before = contentFiles().length;
    const r = await upload(await jpeg(10, 10), "image/png");
    assert.equal(r.status, 400);
    const j = (await r.json()) as { errcode: string; error: string };
    assert.equal(j.errcode, "M_INVALID_PARAM");
    assert.match(j.error, /Content-Type: declared image\/png, but the bytes are image\/jpeg/);
    const text = await upload(Buffer.from("not an image"), "image/gif");
    assert.equal(text.status, 400);
    assert.equal(contentFiles().length, before);
  });

  it("takes the sniffed type when the upload declares none", async () => {
    const { server, id } = await uploaded(await png(4, 4), undefined);
    assert.equal((await store().getMedia(server, id))?.contentType, "image/png");
  });

  it("stores the same file uploaded twice once on disk, counted per media id, and deletes it with its last id", async () => {
    const bytes = Buffer.from(`same bytes ${Math.random()}`);
    const before = contentFiles().length;
    const a = await uploaded(bytes, "text/plain");
    const b = await uploaded(bytes, "text/plain");
    assert.notEqual(a.id, b.id);
    assert.equal(contentFiles().length, before + 1);
    const sha = (await store().getMedia(a.server, a.id))!.sha256!;
    assert.equal(await store().contentRefs(sha), 2);
    const repo = zion.homeserver!.media;
    assert.equal(await repo.delete(a.server, a.id), true);
    assert.equal(contentFiles().length, before + 1, "the other id still holds the file");
    assert.equal((await download(b.server, b.id)).status, 200);
    assert.equal((await download(a.server, a.id)).status, 404);
    assert.equal(await repo.delete(b.server, b.id), true);
    assert.equal(contentFiles().length, before);
    assert.equal(await store().contentRefs(sha), 0);
  });

  it("answers 404 M_NOT_FOUND for quarantined media", async () => {
    const { server, id } = await uploaded(Buffer.from("to quarantine"), "text/plain");
    assert.equal(await zion.homeserver!.media.quarantine(server, id, "@admin:zion.test"), true);
    const r = await download(server, id);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { errcode: string }).errcode, "M_NOT_FOUND");
  });

  it("thumbnails a PNG and a JPEG to the requested sizes (crop exact, scale inside the box, never upscaled)", async () => {
    const p = await uploaded(await png(1000, 500), "image/png");
    const j = await uploaded(await jpeg(640, 480), "image/jpeg");
    const thumb = async (m: { server: string; id: string }, q: string) => {
      const r = await fetch(`${zion.clientUrl}/_matrix/client/v1/media/thumbnail/${m.server}/${m.id}?${q}`, { headers: auth() });
      assert.equal(r.status, 200, r.status === 200 ? "" : await r.text());
      const bytes = Buffer.from(await r.arrayBuffer());
      const meta = await sharp(bytes).metadata();
      return { type: r.headers.get("content-type"), width: meta.width, height: meta.height, format: meta.format };
    };
    assert.deepEqual(await thumb(p, "width=96&height=96&method=crop"), { type: "image/png", width: 96, height: 96, format: "png" });
    assert.deepEqual(await thumb(p, "width=320&height=240&method=scale"), { type: "image/png", width: 320, height: 160, format: "png" });
    assert.deepEqual(await thumb(j, "width=32&height=32&method=crop"), { type: "image/jpeg", width: 32, height: 32, format: "jpeg" });
    assert.deepEqual(await thumb(j, "width=320&height=320&method=scale"), { type: "image/jpeg", width: 320, height: 240, format: "jpeg" });
    // Larger than the original: not upscaled.
    assert.deepEqual(await thumb(j, "width=2000&height=2000&method=scale"), { type: "image/jpeg", width: 640, height: 480, format: "jpeg" });
    // The second request is served from the cache (one record per size).
    const sha = (await store().getMedia(p.server, p.id))!.sha256!;
    const n = (await store().getThumbnails(sha)).length;
    await thumb(p, "width=96&height=96&method=crop");
    assert.equal((await store().getThumbnails(sha)).length, n);
  });

  it("refuses to thumbnail a file that is not an image with 400 M_UNKNOWN, and bad sizes with M_INVALID_PARAM", async () => {
    const t = await uploaded(Buffer.from("text"), "text/plain");
    const r = await fetch(`${zion.clientUrl}/_matrix/client/v1/media/thumbnail/${t.server}/${t.id}?width=32&height=32`, { headers: auth() });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { errcode: string }).errcode, "M_UNKNOWN");
    const bad = await fetch(`${zion.clientUrl}/_matrix/client/v1/media/thumbnail/${t.server}/${t.id}?width=-1&height=32`, { headers: auth() });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { errcode: string }).errcode, "M_INVALID_PARAM");
  });

  it("refuses downloads without an access token on the authenticated endpoints (401 M_MISSING_TOKEN)", async () => {
    const { server, id } = await uploaded(Buffer.from("secret-ish"), "text/plain");
    const r = await download(server, id, "", null);
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { errcode: string }).errcode, "M_MISSING_TOKEN");
  });

  it("answers new media 404 M_NOT_FOUND on the legacy unauthenticated /_matrix/media/v3 download and thumbnail, as Synapse does", async () => {
    const { server, id } = await uploaded(await png(50, 50), "image/png");
    for (const path of [`download/${server}/${id}`, `download/${server}/${id}/x.png`, `thumbnail/${server}/${id}?width=32&height=32`]) {
      const r = await fetch(`${zion.clientUrl}/_matrix/media/v3/${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(((await r.json()) as { errcode: string }).errcode, "M_NOT_FOUND");
    }
  });

  it("answers /config with m.upload.size on the authenticated and the legacy path", async () => {
    for (const path of ["/_matrix/client/v1/media/config", "/_matrix/media/v3/config"]) {
      const r = await fetch(`${zion.clientUrl}${path}`, { headers: auth() });
      assert.deepEqual(await r.json(), { "m.upload.size": LIMIT });
    }
  });

  it("runs the asynchronous upload flow: create, M_NOT_YET_UPLOADED, upload, M_CANNOT_OVERWRITE_MEDIA, other users refused", async () => {
    const created = await fetch(`${zion.clientUrl}/_matrix/media/v1/create`, { method: "POST", headers: auth() });
    assert.equal(created.status, 200);
    const { content_uri, unused_expires_at } = (await created.json()) as { content_uri: string; unused_expires_at: number };
    assert.ok(unused_expires_at > Date.now());
    const [, server, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(content_uri)!;
    const early = await download(server!, id!, "?timeout_ms=0");
    assert.equal(early.status, 504);
    assert.equal(((await early.json()) as { errcode: string }).errcode, "M_NOT_YET_UPLOADED");
    // A download waiting with timeout_ms gets the file once it arrives.
    const waiting = download(server!, id!, "?timeout_ms=10000");
    const put = (t: string, body: string) => fetch(`${zion.clientUrl}/_matrix/media/v3/upload/${server}/${id}`, {
      method: "PUT", headers: { ...auth(t), "content-type": "text/plain" }, body,
    });
    const foreign = await put(other, "not mine");
    assert.equal(foreign.status, 403);
    assert.equal(((await foreign.json()) as { errcode: string }).errcode, "M_FORBIDDEN");
    const ok = await put(token, "async bytes");
    assert.equal(ok.status, 200, await ok.clone().text());
    const got = await waiting;
    assert.equal(got.status, 200);
    assert.equal(await got.text(), "async bytes");
    const again = await put(token, "overwrite");
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { errcode: string }).errcode, "M_CANNOT_OVERWRITE_MEDIA");
  });

  it("limits pending ids per user to max_pending_media_uploads (429 M_LIMIT_EXCEEDED)", async () => {
    const create = (t: string) => fetch(`${zion.clientUrl}/_matrix/media/v1/create`, { method: "POST", headers: auth(t) });
    assert.equal((await create(other)).status, 200);
    assert.equal((await create(other)).status, 200);
    const third = await create(other);
    assert.equal(third.status, 429);
    assert.equal(((await third.json()) as { errcode: string }).errcode, "M_LIMIT_EXCEEDED");
  });

  it("answers unknown media 404 M_NOT_FOUND and a bad media id 400 M_INVALID_PARAM", async () => {
    const r = await download(zion.serverName, "doesNotExist");
    assert.equal(r.status, 404);
    const bad = await download(zion.serverName, "bad.id");
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { errcode: string }).errcode, "M_INVALID_PARAM");
  });
});
