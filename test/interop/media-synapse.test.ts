/**
 * Authenticated media between Zion and the pinned Synapse (docs/media.md), over real TLS with certificates from the
 * test CA, both named by IP literal on 127.0.17.40-41: a file uploaded on one server is downloaded by a client of
 * the other through `/_matrix/client/v1/media/download`, which makes that server fetch it over federation
 * (`/_matrix/federation/v1/media/download`, a multipart answer) and cache it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestServer } from "../harness/server.js";
import { startSynapseAndZion } from "../harness/synapse-and-zion.js";
import type { RegisteredUser, SynapseHandle } from "../harness/synapse.js";

const SYNAPSE_HOST = "127.0.17.40";
const ZION_HOST = "127.0.17.41";

describe("authenticated media between Zion and Synapse", { timeout: 300_000 }, () => {
  let dir: string;
  let synapse: SynapseHandle | undefined;
  let zion: TestServer | undefined;
  let zionName: string;
  let bob: RegisteredUser;
  let aliceToken: string;

  const upload = async (base: string, token: string, bytes: Buffer, type: string): Promise<string> => {
    const r = await fetch(`${base}/_matrix/media/v3/upload?filename=file.bin`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": type }, body: bytes });
    const body = (await r.json()) as { content_uri?: string };
    assert.equal(r.status, 200, JSON.stringify(body));
    return body.content_uri!;
  };
  const download = async (base: string, token: string, mxc: string): Promise<{ status: number; type: string | null; bytes: Buffer }> => {
    const [server, id] = mxc.slice("mxc://".length).split("/");
    const r = await fetch(`${base}/_matrix/client/v1/media/download/${encodeURIComponent(server!)}/${id}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, type: r.headers.get("content-type"), bytes: Buffer.from(await r.arrayBuffer()) };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zion-media-synapse-"));
    ({ synapse, zion, zionName } = await startSynapseAndZion({ dir, synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.17.0/24", zionFederationResources: ["federation", "keys", "media"] }));
    console.log(`# Synapse ${synapse.version}`);
    bob = await synapse.registerUser({ username: "bob" });
    const reg = await fetch(`${zion.clientUrl}/_matrix/client/v3/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "alice", password: "pw-123456", auth: { type: "m.login.dummy" } }) });
    const regBody = (await reg.json()) as { access_token?: string };
    assert.equal(reg.status, 200, JSON.stringify(regBody));
    aliceToken = regBody.access_token!;
  });

  after(async () => {
    await Promise.all([synapse?.stop(), zion?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a file uploaded on Zion is downloaded byte for byte by a Synapse user", async () => {
    const bytes = randomBytes(300_000);
    const mxc = await upload(zion!.clientUrl!, aliceToken, bytes, "application/octet-stream");
    assert.ok(mxc.startsWith(`mxc://${zionName}/`), mxc);
    const got = await download(synapse!.clientUrl, bob.accessToken, mxc);
    assert.equal(got.status, 200, got.bytes.toString("utf8", 0, 300));
    assert.ok(got.bytes.equals(bytes), `${got.bytes.length} bytes back of ${bytes.length}`);
    assert.equal(got.type, "application/octet-stream");
    const again = await download(synapse!.clientUrl, bob.accessToken, mxc);
    assert.ok(again.bytes.equals(bytes), "served again from Synapse's cache");
  });

  it("a file uploaded on Synapse is downloaded byte for byte by a Zion user, and unknown remote media is 404", async () => {
    const bytes = Buffer.from(`hello from synapse ${randomBytes(8).toString("hex")}\n`.repeat(2000));
    const mxc = await upload(synapse!.clientUrl, bob.accessToken, bytes, "text/plain");
    assert.ok(mxc.startsWith(`mxc://${synapse!.serverName}/`), mxc);
    const got = await download(zion!.clientUrl!, aliceToken, mxc);
    assert.equal(got.status, 200, got.bytes.toString("utf8", 0, 300));
    assert.ok(got.bytes.equals(bytes), `${got.bytes.length} bytes back of ${bytes.length}`);
    assert.match(got.type ?? "", /^text\/plain/);
    const missing = await download(zion!.clientUrl!, aliceToken, `mxc://${synapse!.serverName}/NoSuchMediaHere`);
    assert.equal(missing.status, 404);
  });
});
