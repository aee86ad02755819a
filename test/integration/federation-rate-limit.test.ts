/**
 * rc_federation on every signed federation request, per origin, over real HTTPS: Zion "b" (in-process, its
 * federation listener on 127.0.0.1 with a test-CA certificate, server name "127.0.0.1:PORT") with a small
 * rc_federation (reject_limit 3 in a 60 s window, so the counts cannot drift while the test runs); requests come from
 * FederationClients acting as a.test and c.test, whose X-Matrix signatures b really verifies (its authenticator is
 * given their public keys instead of fetching them).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import type { KeyId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { createAuthenticator } from "../../src/federation/transport/authenticate.js";
import type { FederationClient, FederationRequest } from "../../src/federation/transport/client.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { ipLiteralFederationClient, testHttpsClient } from "../harness/federation-client.js";
import { freePort } from "../harness/ports.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { createTestCa } from "../harness/test-ca.js";

const RC = { window_size: 60_000, sleep_limit: 100, sleep_delay: 0, reject_limit: 3, concurrent: 2 };

describe("rc_federation on every signed federation endpoint, per origin (real HTTPS)", { timeout: 120_000 }, () => {
  let dir: string;
  let b: TestServer;
  let B: ServerName;
  let https: HttpsClient;
  const keys: Record<string, SigningKey> = { "a.test": signingKeyFromSeed("a1", randomBytes(32)), "c.test": signingKeyFromSeed("c1", randomBytes(32)) };
  const clients: Record<string, FederationClient> = {};
  let alice: UserId;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-fedrate-"));
    const ca = await createTestCa(dir);
    const port = await freePort("127.0.0.1");
    B = `127.0.0.1:${port}` as ServerName;
    alice = `@alice:${B}` as UserId;
    const leaf = await ca.issue({ ip: ["127.0.0.1"] });
    const storage = await openSqliteStorage({ path: join(dir, "b.db") });
    await storage.users.createUser({ userId: alice, passwordHash: null, createdTs: Date.now() });
    await storage.users.setProfile(alice, { displayname: "Alice" });
    const auth = createAuthenticator({
      serverName: B,
      keyRing: {
        async getKeyForRequest(server: ServerName, keyId: KeyId) {
          const k = keys[server];
          return k && k.keyId === keyId ? { ok: true as const, key: { publicKey: k.publicKey, usableUntil: Date.now() + 3_600_000 } } : { ok: false as const, reason: "unknown key" };
        },
      },
    });
    b = await startTestServer({
      serverName: B, storage,
      tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
      config: {
        listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", tls: true, resources: [{ names: ["federation", "keys"] }] }],
        rc_federation: RC,
      },
      startOptions: { federationAuth: { authenticate: (req) => auth({ ...req, authorization: req.authorization }) } },
    });
    https = testHttpsClient(ca.caCertPem, { requestTimeoutMs: 10_000 });
    for (const name of ["a.test", "c.test"]) clients[name] = ipLiteralFederationClient(https, name, keys[name]!, ["127.0.0.1/32"]);
  });
  after(async () => {
    await https?.close();
    await b?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** One request's status, errcode and Retry-After (no throwing on refusals). */
  async function send(from: "a.test" | "c.test", r: Omit<FederationRequest, "destination">): Promise<{ status: number; errcode?: string; retryAfter?: string; json: Record<string, unknown> }> {
    const res = await clients[from]!.requestRaw({ destination: B, ...r });
    const json = res.body.length ? (JSON.parse(res.body.toString("utf8")) as Record<string, unknown>) : {};
    const retry = res.headers["retry-after"];
    return {
      status: res.status, json,
      ...(typeof json["errcode"] === "string" ? { errcode: json["errcode"] } : {}),
      ...(typeof retry === "string" ? { retryAfter: retry } : {}),
    };
  }
  const profile = (from: "a.test" | "c.test") => send(from, { method: "GET", path: "/_matrix/federation/v1/query/profile", query: { user_id: alice } });

  it("a.test's 6 concurrent /query/profile requests, past reject_limit 3: 3 answered, 3 refused with 429 M_LIMIT_EXCEEDED and Retry-After", async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => profile("a.test")));
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(ok.length, 3, JSON.stringify(answers));
    assert.equal(refused.length, 3, JSON.stringify(answers));
    for (const a of ok) assert.equal(a.json["displayname"], "Alice");
    for (const a of refused) {
      assert.equal(a.errcode, "M_LIMIT_EXCEEDED");
      assert.match(String(a.json["error"]), /rc_federation\.reject_limit/);
      assert.equal(a.json["retry_after_ms"], RC.window_size);
      assert.equal(a.retryAfter, String(RC.window_size / 1000));
    }
  });

  it("the limit is a.test's on every signed endpoint: its /user/devices request is refused too", async () => {
    const r = await send("a.test", { method: "GET", path: `/_matrix/federation/v1/user/devices/${encodeURIComponent(alice)}` });
    assert.equal(r.status, 429, JSON.stringify(r.json));
    assert.equal(r.errcode, "M_LIMIT_EXCEEDED");
  });

  it("another origin is unaffected: c.test's /query/profile and /user/devices are answered", async () => {
    const p = await profile("c.test");
    assert.equal(p.status, 200, JSON.stringify(p.json));
    assert.equal(p.json["displayname"], "Alice");
    const d = await send("c.test", { method: "GET", path: `/_matrix/federation/v1/user/devices/${encodeURIComponent(alice)}` });
    assert.equal(d.status, 200, JSON.stringify(d.json));
    assert.equal(d.json["user_id"], alice);
  });

  it("PUT /send keeps its own limiter (as Synapse leaves /send out of its servlets' one): a.test's transaction is accepted", async () => {
    const r = await send("a.test", { method: "PUT", path: "/_matrix/federation/v1/send/rate-1", body: { origin: "a.test", origin_server_ts: Date.now(), pdus: [] } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json, { pdus: {} });
  });

  it("unauthenticated endpoints are not counted by origin: a.test's signed GET of /version and /_matrix/key/v2/server are answered", async () => {
    const v = await send("a.test", { method: "GET", path: "/_matrix/federation/v1/version" });
    assert.equal(v.status, 200, JSON.stringify(v.json));
    assert.equal((v.json["server"] as { name?: string }).name, "Zion");
    const k = await send("a.test", { method: "GET", path: "/_matrix/key/v2/server" });
    assert.equal(k.status, 200, JSON.stringify(k.json));
    assert.equal(k.json["server_name"], B);
  });
});
