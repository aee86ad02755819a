/**
 * Authenticated media between Zion and the pinned Synapse (docs/media.md), over real TLS with certificates from the
 * test CA, both named by IP literal on 127.0.17.40-41: a file uploaded on one server is downloaded by a client of
 * the other through `/_matrix/client/v1/media/download`, which makes that server fetch it over federation
 * (`/_matrix/federation/v1/media/download`, a multipart answer) and cache it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { synapseAndZionSuite } from "../harness/synapse-and-zion-suite.js";

const SYNAPSE_HOST = "127.0.17.40";
const ZION_HOST = "127.0.17.41";

describe("authenticated media between Zion and Synapse", { timeout: 300_000 }, () => {
  const t = synapseAndZionSuite({ prefix: "zion-media-synapse-", synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.17.0/24", zionFederationResources: ["federation", "keys", "media"] });

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

  it("a file uploaded on Zion is downloaded byte for byte by a Synapse user", async () => {
    const bytes = randomBytes(300_000);
    const mxc = await upload(t.zionServer.clientUrl!, t.alice.token, bytes, "application/octet-stream");
    assert.ok(mxc.startsWith(`mxc://${t.zionName}/`), mxc);
    const got = await download(t.synapse.clientUrl, t.bob.token, mxc);
    assert.equal(got.status, 200, got.bytes.toString("utf8", 0, 300));
    assert.ok(got.bytes.equals(bytes), `${got.bytes.length} bytes back of ${bytes.length}`);
    assert.equal(got.type, "application/octet-stream");
    const again = await download(t.synapse.clientUrl, t.bob.token, mxc);
    assert.ok(again.bytes.equals(bytes), "served again from Synapse's cache");
  });

  it("a file uploaded on Synapse is downloaded byte for byte by a Zion user, and unknown remote media is 404", async () => {
    const bytes = Buffer.from(`hello from synapse ${randomBytes(8).toString("hex")}\n`.repeat(2000));
    const mxc = await upload(t.synapse.clientUrl, t.bob.token, bytes, "text/plain");
    assert.ok(mxc.startsWith(`mxc://${t.synapse.serverName}/`), mxc);
    const got = await download(t.zionServer.clientUrl!, t.alice.token, mxc);
    assert.equal(got.status, 200, got.bytes.toString("utf8", 0, 300));
    assert.ok(got.bytes.equals(bytes), `${got.bytes.length} bytes back of ${bytes.length}`);
    assert.match(got.type ?? "", /^text\/plain/);
    const missing = await download(t.zionServer.clientUrl!, t.alice.token, `mxc://${t.synapse.serverName}/NoSuchMediaHere`);
    assert.equal(missing.status, 404);
  });
});
