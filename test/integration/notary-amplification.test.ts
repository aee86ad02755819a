/**
 * How much outbound work unauthenticated requests can cause through the key paths: Zion's notary endpoints served
 * by the real HTTP layer on loopback, its key ring over SQLite, dnsmasq, and real HTTPS key servers on 127.0.9.x
 * whose connections are counted. Also X-Matrix authentication, which fetches the origin's keys before anything
 * is verified, and the notary's body limits (checked before the schema).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { keyQueryRoutes } from "../../src/api/federation/keys/index.js";
import { createHttpApp, type HttpApp } from "../../src/api/http/index.js";
import type { Clock } from "../../src/core/clock.js";
import { publicKeyBase64, signJson, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import type { KeyId, ServerName } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { DEFAULT_IP_RANGE_BLACKLIST, IpRangePolicy, NodeDns, ServerResolver, WellKnownResolver, httpsGetVia } from "../../src/federation/discovery/index.js";
import { MIN_REFETCH_MS } from "../../src/federation/keys/fetch-guard.js";
import { KeyRing } from "../../src/federation/keys/key-ring.js";
import { KeyNotary, MAX_FETCHES_IN_FLIGHT, MAX_FETCHES_PER_QUERY, MAX_KEY_IDS_PER_SERVER, MAX_SERVERS } from "../../src/federation/keys/notary.js";
import { HttpsClient } from "../../src/federation/tls/https-client.js";
import { TlsPolicy } from "../../src/federation/tls/policy.js";
import { createAuthenticator } from "../../src/federation/transport/authenticate.js";
import { FederationClient } from "../../src/federation/transport/client.js";
import { signRequest } from "../../src/federation/transport/x-matrix.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import type { Storage } from "../../src/storage/ports.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { createTestCa, serveHttps, type TestCa, type TestHttpsServer } from "../harness/test-ca.js";

class FakeClock implements Clock {
  t = Date.now();
  now(): number { return this.t; }
  async sleep(ms: number): Promise<void> { this.t += ms; }
}

const DAY = 86_400_000;
// One of five blocks of 127.0.9.100-149 per run (port 8448 is fixed).
const BASE = 100 + 10 * Math.floor(Math.random() * 5);
const ip = (n: number) => `127.0.9.${BASE + n}`;

function keyResponse(name: string, key: SigningKey, validUntil: number): JsonObject {
  return signJson({ server_name: name, valid_until_ts: validUntil, verify_keys: { [key.keyId]: { key: publicKeyBase64(key) } } }, name, key);
}

describe("bounded outbound work from unauthenticated key requests (real HTTP, DNS, TLS, SQLite)", { timeout: 90_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  let storage: Storage;
  let https: HttpsClient;
  let app: HttpApp;
  let base: string;
  const clock = new FakeClock();
  let keyRing: KeyRing;
  let client: FederationClient;
  const servers: Record<string, TestHttpsServer> = {};
  const keys: Record<string, SigningKey> = {};
  const notaryName = "notary.test" as ServerName;
  const logLines: Record<string, unknown>[] = [];
  const many = (prefix: string) => Array.from({ length: MAX_SERVERS }, (_, i) => `${prefix}${i}.test`);

  /** A key server for `names` on ip(n): `delayMs` before answering, status 500 when `fail`. */
  async function keyServer(n: number, names: string[], opts: { delayMs?: number; fail?: boolean } = {}): Promise<TestHttpsServer> {
    for (const name of names) keys[name] ??= signingKeyFromSeed("k1", randomBytes(32));
    return serveHttps(ip(n), 8448, await ca.issue({ dns: names }), (req, res) => {
      const name = req.host?.replace(/:8448$/, "") ?? "";
      setTimeout(() => {
        if (opts.fail) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ errcode: "M_UNKNOWN", error: "down" }));
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(keyResponse(name, keys[name]!, Date.now() + DAY)));
      }, opts.delayMs ?? 0);
    });
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-amplify-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq();
    storage = await openSqliteStorage({ path: ":memory:" });
    const a: Record<string, string[]> = { "slow.test": [ip(1)], "down.test": [ip(2)], "origin.test": [ip(3)], "unpublished.test": [ip(4)] };
    for (const name of [...many("a"), ...many("b"), ...many("c"), ...many("d")]) a[name] = [ip(5)];
    await dns.setRecords({ a });
    servers["slow"] = await keyServer(1, ["slow.test"], { delayMs: 300 });
    servers["down"] = await keyServer(2, ["down.test"], { fail: true });
    servers["origin"] = await keyServer(3, ["origin.test"], { delayMs: 300 });
    servers["unpublished"] = await keyServer(4, ["unpublished.test"]);
    servers["many"] = await keyServer(5, [...many("a"), ...many("b"), ...many("c"), ...many("d")], { delayMs: 1000 });

    const ipPolicy = new IpRangePolicy(DEFAULT_IP_RANGE_BLACKLIST, ["127.0.9.0/24"]);
    const nodeDns = new NodeDns({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
    https = new HttpsClient(new TlsPolicy({ customCaPems: [ca.caCertPem] }), { connectTimeoutMs: 3000, requestTimeoutMs: 5000 });
    const resolver = new ServerResolver({ dns: nodeDns, wellKnown: new WellKnownResolver(httpsGetVia(nodeDns, ipPolicy, https), clock, { timeoutMs: 1000 }), clock, ipPolicy });
    const ours = signingKeyFromSeed("n1", randomBytes(32));
    client = new FederationClient({ serverName: notaryName, signingKey: ours, resolver, https });
    keyRing = new KeyRing({ store: storage.keys, client, clock, own: { serverName: notaryName, signingKeys: [ours] } });
    const keyNotary = new KeyNotary({ keyRing, clock, serverName: notaryName, signingKeys: [ours], ownServerKeys: (now) => keyResponse(notaryName, ours, now + DAY) });
    app = createHttpApp({ routes: keyQueryRoutes, deps: { keyNotary }, logger: pino({ level: "info" }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) }) });
    const bound = await app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${bound.port}`;
  });
  after(async () => {
    await app?.close({ graceMs: 1000 });
    await https?.close();
    await Promise.all(Object.values(servers).map((s) => s.close()));
    await dns?.stop();
    await storage?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (server: string, query = "") => {
    const r = await fetch(`${base}/_matrix/key/v2/query/${server}${query}`);
    return { status: r.status, body: (await r.json()) as { server_keys?: JsonObject[]; errcode?: string; error?: string } };
  };
  const post = async (body: unknown) => {
    const r = await fetch(`${base}/_matrix/key/v2/query`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as { server_keys?: JsonObject[]; errcode?: string; error?: string } };
  };
  const served = (s: string) => servers[s]!.requests.length;

  it("makes one outbound fetch for 5 concurrent GETs and 3 concurrent POSTs about the same server", async () => {
    const c0 = servers["slow"]!.connections();
    const r0 = served("slow");
    const answers = await Promise.all([
      ...Array.from({ length: 5 }, () => get("slow.test")),
      ...Array.from({ length: 3 }, () => post({ server_keys: { "slow.test": {} } })),
    ]);
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.deepEqual(a.body.server_keys?.map((k) => k["server_name"]), ["slow.test"]);
    }
    assert.equal(servers["slow"]!.connections() - c0, 1, "one connection to the key server");
    assert.equal(served("slow") - r0, 1, "one request to the key server");
  });

  it("answers from its cache without fetching again within the refetch interval, even when the cache falls short", async () => {
    const r0 = served("slow");
    const later = clock.now() + 30 * DAY;
    const ask = () => get("slow.test", `?minimum_valid_until_ts=${later}`);
    const cached = (a: Awaited<ReturnType<typeof ask>>) => assert.deepEqual(a.body.server_keys?.map((k) => k["server_name"]), ["slow.test"], "the cached response");
    for (const a of await Promise.all(Array.from({ length: 4 }, ask))) cached(a);
    assert.equal(served("slow") - r0, 0, "the last fetch was less than MIN_REFETCH_MS ago");
    clock.t += MIN_REFETCH_MS;
    for (const a of await Promise.all(Array.from({ length: 4 }, ask))) cached(a);
    assert.equal(served("slow") - r0, 1, "then one fetch for the unsatisfied criteria, shared by all four");
    cached(await ask());
    assert.equal(served("slow") - r0, 1, "and none more within MIN_REFETCH_MS");
  });

  it("backs off a key server that keeps failing: 30 s, then 60 s, then 120 s", async () => {
    const r0 = served("down");
    const ask = async () => assert.deepEqual((await get("down.test")).body.server_keys, []);
    await ask();
    await Promise.all([ask(), ask(), ask()]);
    assert.equal(served("down") - r0, 1);
    clock.t += MIN_REFETCH_MS;
    await ask();
    assert.equal(served("down") - r0, 2);
    clock.t += MIN_REFETCH_MS;
    await ask();
    assert.equal(served("down") - r0, 2, "the second failure doubled the wait");
    clock.t += MIN_REFETCH_MS;
    await ask();
    assert.equal(served("down") - r0, 3);
    clock.t += 2 * MIN_REFETCH_MS;
    await ask();
    assert.equal(served("down") - r0, 3, "the third failure doubled it again");
  });

  it(`fetches at most ${MAX_FETCHES_PER_QUERY} servers for a POST naming ${MAX_SERVERS}, and answers the rest from its cache`, async () => {
    const r0 = served("many");
    const a = await post({ server_keys: Object.fromEntries(many("a").map((s) => [s, {}])) });
    assert.equal(a.status, 200);
    assert.equal(served("many") - r0, MAX_FETCHES_PER_QUERY);
    assert.equal(a.body.server_keys?.length, MAX_FETCHES_PER_QUERY, "only the fetched servers are known");
  });

  it(`keeps at most ${MAX_FETCHES_IN_FLIGHT} notary fetches in flight across concurrent POSTs`, async () => {
    const r0 = served("many");
    const answers = await Promise.all(["b", "c", "d"].map((p) => post({ server_keys: Object.fromEntries(many(p).map((s) => [s, {}])) })));
    for (const a of answers) assert.equal(a.status, 200);
    assert.equal(served("many") - r0, MAX_FETCHES_IN_FLIGHT, `3 x ${MAX_FETCHES_PER_QUERY} wanted, ${MAX_FETCHES_IN_FLIGHT} allowed at once`);
  });

  it("makes one outbound fetch for 8 concurrent X-Matrix requests from an origin whose keys are unknown", async () => {
    const authenticate = createAuthenticator({ serverName: notaryName, keyRing });
    const key = keys["origin.test"]!;
    const uri = "/_matrix/federation/v1/query/profile?user_id=%40a%3Anotary.test";
    const header = signRequest({ method: "GET", uri, origin: "origin.test", destination: notaryName }, key);
    const c0 = servers["origin"]!.connections();
    const out = await Promise.all(Array.from({ length: 8 }, () => authenticate({ method: "GET", uri, authorization: header, body: undefined })));
    assert.ok(out.every((o) => o.origin === "origin.test"));
    assert.equal(servers["origin"]!.connections() - c0, 1);
    // A made-up key id from the same origin right after: no new fetch, refused from what the last fetch stored.
    const bogus = signRequest({ method: "GET", uri, origin: "origin.test", destination: notaryName }, signingKeyFromSeed("other", randomBytes(32)));
    await assert.rejects(Promise.all(Array.from({ length: 5 }, () => authenticate({ method: "GET", uri, authorization: bogus, body: undefined }))), /origin\.test has no key ed25519:other/);
    assert.equal(servers["origin"]!.connections() - c0, 1);
  });

  describe("the key ring's refetch rule (key-ring.ts step 4)", () => {
    it("does not ask a server again within MIN_REFETCH_MS for a key its fresh answer lacked, and does after it", async () => {
      const ring = new KeyRing({ store: (await openSqliteStorage({ path: ":memory:" })).keys, client, clock, own: { serverName: notaryName, signingKeys: [] } });
      const server = "unpublished.test" as ServerName;
      const r0 = served("unpublished");
      const first = await ring.getKeyForRequest(server, "ed25519:missing" as KeyId);
      assert.equal(first.ok, false);
      if (!first.ok) assert.match(first.reason, /unpublished\.test has no key ed25519:missing/);
      assert.equal(served("unpublished") - r0, 1);
      for (const id of ["ed25519:missing", "ed25519:other"]) {
        const again = await ring.getKeyForRequest(server, id as KeyId);
        assert.equal(again.ok, false);
        if (!again.ok) assert.match(again.reason, new RegExp(`has no key ${id}`));
      }
      assert.ok((await ring.getKeyForRequest(server, keys["unpublished.test"]!.keyId as KeyId)).ok, "the key it does publish is served from the cache");
      assert.equal(served("unpublished") - r0, 1, "no fetch within MIN_REFETCH_MS");
      clock.t += MIN_REFETCH_MS - 1;
      await ring.getKeyForRequest(server, "ed25519:missing" as KeyId);
      assert.equal(served("unpublished") - r0, 1, "still none 1 ms before");
      clock.t += 1;
      await ring.getKeyForRequest(server, "ed25519:missing" as KeyId);
      assert.equal(served("unpublished") - r0, 2, "asked again once MIN_REFETCH_MS has passed");
    });

    it("says why a failed server is not asked again, and keeps its fetch state bounded", async () => {
      const ring = new KeyRing({ store: (await openSqliteStorage({ path: ":memory:" })).keys, client, clock, own: { serverName: notaryName, signingKeys: [] }, guard: { maxTracked: 20 } });
      const r0 = served("down");
      clock.t += 3600_000; // past the back-off of the earlier test's key ring (a different ring: its own state)
      const first = await ring.getKeyForRequest("down.test" as ServerName, "ed25519:k1" as KeyId);
      assert.equal(first.ok, false);
      if (!first.ok) assert.match(first.reason, /answered 500/);
      const second = await ring.getKeyForRequest("down.test" as ServerName, "ed25519:k1" as KeyId);
      assert.equal(second.ok, false);
      if (!second.ok) assert.match(second.reason, /the last fetch of the keys of down\.test failed \(.*answered 500.*\); not retried before/);
      assert.equal(served("down") - r0, 1);
      // Invented names (each a real DNS lookup answered NXDOMAIN) do not grow the state past its cap.
      for (let i = 0; i < 60; i++) await ring.getKeyForRequest(`invented${i}.test` as ServerName, "ed25519:k1" as KeyId);
      assert.equal(ring.trackedFetches, 20);
    });
  });

  it("answers 500 M_UNKNOWN, and logs it, when a key response it holds cannot be re-served (never a 400 to the asker)", async () => {
    // A response stored by an older version (before outbound replies were parsed strictly), with a float in it.
    const bad = keyResponse("stored.test", signingKeyFromSeed("k1", randomBytes(32)), clock.now() + DAY);
    await storage.keys.upsertServerKeys([{
      serverName: "stored.test" as ServerName, keyId: "ed25519:k1" as KeyId, publicKey: "x", validUntilTs: clock.now() + DAY, expiredTs: null,
      fetchedTs: clock.now(), fetchedFrom: "stored.test" as ServerName, keyJson: { ...bad, extra: 1.5 },
    }]);
    const r = await get("stored.test");
    assert.equal(r.status, 500);
    assert.equal(r.body.errcode, "M_UNKNOWN");
    assert.match(r.body.error ?? "", /internal server error \(request /);
    const logged = logLines.find((l) => l["msg"] === "unhandled error");
    assert.ok(logged, "the failure is logged");
    assert.match(JSON.stringify(logged["err"]), /re-serving the cached key responses of stored\.test/);
  });

  describe("body limits of POST /_matrix/key/v2/query (before the schema)", () => {
    it(`refuses more than ${MAX_SERVERS} servers with M_TOO_LARGE naming the limit, even when the entries are malformed`, async () => {
      const body = { server_keys: Object.fromEntries(Array.from({ length: MAX_SERVERS + 1 }, (_, i) => [`s${i}.test`, "not an object"])) };
      const r = await post(body);
      assert.equal(r.status, 413);
      assert.equal(r.body.errcode, "M_TOO_LARGE");
      assert.match(r.body.error ?? "", new RegExp(`${MAX_SERVERS + 1} servers, over the limit of ${MAX_SERVERS}`));
    });

    it(`refuses more than ${MAX_KEY_IDS_PER_SERVER} key ids for one server`, async () => {
      const ids = Object.fromEntries(Array.from({ length: MAX_KEY_IDS_PER_SERVER + 1 }, (_, i) => [`ed25519:k${i}`, {}]));
      const r = await post({ server_keys: { "slow.test": ids } });
      assert.equal(r.status, 413);
      assert.match(r.body.error ?? "", new RegExp(`server_keys\\.slow\\.test names ${MAX_KEY_IDS_PER_SERVER + 1} key ids, over the limit of ${MAX_KEY_IDS_PER_SERVER}`));
    });

    it("refuses a body over 16 KiB before parsing it (the probe's 1 MiB of key ids)", async () => {
      const ids: Record<string, object> = {};
      for (let i = 0; i < 100_000; i++) ids[`ed25519:${i}`] = {};
      const text = JSON.stringify({ server_keys: { "slow.test": ids } });
      assert.ok(text.length > 1_000_000);
      const r = await post(text);
      assert.equal(r.status, 413);
      assert.equal(r.body.errcode, "M_TOO_LARGE");
      assert.match(r.body.error ?? "", /limit of 16384 bytes/);
    });

    it("still validates the shape of a body within the limits (M_BAD_JSON naming the field)", async () => {
      const r = await post({ server_keys: { "slow.test": { "ed25519:a": { minimum_valid_until_ts: "soon" } } } });
      assert.equal(r.status, 400);
      assert.equal(r.body.errcode, "M_BAD_JSON");
      assert.match(r.body.error ?? "", /body\.server_keys\.slow\.test\.ed25519:a\.minimum_valid_until_ts/);
    });
  });
});
