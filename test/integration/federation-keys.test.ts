/**
 * Remote signing keys and inbound request authentication against real parts: dnsmasq, HTTPS servers on
 * 127.0.3.10-109 with test-CA certificates serving signed key responses, a notary running Zion's own KeyNotary,
 * and the SQLite KeyStore.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/core/clock.js";
import { publicKeyBase64, signJson, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import { MatrixError } from "../../src/core/errors.js";
import type { KeyId, ServerName } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { DEFAULT_IP_RANGE_BLACKLIST, IpRangePolicy, NodeDns, ServerResolver, WellKnownResolver, httpsGetVia } from "../../src/federation/discovery/index.js";
import { KeyRing, type TrustedKeyServer } from "../../src/federation/keys/key-ring.js";
import { KeyNotary } from "../../src/federation/keys/notary.js";
import { HttpsClient } from "../../src/federation/tls/https-client.js";
import { TlsPolicy } from "../../src/federation/tls/policy.js";
import { RecordingTrace } from "../../src/federation/trace.js";
import { createAuthenticator } from "../../src/federation/transport/authenticate.js";
import { FederationClient } from "../../src/federation/transport/client.js";
import { signRequest } from "../../src/federation/transport/x-matrix.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import type { Storage } from "../../src/storage/ports.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { createTestCa, serveHttps, type TestCa, type TestHttpsServer } from "../harness/test-ca.js";

const DAY = 86_400_000;
const sn = (s: string) => s as ServerName;
const newKey = (v: string) => signingKeyFromSeed(v, randomBytes(32));

class FakeClock implements Clock {
  t = Date.now();
  now() { return this.t; }
  async sleep(ms: number) { this.t += ms; }
}

interface Remote {
  name: ServerName;
  key: SigningKey;
  ip: string;
  server?: TestHttpsServer;
  /** What /_matrix/key/v2/server answers. */
  keys: () => JsonObject;
}

function keyResponse(name: string, keys: readonly SigningKey[], opts: { validUntil?: number; old?: Record<string, { key: string; expired_ts: number }>; signWith?: readonly SigningKey[]; serverName?: string } = {}): JsonObject {
  let body: JsonObject = {
    server_name: opts.serverName ?? name,
    valid_until_ts: opts.validUntil ?? Date.now() + DAY,
    verify_keys: Object.fromEntries(keys.map((k) => [k.keyId, { key: publicKeyBase64(k) }])),
    old_verify_keys: opts.old ?? {},
  };
  for (const k of opts.signWith ?? keys) body = signJson(body, name, k);
  return body;
}

