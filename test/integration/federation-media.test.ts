/**
 * Federation media between two Zion processes over loopback (127.0.3.x:8448, names through a real dnsmasq,
 * certificates from the test CA): a file uploaded by a client of a.zion.test is downloaded by a client of
 * b.zion.test through authenticated media (b fetches it over GET /_matrix/federation/v1/media/download, signed,
 * and caches it), and a thumbnail of it likewise; the federation endpoint refuses unsigned requests.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { runZion, type TestServer } from "../harness/server.js";
import { startFederatedZion } from "../harness/federated-zion.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";

const BASE = 110 + 3 * Math.floor(Math.random() * 45);
const [IP_A, IP_B] = [`127.0.3.${BASE}`, `127.0.3.${BASE + 1}`];

describe("federation media between two Zion servers", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  let a: TestServer | undefined;
  let b: TestServer | undefined;

  const zion = (name: string, ip: string): Promise<TestServer> =>
    startFederatedZion(ca, dns, name, ip, { enable_registration: true, enable_registration_without_verification: true });


  async function register(server: TestServer, username: string): Promise<string> {
    const r = await fetch(`${server.clientUrl}/_matrix/client/v3/register`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: "a password 1", auth: { type: "m.login.dummy" } }),
    });
    assert.equal(r.status, 200, await r.clone().text());
    return ((await r.json()) as { access_token: string }).access_token;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-media-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq({ a: { "a.zion.test": [IP_A], "b.zion.test": [IP_B] } });
    [a, b] = await Promise.all([zion("a.zion.test", IP_A), zion("b.zion.test", IP_B)]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("a client of b downloads (and thumbnails) a file uploaded on a through authenticated media", async () => {
    const alice = await register(a!, "alice");
    const bob = await register(b!, "bob");
    const image = await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer();
    const up = await fetch(`${a!.clientUrl}/_matrix/media/v3/upload?filename=pic.png`, {
      method: "POST", headers: { authorization: `Bearer ${alice}`, "content-type": "image/png" }, body: image,
    });
    assert.equal(up.status, 200, await up.clone().text());
    const uri = ((await up.json()) as { content_uri: string }).content_uri;
    const [, server, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(uri)!;
    assert.equal(server, "a.zion.test");

    const got = await fetch(`${b!.clientUrl}/_matrix/client/v1/media/download/${server}/${id}`, { headers: { authorization: `Bearer ${bob}` } });
    const bytes = Buffer.from(await got.arrayBuffer());
    assert.equal(got.status, 200, bytes.toString());
    assert.deepEqual(bytes, image);
    assert.equal(got.headers.get("content-type"), "image/png");
    assert.equal(got.headers.get("content-disposition"), 'inline; filename="pic.png"');

    // The thumbnail is made on b from its cached copy.
    const thumb = await fetch(`${b!.clientUrl}/_matrix/client/v1/media/thumbnail/${server}/${id}?width=96&height=96&method=crop`, { headers: { authorization: `Bearer ${bob}` } });
    assert.equal(thumb.status, 200);
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [96, 96]);
  });

  it("refuses an unsigned federation media request with 401 M_UNAUTHORIZED", async () => {
    const proc = runZion(["debug", "federation-request", "a.zion.test", "/_matrix/federation/v1/media/download/abc", "-c", b!.configPath, "--unsigned"], { cwd: b!.dir });
    assert.equal(await proc.exited(), 1);
    const answer = JSON.parse(proc.output.stdout) as { status: number; errcode: string };
    assert.equal(answer.status, 401);
    assert.equal(answer.errcode, "M_UNAUTHORIZED");
  });

  it("answers 404 M_NOT_FOUND to b's client for media a does not have", async () => {
    const bob = await register(b!, "bob2");
    const r = await fetch(`${b!.clientUrl}/_matrix/client/v1/media/download/a.zion.test/nothingHere`, { headers: { authorization: `Bearer ${bob}` } });
    assert.equal(r.status, 404, await r.clone().text());
    assert.equal(((await r.json()) as { errcode: string }).errcode, "M_NOT_FOUND");
  });
});