describe("remote signing keys and X-Matrix authentication", { timeout: 90_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  let storage: Storage;
  const ours = sn("zion.test");
  const ourKey = newKey("zion1");
  const remotes = new Map<string, Remote>();
  const extra: TestHttpsServer[] = [];
  const clients: HttpsClient[] = [];
  // One block of 25 addresses in 127.0.3.10-109 per run (port 8448 is fixed), so concurrent runs rarely collide.
  let ipNext = 10 + 25 * Math.floor(Math.random() * 4);

  async function addRemote(name: string, keysFor: (r: Remote) => JsonObject, key = newKey("r1")): Promise<Remote> {
    const ip = `127.0.3.${ipNext++}`;
    const r: Remote = { name: sn(name), key, ip, keys: () => keysFor(r) };
    const leaf = await ca.issue({ dns: [name] });
    r.server = await serveHttps(ip, 8448, leaf, (req, res) => {
      if (req.url.startsWith("/_matrix/key/v2/server")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(r.keys()));
      } else {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ errcode: "M_UNRECOGNIZED", error: "no" }));
      }
    });
    remotes.set(name, r);
    return r;
  }

  async function publishDns() {
    const a: Record<string, string[]> = {};
    for (const r of remotes.values()) a[r.name] = [r.ip];
    await dns.setRecords({ a });
  }

  function stack(opts: { clock?: FakeClock; trusted?: TrustedKeyServer[]; storage?: Storage; serverName?: ServerName; key?: SigningKey } = {}) {
    const clock = opts.clock ?? new FakeClock();
    const ipPolicy = new IpRangePolicy(DEFAULT_IP_RANGE_BLACKLIST, ["127.0.3.0/24"]);
    const nodeDns = new NodeDns({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
    const https = new HttpsClient(new TlsPolicy({ customCaPems: [ca.caCertPem] }), { connectTimeoutMs: 2000, requestTimeoutMs: 3000 });
    clients.push(https);
    const resolver = new ServerResolver({ dns: nodeDns, wellKnown: new WellKnownResolver(httpsGetVia(nodeDns, ipPolicy, https), clock, { timeoutMs: 1000 }), clock, ipPolicy });
    const serverName = opts.serverName ?? ours;
    const key = opts.key ?? ourKey;
    const client = new FederationClient({ serverName, signingKey: key, resolver, https });
    const keyRing = new KeyRing({ store: (opts.storage ?? storage).keys, client, clock, own: { serverName, signingKeys: [key] }, trustedKeyServers: opts.trusted ?? [] });
    return { clock, client, keyRing };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-keys-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq();
    storage = await openSqliteStorage({ path: ":memory:" });
    await addRemote("good.test", (r) => keyResponse(r.name, [r.key]));
    await addRemote("forged.test", (r) => keyResponse(r.name, [r.key], { signWith: [newKey("r1")] }));
    await addRemote("liar.test", (r) => keyResponse(r.name, [r.key], { serverName: "good.test" }));
    await addRemote("expired.test", (r) => keyResponse(r.name, [r.key], { validUntil: Date.now() - DAY }));
    const oldKey = newKey("old");
    await addRemote("rotated.test", (r) => keyResponse(r.name, [r.key], { old: { [oldKey.keyId]: { key: publicKeyBase64(oldKey), expired_ts: Date.now() - 10 * DAY } } }));
    await addRemote("slow-keys.test", (r) => keyResponse(r.name, [r.key]));
    await addRemote("behind-notary.test", (r) => keyResponse(r.name, [r.key]));
    await publishDns();
  });
  after(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all([...remotes.values()].map((r) => r.server?.close()));
    await Promise.all(extra.map((s) => s.close()));
    await dns?.stop();
    await storage?.close();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it("fetches keys directly, checks the self-signature and caches them in the KeyStore", async () => {
    const { keyRing } = stack();
    const good = remotes.get("good.test")!;
    const trace = new RecordingTrace();
    const r = await keyRing.getKeyForRequest(good.name, good.key.keyId, trace);
    assert.ok(r.ok, !r.ok ? r.reason : "");
    assert.deepEqual(Buffer.from(r.key.publicKey), Buffer.from(good.key.publicKey));
    const stored = await storage.keys.getServerKeys(good.name, [good.key.keyId]);
    assert.equal(stored.get(good.key.keyId)?.fetchedFrom, "good.test");
    assert.ok(trace.steps.some((s) => s.check === "keys.signature" && s.ok));
    // A fresh key ring with the same store needs no network.
    const hits = good.server!.requests.length;
    const again = await stack().keyRing.getKeyForRequest(good.name, good.key.keyId);
    assert.ok(again.ok);
    assert.equal(good.server!.requests.length, hits);
  });

  it("coalesces concurrent fetches for the same server into one request", async () => {
    const { keyRing } = stack({ storage: await openSqliteStorage({ path: ":memory:" }) });
    const r = remotes.get("slow-keys.test")!;
    const before = r.server!.requests.length;
    const all = await Promise.all(Array.from({ length: 8 }, () => keyRing.getKeyForRequest(r.name, r.key.keyId)));
    assert.ok(all.every((x) => x.ok));
    assert.equal(r.server!.requests.length - before, 1);
  });

  it("refuses a key response whose self-signature is forged", async () => {
    const { keyRing } = stack();
    const r = remotes.get("forged.test")!;
    const trace = new RecordingTrace();
    const out = await keyRing.getKeyForRequest(r.name, r.key.keyId, trace);
    assert.equal(out.ok, false);
    if (!out.ok) assert.match(out.reason, /self-signature .* does not match/);
    assert.ok(trace.steps.some((s) => s.check === "keys.signature" && !s.ok));
  });

  it("refuses a key response for another server name", async () => {
    const { keyRing } = stack();
    const r = remotes.get("liar.test")!;
    const out = await keyRing.getKeyForRequest(r.name, r.key.keyId);
    assert.equal(out.ok, false);
    if (!out.ok) assert.match(out.reason, /server_name is "good.test", expected "liar.test"/);
  });

  it("does not use a key whose valid_until_ts has passed for requests, but does for older events", async () => {
    const { keyRing, clock } = stack();
    const r = remotes.get("expired.test")!;
    const out = await keyRing.getKeyForRequest(r.name, r.key.keyId);
    assert.equal(out.ok, false);
    if (!out.ok) assert.match(out.reason, /valid until .* before/);
    const ev = await keyRing.getKeyForEvent(r.name, r.key.keyId, clock.now() - 2 * DAY);
    assert.ok(ev.ok, "an event sent while the key was valid still verifies");
  });

  it("ignores valid_until_ts for events in room versions 1-4 (no validAt), as the key schema requires", async () => {
    const { keyRing, clock } = stack({ storage: await openSqliteStorage({ path: ":memory:" }) });
    const r = remotes.get("expired.test")!;
    const atNow = await keyRing.getKeyForEvent(r.name, r.key.keyId, clock.now());
    assert.equal(atNow.ok, false, "v5+: an event sent after valid_until_ts is refused");
    const ignored = await keyRing.getKeyForEvent(r.name, r.key.keyId, undefined);
    assert.ok(ignored.ok, "v1-v4: the same key verifies whatever the event's time");
    const batch = await keyRing.getKeysForEvents(r.name, [r.key.keyId], undefined);
    assert.ok(batch.has(r.key.keyId));
  });

  it("caps a key's validity at 7 days after fetching (valid_until_ts further ahead is not trusted longer)", async () => {
    const clock = new FakeClock();
    const r = await addRemote("far-future.test", (x) => keyResponse(x.name, [x.key], { validUntil: Date.now() + 365 * DAY }));
    await publishDns();
    const { keyRing } = stack({ clock, storage: await openSqliteStorage({ path: ":memory:" }) });
    assert.ok((await keyRing.getKeyForRequest(r.name, r.key.keyId)).ok);
    const hits = r.server!.requests.length;
    clock.t += 6 * DAY;
    assert.ok((await keyRing.getKeyForRequest(r.name, r.key.keyId)).ok);
    assert.equal(r.server!.requests.length, hits, "within 7 days: cached");
    clock.t += 2 * DAY;
    assert.ok((await keyRing.getKeyForRequest(r.name, r.key.keyId)).ok);
    assert.equal(r.server!.requests.length, hits + 1, "after 7 days: fetched again");
  });

  it("keeps old_verify_keys for events before expired_ts, never for requests", async () => {
    const { keyRing, clock } = stack();
    const r = remotes.get("rotated.test")!;
    const oldId = Object.keys(r.keys()["old_verify_keys"] as JsonObject)[0] as KeyId;
    const forRequest = await keyRing.getKeyForRequest(r.name, oldId);
    assert.equal(forRequest.ok, false);
    if (!forRequest.ok) assert.match(forRequest.reason, /old key, valid only for events/);
    assert.ok((await keyRing.getKeyForEvent(r.name, oldId, clock.now() - 20 * DAY)).ok);
    assert.equal((await keyRing.getKeyForEvent(r.name, oldId, clock.now() - 5 * DAY)).ok, false);
  });

  describe("through a notary", () => {
    const notaryName = sn("notary.test");
    const notaryKey = newKey("n1");
    let notaryServer: TestHttpsServer;
    let tamper: ((o: JsonObject) => JsonObject) | undefined;

    before(async () => {
      // The notary is Zion's own KeyNotary over its own key ring, behind a plain HTTPS handler.
      const { keyRing, clock } = stack({ serverName: notaryName, key: notaryKey, storage: await openSqliteStorage({ path: ":memory:" }) });
      const notary = new KeyNotary({
        keyRing, clock, serverName: notaryName, signingKeys: [notaryKey],
        ownServerKeys: (now) => keyResponse(notaryName, [notaryKey], { validUntil: now + DAY }),
      });
      const ip = `127.0.3.${ipNext++}`;
      notaryServer = await serveHttps(ip, 8448, await ca.issue({ dns: ["notary.test"] }), (req, res) => {
        void (async () => {
          let body: unknown;
          if (req.method === "POST" && req.url === "/_matrix/key/v2/query") body = await notary.query((JSON.parse(req.body) as { server_keys: Record<string, Record<string, never>> }).server_keys);
          else if (req.method === "GET" && req.url.startsWith("/_matrix/key/v2/query/")) {
            const u = new URL(req.url, "https://notary.test");
            const min = u.searchParams.get("minimum_valid_until_ts");
            body = await notary.query({ [decodeURIComponent(u.pathname.slice("/_matrix/key/v2/query/".length))]: {} }, min !== null ? { minimumValidUntilTs: Number(min) } : {});
          }
          else if (req.url.startsWith("/_matrix/key/v2/server")) body = keyResponse(notaryName, [notaryKey]);
          else body = { errcode: "M_UNRECOGNIZED" };
          if (tamper && (body as { server_keys?: JsonObject[] }).server_keys) {
            const b = body as { server_keys: JsonObject[] };
            b.server_keys = b.server_keys.map(tamper);
          }
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(body));
        })();
      });
      extra.push(notaryServer);
      const a: Record<string, string[]> = { "notary.test": [ip] };
      for (const r of remotes.values()) a[r.name] = [r.ip];
      await dns.setRecords({ a });
    });

    it("fetches keys through a notary with configured verify_keys, checking both signatures", async () => {
      tamper = undefined;
      const trusted = [{ serverName: notaryName, verifyKeys: { [notaryKey.keyId]: publicKeyBase64(notaryKey) } }];
      const { keyRing } = stack({ trusted, storage: await openSqliteStorage({ path: ":memory:" }) });
      const r = remotes.get("behind-notary.test")!;
      const out = await keyRing.fetch(r.name, new RecordingTrace(), trusted);
      assert.ok(out.ok, !out.ok ? out.reason : "");
      assert.equal(out.from, "notary.test");
      assert.deepEqual(out.keys.verifyKeys.map((k) => k.keyId), [r.key.keyId]);
    });

    it("learns the notary's own keys directly when none are configured", async () => {
      tamper = undefined;
      const trusted = [{ serverName: notaryName }];
      const { keyRing } = stack({ trusted, storage: await openSqliteStorage({ path: ":memory:" }) });
      const r = remotes.get("good.test")!;
      const out = await keyRing.getKeyForRequest(r.name, r.key.keyId);
      assert.ok(out.ok, !out.ok ? out.reason : "");
    });

    it("refuses a notary answer signed with a key other than the configured one", async () => {
      tamper = undefined;
      const trusted = [{ serverName: notaryName, verifyKeys: { [notaryKey.keyId]: publicKeyBase64(newKey("n1")) } }];
      const { keyRing } = stack({ trusted, storage: await openSqliteStorage({ path: ":memory:" }) });
      const out = await keyRing.fetch(remotes.get("good.test")!.name, new RecordingTrace(), trusted);
      assert.equal(out.ok, false);
      if (!out.ok) assert.match(out.reason, /notary signature .* does not match/);
    });

    it("refuses keys a notary altered (the origin's self-signature no longer verifies)", async () => {
      const swapped = newKey("r1");
      tamper = (o) => ({ ...o, verify_keys: { [swapped.keyId]: { key: publicKeyBase64(swapped) } } });
      const trusted = [{ serverName: notaryName, verifyKeys: { [notaryKey.keyId]: publicKeyBase64(notaryKey) } }];
      const { keyRing } = stack({ trusted, storage: await openSqliteStorage({ path: ":memory:" }) });
      const out = await keyRing.fetch(remotes.get("good.test")!.name, new RecordingTrace(), trusted);
      tamper = undefined;
      assert.equal(out.ok, false);
      if (!out.ok) assert.match(out.reason, /self-signature/);
    });

    it("asks a notary with GET /_matrix/key/v2/query/{serverName} and minimum_valid_until_ts", async () => {
      tamper = undefined;
      const { client, clock } = stack();
      const seen = notaryServer.requests.length;
      const body = (await client.getKeysViaNotary(notaryName, sn("good.test"), clock.now())) as { server_keys: JsonObject[] };
      const sent = notaryServer.requests.slice(seen).find((r) => r.method === "GET");
      assert.equal(sent?.url, `/_matrix/key/v2/query/good.test?minimum_valid_until_ts=${clock.now()}`);
      assert.deepEqual(body.server_keys.map((k) => k["server_name"]), ["good.test"]);
      assert.ok(((body.server_keys[0]!["signatures"] as JsonObject)["notary.test"] as JsonObject)[notaryKey.keyId], "signed by the notary");
    });

    it("answers POST /_matrix/key/v2/query for itself and for others, adding its signature", async () => {
      tamper = undefined;
      const { client } = stack();
      const body = (await client.queryKeysViaNotary(notaryName, { "good.test": {}, "notary.test": {} })) as { server_keys: JsonObject[] };
      const names = body.server_keys.map((k) => k["server_name"]).sort();
      assert.deepEqual(names, ["good.test", "notary.test"]);
      for (const k of body.server_keys) assert.ok(((k["signatures"] as JsonObject)["notary.test"] as JsonObject)[notaryKey.keyId]);
    });
  });

  describe("inbound X-Matrix authentication", () => {
    const good = () => remotes.get("good.test")!;
    function auth(opts: { whitelist?: string[]; enabled?: boolean } = {}) {
      const { keyRing } = stack();
      return createAuthenticator({
        serverName: ours, keyRing, ...(opts.enabled !== undefined ? { federationEnabled: opts.enabled } : {}),
        ...(opts.whitelist ? { originAllowed: (o: ServerName) => opts.whitelist!.includes(o) } : {}),
      });
    }
    const uri = "/_matrix/federation/v1/send/txn1";
    const content = { origin: "good.test", pdus: [], edus: [] };
    const sign = (over: Partial<{ destination: string; key: SigningKey; origin: string; content: typeof content }> = {}) =>
      signRequest({ method: "PUT", uri, origin: over.origin ?? "good.test", destination: over.destination ?? ours, content: over.content ?? content }, over.key ?? good().key);

    async function rejects(p: Promise<unknown>, errcode: string, pattern: RegExp) {
      await assert.rejects(p, (e: unknown) => {
        assert.ok(e instanceof MatrixError);
        assert.equal(e.errcode, errcode);
        assert.match(e.message, pattern);
        return true;
      });
    }

    it("accepts a correctly signed request and names its origin", async () => {
      const out = await auth()({ method: "PUT", uri, authorization: [sign()], body: content });
      assert.equal(out.origin, "good.test");
    });

    it("accepts a header without destination from older servers when the signature is for us", async () => {
      const h = sign().replace(/,destination="[^"]*"/, "");
      assert.equal((await auth()({ method: "PUT", uri, authorization: h, body: content })).origin, "good.test");
    });

    it("refuses a forged signature", async () => {
      await rejects(auth()({ method: "PUT", uri, authorization: sign({ key: newKey("r1") }), body: content }), "M_UNAUTHORIZED", /signature of good\.test .* does not match/);
    });

    it("refuses a request whose destination is another server", async () => {
      await rejects(auth()({ method: "PUT", uri, authorization: sign({ destination: "other.test" }), body: content }), "M_UNAUTHORIZED", /destination "other\.test" is not this server/);
    });

    it("refuses a request signed for another destination and replayed to us without the destination parameter", async () => {
      const replayed = sign({ destination: "other.test" }).replace(/,destination="[^"]*"/, "");
      await rejects(auth()({ method: "PUT", uri, authorization: replayed, body: content }), "M_UNAUTHORIZED", /not valid for PUT/);
    });

    it("refuses a request whose body or uri was altered", async () => {
      await rejects(auth()({ method: "PUT", uri, authorization: sign(), body: { ...content, pdus: [{}] } }), "M_UNAUTHORIZED", /does not match/);
      await rejects(auth()({ method: "PUT", uri: `${uri}x`, authorization: sign(), body: content }), "M_UNAUTHORIZED", /does not match/);
    });

    it("refuses a request signed with an expired key", async () => {
      const r = remotes.get("expired.test")!;
      const h = signRequest({ method: "GET", uri: "/_matrix/federation/v1/query/profile?user_id=%40a%3Azion.test", origin: r.name, destination: ours }, r.key);
      await rejects(auth()({ method: "GET", uri: "/_matrix/federation/v1/query/profile?user_id=%40a%3Azion.test", authorization: h, body: undefined }), "M_UNAUTHORIZED", /valid until/);
    });

    it("refuses a missing or malformed header", async () => {
      await rejects(auth()({ method: "PUT", uri, authorization: undefined, body: content }), "M_UNAUTHORIZED", /missing Authorization/);
      await rejects(auth()({ method: "PUT", uri, authorization: 'X-Matrix origin="good.test"', body: content }), "M_UNAUTHORIZED", /no key/);
    });

    it("refuses origins outside federation_domain_whitelist with 403, and everything when federation is off", async () => {
      await rejects(auth({ whitelist: ["friend.test"] })({ method: "PUT", uri, authorization: sign(), body: content }), "M_FORBIDDEN", /federation_domain_whitelist/);
      await rejects(auth({ enabled: false })({ method: "PUT", uri, authorization: sign(), body: content }), "M_FORBIDDEN", /disabled/);
    });
  });

  describe("outbound policy", () => {
    it("refuses destinations outside federation_domain_whitelist and everything when federation is off", async () => {
      const { client } = stack();
      const hits = remotes.get("good.test")!.server!.requests.length;
      const base = client as unknown as { opts: ConstructorParameters<typeof FederationClient>[0] };
      const listed = new FederationClient({ ...base.opts, domainWhitelist: ["friend.test"] });
      await assert.rejects(listed.getVersion(sn("good.test")), /not in federation_domain_whitelist/);
      const off = new FederationClient({ ...base.opts, federationEnabled: false });
      await assert.rejects(off.fetchServerKeys(sn("good.test")), /federation is disabled/);
      assert.equal(remotes.get("good.test")!.server!.requests.length, hits, "nothing was sent");
    });
  });
});
