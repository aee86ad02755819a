/**
 * The per-user endpoints of the client API on a real Zion over loopback, on SQLite and PostgreSQL: keys (upload,
 * query, claim, changes, cross-signing, signatures), to-device, key backup, account data, profile, filters,
 * capabilities, TURN, thirdparty and 3pid. Bad requests get their status and errcode and write nothing (checked in
 * the server's own store); claims racing over several connections hand out each one-time key once.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { scryptHasher } from "../../src/api/index.js";
import type { Clock } from "../../src/core/clock.js";
import { publicKeyBase64, signJson, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import type { RoomId, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { backendDatabases } from "../harness/postgres.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { httpCall, type Reply } from "../harness/http-get.js";

let now = 1_764_000_000_000;
// Time stands still for the routes (TURN expiry); sleeps are real but short, so the federation sender (which now
// queues m.direct_to_device EDUs for the remote recipients below) waits instead of spinning.
const clock: Clock = { now: () => now, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 200))) };
const PASSWORD = "correct horse 1";
const TURN_SECRET = "turn shared secret";
const generous = { per_second: 1000, burst_count: 1000 };

const databases = backendDatabases("zion_e2ee");
after(() => databases.stop());

const key = (): SigningKey => signingKeyFromSeed("k", randomBytes(32));
const deviceKey = (deviceId: string): SigningKey => signingKeyFromSeed(deviceId, randomBytes(32));

for (const backend of ["sqlite", "postgres"] as const)
describe(`client API per-user endpoints (${backend})`, () => {
  let zion: TestServer;
  const profileCalls: string[] = [];
  before(async () => {
    zion = await startTestServer({
      config: {
        ...(await databases.config(backend)),
        enable_registration: true,
        enable_registration_without_verification: true,
        rc_login: { address: generous, account: generous, failed_attempts: generous },
        rc_registration: generous,
        turn_uris: ["turn:turn.zion.test:3478?transport=udp"],
        turn_shared_secret: TURN_SECRET,
        turn_user_lifetime: "1h",
      },
      startOptions: {
        clock,
        passwordHasher: scryptHasher({ ln: 10 }),
        profileChanges: { profileChanged: async (u, p) => void profileCalls.push(`${u}=${p.displayname ?? ""}|${p.avatarUrl ?? ""}`) },
      },
    });
  });
  after(() => zion?.stop());

  const store = () => zion.homeserver!.storage;
  const call = (method: string, path: string, body?: unknown, token?: string): Promise<Reply> => {
    const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const framing = text === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) };
    return httpCall(`${zion.clientUrl}${path}`, { method, headers: { ...framing, ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(text !== undefined ? { body: text } : {}) });
  };
  const ok = async (p: Promise<Reply>): Promise<Record<string, unknown>> => {
    const r = await p;
    assert.equal(r.status, 200, r.body);
    return r.json();
  };
  const expectError = async (p: Promise<Reply>, status: number, errcode: string, mentions?: RegExp): Promise<Record<string, unknown>> => {
    const r = await p;
    assert.equal(r.status, status, r.body);
    const j = r.json();
    assert.equal(j["errcode"], errcode, r.body);
    assert.equal(typeof j["error"], "string");
    if (mentions) assert.match(String(j["error"]), mentions);
    return j;
  };
  interface Session { userId: UserId; deviceId: string; token: string }
  let n = 0;
  const register = async (name = `u${++n}`): Promise<Session> => {
    const j = await ok(call("POST", "/_matrix/client/v3/register", { username: name, password: PASSWORD, auth: { type: "m.login.dummy" } }));
    return { userId: j["user_id"] as UserId, deviceId: String(j["device_id"]), token: String(j["access_token"]) };
  };
  const signedDeviceKeys = (s: Session, k: SigningKey): JsonObject =>
    signJson({ user_id: s.userId, device_id: s.deviceId, algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"], keys: { [`ed25519:${s.deviceId}`]: publicKeyBase64(k), [`curve25519:${s.deviceId}`]: "curve" } }, s.userId, k);
  const otks = (count: number, from = 0): Record<string, JsonObject> =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`signed_curve25519:AAAA${String(from + i).padStart(4, "0")}`, { key: `k${from + i}`, signatures: {} }]));
  const crossKey = (s: Session, usage: string, k: SigningKey, signer?: SigningKey): JsonObject => {
    const obj: JsonObject = { user_id: s.userId, usage: [usage], keys: { [`ed25519:${publicKeyBase64(k)}`]: publicKeyBase64(k) } };
    return signer ? signJson(obj, s.userId, signingKeyFromSeedOf(signer)) : obj;
  };
  // signJson names the key ed25519:<version>; a cross-signing signature is under ed25519:<public key>.
  const signingKeyFromSeedOf = (k: SigningKey): SigningKey => ({ ...k, keyId: `ed25519:${publicKeyBase64(k)}` }) as SigningKey;

  describe("POST /keys/upload", () => {
    it("stores self-signed device keys, one-time and fallback keys and returns the counts", async () => {
      const a = await register();
      const k = deviceKey(a.deviceId);
      const j = await ok(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: signedDeviceKeys(a, k), one_time_keys: otks(3), fallback_keys: { "signed_curve25519:FB": { key: "fb", fallback: true } } }, a.token));
      assert.deepEqual(j, { one_time_key_counts: { signed_curve25519: 3 } });
      assert.deepEqual(await store().e2ee.unusedFallbackKeyTypes(a.userId, a.deviceId), ["signed_curve25519"]);
      assert.deepEqual(await ok(call("POST", "/_matrix/client/v3/keys/upload", {}, a.token)), { one_time_key_counts: { signed_curve25519: 3 } }, "an empty upload reports the counts");
    });

    it("refuses device keys not self-signed, of another device or user, or without the ed25519 key: 400 M_INVALID_PARAM, nothing written", async () => {
      const a = await register();
      const k = deviceKey(a.deviceId);
      const good = signedDeviceKeys(a, k);
      const forged = { ...good, keys: { ...(good["keys"] as JsonObject), [`curve25519:${a.deviceId}`]: "changed" } };
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: forged, one_time_keys: otks(2) }, a.token), 400, "M_INVALID_PARAM", /device_keys\.signatures/);
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: signedDeviceKeys(a, deviceKey("x")) }, a.token), 400, "M_INVALID_PARAM", /signatures/);
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: { ...good, device_id: "OTHER" } }, a.token), 400, "M_INVALID_PARAM", /device_keys\.device_id/);
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: { ...good, user_id: "@else:zion.test" } }, a.token), 400, "M_INVALID_PARAM", /device_keys\.user_id/);
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: { ...good, keys: {} } }, a.token), 400, "M_INVALID_PARAM", /device_keys\.keys/);
      assert.equal((await store().e2ee.getDeviceKeys([{ userId: a.userId, deviceIds: [] }])).size, 0);
      assert.deepEqual(await store().e2ee.oneTimeKeyCounts(a.userId, a.deviceId), {});
    });

    it("refuses wrong types (M_BAD_JSON), bad JSON (M_NOT_JSON), big bodies (413), too many keys, a changed one-time key, and bogus tokens", async () => {
      const a = await register();
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { one_time_keys: [] }, a.token), 400, "M_BAD_JSON", /one_time_keys/);
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: { user_id: 1 } }, a.token), 400, "M_BAD_JSON", /device_keys/);
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", "{oops", a.token), 400, "M_NOT_JSON");
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { one_time_keys: { "signed_curve25519:x": "y".repeat(600_000) } }, a.token), 413, "M_TOO_LARGE");
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { one_time_keys: otks(1001) }, a.token), 400, "M_INVALID_PARAM", /1000/);
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { one_time_keys: { nocolon: { key: "x" } } }, a.token), 400, "M_INVALID_PARAM", /one_time_keys/);
      await ok(call("POST", "/_matrix/client/v3/keys/upload", { one_time_keys: otks(1) }, a.token));
      const changed = { ...otks(1, 5), "signed_curve25519:AAAA0000": { key: "other" } };
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", { one_time_keys: changed }, a.token), 400, "M_INVALID_PARAM", /AAAA0000/);
      assert.deepEqual(await store().e2ee.oneTimeKeyCounts(a.userId, a.deviceId), { signed_curve25519: 1 }, "AAAA0005 of the refused upload was not stored");
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", {}, "zat_bogus"), 401, "M_UNKNOWN_TOKEN");
      await expectError(call("POST", "/_matrix/client/v3/keys/upload", {}), 401, "M_MISSING_TOKEN");
    });
  });

  describe("POST /keys/query, /keys/claim, GET /keys/changes", () => {
    it("answers device keys with display names, cross-signing keys (user-signing only to oneself) and failures for other servers", async () => {
      const a = await register();
      const b = await register();
      await ok(call("PUT", `/_matrix/client/v3/devices/${a.deviceId}`, { display_name: "A's laptop" }, a.token));
      const dk = signedDeviceKeys(a, deviceKey(a.deviceId));
      await ok(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: dk }, a.token));
      const master = key();
      await ok(call("POST", "/_matrix/client/v3/keys/device_signing/upload", {
        master_key: crossKey(a, "master", master),
        self_signing_key: crossKey(a, "self_signing", key(), master),
        user_signing_key: crossKey(a, "user_signing", key(), master),
      }, a.token));
      const q = { device_keys: { [a.userId]: [], "@someone:remote.test": [] } };
      const byB = await ok(call("POST", "/_matrix/client/v3/keys/query", q, b.token));
      const got = (byB["device_keys"] as Record<string, Record<string, JsonObject>>)[a.userId]![a.deviceId]!;
      assert.deepEqual(got["unsigned"], { device_display_name: "A's laptop" });
      assert.deepEqual({ ...got, unsigned: undefined }, { ...dk, unsigned: undefined });
      assert.ok((byB["master_keys"] as JsonObject)[a.userId]);
      assert.ok((byB["self_signing_keys"] as JsonObject)[a.userId]);
      assert.equal((byB["user_signing_keys"] as JsonObject)[a.userId], undefined, "another user's user-signing key is private");
      assert.ok((byB["failures"] as JsonObject)["remote.test"]);
      const byA = await ok(call("POST", "/_matrix/client/v3/keys/query", { device_keys: { [a.userId]: [a.deviceId, "NOPE"] } }, a.token));
      assert.deepEqual(Object.keys((byA["device_keys"] as Record<string, JsonObject>)[a.userId]!), [a.deviceId]);
      assert.ok((byA["user_signing_keys"] as JsonObject)[a.userId]);
      await expectError(call("POST", "/_matrix/client/v3/keys/query", { device_keys: { [a.userId]: "all" } }, a.token), 400, "M_BAD_JSON");
      await expectError(call("POST", "/_matrix/client/v3/keys/query", {}, a.token), 400, "M_BAD_JSON", /device_keys/);
      await expectError(call("POST", "/_matrix/client/v3/keys/query", { device_keys: { "not a user": [] } }, a.token), 400, "M_INVALID_PARAM");
    });

    it("claims each one-time key once, then the fallback key; unknown devices are left out", async () => {
      const a = await register();
      const b = await register();
      await ok(call("POST", "/_matrix/client/v3/keys/upload", { one_time_keys: otks(2), fallback_keys: { "signed_curve25519:FB": { key: "fb" } } }, a.token));
      const claim = { one_time_keys: { [a.userId]: { [a.deviceId]: "signed_curve25519", NOPE: "signed_curve25519" } } };
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const j = await ok(call("POST", "/_matrix/client/v3/keys/claim", claim, b.token));
        const mine = (j["one_time_keys"] as Record<string, Record<string, JsonObject>>)[a.userId]!;
        assert.deepEqual(Object.keys(mine), [a.deviceId]);
        ids.push(...Object.keys(mine[a.deviceId]!));
      }
      assert.deepEqual(ids, ["signed_curve25519:AAAA0000", "signed_curve25519:AAAA0001", "signed_curve25519:FB"]);
      assert.deepEqual(await store().e2ee.unusedFallbackKeyTypes(a.userId, a.deviceId), []);
      await expectError(call("POST", "/_matrix/client/v3/keys/claim", { one_time_keys: { [a.userId]: { [a.deviceId]: 5 } } }, b.token), 400, "M_BAD_JSON");
      await expectError(call("POST", "/_matrix/client/v3/keys/claim", { one_time_keys: { [a.userId]: { [a.deviceId]: "x" } } }, "zat_bogus"), 401, "M_UNKNOWN_TOKEN");
    });

    it("hands each one-time key to exactly one of 60 concurrent claims (several connections on PostgreSQL)", async () => {
      const a = await register();
      const b = await register();
      await ok(call("POST", "/_matrix/client/v3/keys/upload", { one_time_keys: otks(40) }, a.token));
      const claim = { one_time_keys: { [a.userId]: { [a.deviceId]: "signed_curve25519" } } };
      const replies = await Promise.all(Array.from({ length: 60 }, () => ok(call("POST", "/_matrix/client/v3/keys/claim", claim, b.token))));
      const ids = replies.flatMap((j) => Object.keys(((j["one_time_keys"] as Record<string, Record<string, JsonObject>>)[a.userId] ?? {})[a.deviceId] ?? {}));
      assert.equal(ids.length, 40, "40 keys for 60 claims: 20 get none");
      assert.equal(new Set(ids).size, 40, "no key handed out twice");
      assert.deepEqual(await store().e2ee.oneTimeKeyCounts(a.userId, a.deviceId), {});
    });

    it("lists users whose keys changed between two tokens: oneself, not a user sharing no room", async () => {
      const a = await register();
      const b = await register();
      const from = `d${await store().e2ee.maxDeviceListPosition()}`;
      await ok(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: signedDeviceKeys(a, deviceKey(a.deviceId)) }, a.token));
      await ok(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: signedDeviceKeys(b, deviceKey(b.deviceId)) }, b.token));
      const to = `s5_d${await store().e2ee.maxDeviceListPosition()}_t0`;
      assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/keys/changes?from=${from}&to=${to}`, undefined, a.token)), { changed: [a.userId], left: [] });
      assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/keys/changes?from=${to}&to=${to}`, undefined, a.token)), { changed: [], left: [] });
      await expectError(call("GET", `/_matrix/client/v3/keys/changes?from=banana&to=${to}`, undefined, a.token), 400, "M_INVALID_PARAM", /from/);
      await expectError(call("GET", `/_matrix/client/v3/keys/changes?from=${from}`, undefined, a.token), 400, "M_INVALID_PARAM", /to/);
    });

    it("wakes a waiting /sync of a user sharing a room when the other user's new device logs in and uploads its keys, naming that user in device_lists.changed", async () => {
      const a = await register();
      const b = await register();
      const room = await ok(call("POST", "/_matrix/client/v3/createRoom", { invite: [b.userId] }, a.token));
      await ok(call("POST", `/_matrix/client/v3/join/${encodeURIComponent(String(room["room_id"]))}`, {}, b.token));
      const first = await ok(call("GET", "/_matrix/client/v3/sync?timeout=0", undefined, a.token));
      // A second sync takes in what the first one caused (a's own presence), so nothing else is new for the wait.
      const base = await ok(call("GET", `/_matrix/client/v3/sync?timeout=0&since=${String(first["next_batch"])}`, undefined, a.token));
      const waitingBefore = zion.homeserver!.notifier.waiting();
      const started = Date.now();
      // The socket outlives the sync's own timeout, so only a wake-up can answer within the bound below.
      const waiting = httpCall(`${zion.clientUrl}/_matrix/client/v3/sync?timeout=30000&since=${String(base["next_batch"])}`, { headers: { authorization: `Bearer ${a.token}` }, timeoutMs: 60_000 });
      for (const deadline = Date.now() + 10_000; zion.homeserver!.notifier.waiting() <= waitingBefore;) {
        if (Date.now() > deadline) assert.fail("a's /sync never started waiting");
        await new Promise((r) => setTimeout(r, 10));
      }
      const login = await ok(call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: b.userId }, password: PASSWORD }));
      const second: Session = { userId: b.userId, deviceId: String(login["device_id"]), token: String(login["access_token"]) };
      await ok(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: signedDeviceKeys(second, deviceKey(second.deviceId)) }, second.token));
      const woken = await waiting;
      assert.equal(woken.status, 200, woken.body);
      assert.ok(Date.now() - started < 20_000, `answered after ${Date.now() - started} ms: by the timeout, not by the key upload`);
      assert.deepEqual((woken.json()["device_lists"] as { changed: string[] }).changed, [b.userId]);
      // The change is b's: a user sharing no room with b is not told.
      const c = await register();
      const cBase = await ok(call("GET", "/_matrix/client/v3/sync?timeout=0", undefined, c.token));
      await ok(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: signedDeviceKeys(b, deviceKey(b.deviceId)) }, b.token));
      const cNext = await ok(call("GET", `/_matrix/client/v3/sync?timeout=0&since=${String(cBase["next_batch"])}`, undefined, c.token));
      assert.deepEqual((cNext["device_lists"] as { changed?: string[] } | undefined)?.changed ?? [], []);
    });
  });

  describe("POST /keys/device_signing/upload and /keys/signatures/upload", () => {
    it("needs no UIA for the first upload or an identical retry, and m.login.password to replace keys", async () => {
      const a = await register();
      const master = key();
      const body = { master_key: crossKey(a, "master", master), self_signing_key: crossKey(a, "self_signing", key(), master) };
      await ok(call("POST", "/_matrix/client/v3/keys/device_signing/upload", body, a.token));
      await ok(call("POST", "/_matrix/client/v3/keys/device_signing/upload", body, a.token));
      const master2 = key();
      const replace = { master_key: crossKey(a, "master", master2) };
      const challenge = await call("POST", "/_matrix/client/v3/keys/device_signing/upload", replace, a.token);
      assert.equal(challenge.status, 401, challenge.body);
      assert.deepEqual(challenge.json()["flows"], [{ stages: ["m.login.password"] }]);
      assert.equal((await store().e2ee.getCrossSigningKeys([a.userId])).get(a.userId)?.get("master")?.publicKey, publicKeyBase64(master), "not replaced before UIA");
      const wrong = await call("POST", "/_matrix/client/v3/keys/device_signing/upload", { ...replace, auth: { type: "m.login.password", session: challenge.json()["session"], password: "wrong", identifier: { type: "m.id.user", user: a.userId } } }, a.token);
      assert.equal(wrong.status, 401);
      await ok(call("POST", "/_matrix/client/v3/keys/device_signing/upload", { ...replace, auth: { type: "m.login.password", session: challenge.json()["session"], password: PASSWORD, identifier: { type: "m.id.user", user: a.userId } } }, a.token));
      assert.equal((await store().e2ee.getCrossSigningKeys([a.userId])).get(a.userId)?.get("master")?.publicKey, publicKeyBase64(master2));
    });

    it("refuses keys not signed by the master key, of another user, with two keys, or a sub-key without any master key", async () => {
      const a = await register();
      const master = key();
      await expectError(call("POST", "/_matrix/client/v3/keys/device_signing/upload", { self_signing_key: crossKey(a, "self_signing", key(), master) }, a.token), 400, "M_INVALID_PARAM", /master/);
      await expectError(call("POST", "/_matrix/client/v3/keys/device_signing/upload", { master_key: crossKey(a, "master", master), self_signing_key: crossKey(a, "self_signing", key(), key()) }, a.token), 400, "M_INVALID_SIGNATURE", /self_signing_key/);
      await expectError(call("POST", "/_matrix/client/v3/keys/device_signing/upload", { master_key: { ...crossKey(a, "master", master), user_id: "@other:zion.test" } }, a.token), 400, "M_INVALID_PARAM", /master_key\.user_id/);
      await expectError(call("POST", "/_matrix/client/v3/keys/device_signing/upload", { master_key: { ...crossKey(a, "master", master), usage: ["self_signing"] } }, a.token), 400, "M_INVALID_PARAM", /usage/);
      await expectError(call("POST", "/_matrix/client/v3/keys/device_signing/upload", { master_key: { user_id: a.userId, usage: ["master"], keys: { "ed25519:a": "a", "ed25519:b": "b" } } }, a.token), 400, "M_INVALID_PARAM", /exactly one/);
      await expectError(call("POST", "/_matrix/client/v3/keys/device_signing/upload", { master_key: "key" }, a.token), 400, "M_BAD_JSON");
      assert.equal((await store().e2ee.getCrossSigningKeys([a.userId])).size, 0, "nothing written");
    });

    it("stores a self-signing signature of a device and a user-signing signature of another user's master key; bad ones are failures", async () => {
      const a = await register();
      const b = await register();
      const dk = deviceKey(a.deviceId);
      await ok(call("POST", "/_matrix/client/v3/keys/upload", { device_keys: signedDeviceKeys(a, dk) }, a.token));
      const am = key(), assk = key(), ausk = key();
      await ok(call("POST", "/_matrix/client/v3/keys/device_signing/upload", { master_key: crossKey(a, "master", am), self_signing_key: crossKey(a, "self_signing", assk, am), user_signing_key: crossKey(a, "user_signing", ausk, am) }, a.token));
      const bm = key();
      await ok(call("POST", "/_matrix/client/v3/keys/device_signing/upload", { master_key: crossKey(b, "master", bm) }, b.token));
      const stored = (await store().e2ee.getDeviceKeys([{ userId: a.userId, deviceIds: [a.deviceId] }])).get(a.userId)!.get(a.deviceId)!;
      const deviceSigned = signJson(stored, a.userId, signingKeyFromSeedOf(assk));
      const bMaster = signJson(crossKey(b, "master", bm), a.userId, signingKeyFromSeedOf(ausk));
      const forged = signJson(crossKey(b, "master", bm), a.userId, signingKeyFromSeedOf(key()));
      const r = await ok(call("POST", "/_matrix/client/v3/keys/signatures/upload", { [a.userId]: { [a.deviceId]: deviceSigned, NOPE: deviceSigned } , [b.userId]: { [publicKeyBase64(bm)]: bMaster } }, a.token));
      assert.deepEqual(Object.keys((r["failures"] as Record<string, JsonObject>)[a.userId] ?? {}), ["NOPE"]);
      assert.equal(((r["failures"] as Record<string, Record<string, JsonObject>>)[a.userId]!["NOPE"]!)["errcode"], "M_NOT_FOUND");
      assert.equal((r["failures"] as JsonObject)[b.userId], undefined);
      const q = await ok(call("POST", "/_matrix/client/v3/keys/query", { device_keys: { [a.userId]: [], [b.userId]: [] } }, a.token));
      const sigs = ((q["device_keys"] as Record<string, Record<string, JsonObject>>)[a.userId]![a.deviceId]!["signatures"] as Record<string, JsonObject>)[a.userId]!;
      assert.ok(sigs[`ed25519:${publicKeyBase64(assk)}`], "the self-signing signature is merged into the device keys");
      const bSigs = ((q["master_keys"] as Record<string, JsonObject>)[b.userId]!["signatures"] as Record<string, JsonObject>)[a.userId]!;
      assert.ok(bSigs[`ed25519:${publicKeyBase64(ausk)}`], "a's user-signing signature shows on b's master key to a");
      const c = await register();
      const byC = await ok(call("POST", "/_matrix/client/v3/keys/query", { device_keys: { [b.userId]: [] } }, c.token));
      assert.equal(((byC["master_keys"] as Record<string, JsonObject>)[b.userId]!["signatures"] as Record<string, JsonObject>)[a.userId], undefined, "but not to a third user");
      const bad = await ok(call("POST", "/_matrix/client/v3/keys/signatures/upload", { [b.userId]: { [publicKeyBase64(bm)]: forged } }, a.token));
      assert.equal(((bad["failures"] as Record<string, Record<string, JsonObject>>)[b.userId]![publicKeyBase64(bm)]!)["errcode"], "M_INVALID_SIGNATURE");
      const changedContent = { ...bMaster, usage: ["master", "extra"] };
      const diff = await ok(call("POST", "/_matrix/client/v3/keys/signatures/upload", { [b.userId]: { [publicKeyBase64(bm)]: changedContent } }, a.token));
      assert.equal(((diff["failures"] as Record<string, Record<string, JsonObject>>)[b.userId]![publicKeyBase64(bm)]!)["errcode"], "M_INVALID_PARAM");
      await expectError(call("POST", "/_matrix/client/v3/keys/signatures/upload", { [b.userId]: "x" }, a.token), 400, "M_BAD_JSON");
    });
  });

  describe("PUT /sendToDevice/{eventType}/{txnId}", () => {
    it("queues per device with the sender, expands *, and sends nothing again for a repeated txn id", async () => {
      const a = await register();
      const b = await register();
      const b2 = await ok(call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: b.userId }, password: PASSWORD }));
      const body = { messages: { [b.userId]: { "*": { hello: 1 } }, "@far:remote.test": { X: { hi: 2 } } } };
      await ok(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/txn1", body, a.token));
      await ok(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/txn1", body, a.token));
      for (const d of [b.deviceId, String(b2["device_id"])]) {
        const inbox = await store().toDevice.inbox(b.userId, d, 0, 100);
        assert.deepEqual(inbox.messages, [{ type: "m.test", sender: a.userId, content: { hello: 1 } }], `device ${d}`);
      }
      await ok(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/txn2", { messages: { [b.userId]: { [b.deviceId]: { n: 2 } } } }, a.token));
      assert.equal((await store().toDevice.inbox(b.userId, b.deviceId, 0, 100)).messages.length, 2);
      assert.equal((await store().toDevice.inbox(b.userId, String(b2["device_id"]), 0, 100)).messages.length, 1);
    });

    it("refuses a missing or mistyped messages field, bad user ids and bogus tokens, queueing nothing", async () => {
      const a = await register();
      const b = await register();
      const before = await store().toDevice.maxPosition();
      await expectError(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/t1", {}, a.token), 400, "M_BAD_JSON", /messages/);
      await expectError(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/t2", { messages: { [b.userId]: { [b.deviceId]: "text" } } }, a.token), 400, "M_BAD_JSON");
      await expectError(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/t3", { messages: { nobody: { X: {} } } }, a.token), 400, "M_INVALID_PARAM");
      await expectError(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/t4", { messages: {} }, "zat_bogus"), 401, "M_UNKNOWN_TOKEN");
      assert.equal(await store().toDevice.maxPosition(), before);
    });
  });

  describe("server-side key backup", () => {
    const data = (over: Record<string, unknown> = {}) => ({ first_message_index: 3, forwarded_count: 0, is_verified: false, session_data: { ciphertext: "c" }, ...over });
    it("creates, reads, updates and deletes versions", async () => {
      const a = await register();
      await expectError(call("GET", "/_matrix/client/v3/room_keys/version", undefined, a.token), 404, "M_NOT_FOUND");
      const v = await ok(call("POST", "/_matrix/client/v3/room_keys/version", { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "pk" } }, a.token));
      assert.equal(v["version"], "1");
      assert.deepEqual(await ok(call("GET", "/_matrix/client/v3/room_keys/version", undefined, a.token)), { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "pk" }, count: 0, etag: "0", version: "1" });
      await ok(call("PUT", "/_matrix/client/v3/room_keys/version/1", { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "pk2" }, version: "1" }, a.token));
      assert.deepEqual((await ok(call("GET", "/_matrix/client/v3/room_keys/version/1", undefined, a.token)))["auth_data"], { public_key: "pk2" });
      await expectError(call("PUT", "/_matrix/client/v3/room_keys/version/1", { algorithm: "other", auth_data: {} }, a.token), 400, "M_INVALID_PARAM", /algorithm/);
      await expectError(call("PUT", "/_matrix/client/v3/room_keys/version/1", { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: {}, version: "2" }, a.token), 400, "M_INVALID_PARAM", /version/);
      await expectError(call("PUT", "/_matrix/client/v3/room_keys/version/7", { algorithm: "x", auth_data: {} }, a.token), 404, "M_NOT_FOUND");
      await expectError(call("POST", "/_matrix/client/v3/room_keys/version", { algorithm: "x" }, a.token), 400, "M_BAD_JSON", /auth_data/);
      const b = await register();
      await expectError(call("GET", "/_matrix/client/v3/room_keys/version/1", undefined, b.token), 404, "M_NOT_FOUND", /1/);
      await ok(call("DELETE", "/_matrix/client/v3/room_keys/version/1", undefined, a.token));
      await expectError(call("DELETE", "/_matrix/client/v3/room_keys/version/1", undefined, a.token), 404, "M_NOT_FOUND");
      assert.equal((await ok(call("POST", "/_matrix/client/v3/room_keys/version", { algorithm: "x", auth_data: {} }, a.token)))["version"], "2");
    });

    it("stores keys at all three levels with the replacement rules, etag and count; refuses an old version with 403 M_WRONG_ROOM_KEYS_VERSION", async () => {
      const a = await register();
      await ok(call("POST", "/_matrix/client/v3/room_keys/version", { algorithm: "x", auth_data: {} }, a.token));
      const r1 = await ok(call("PUT", "/_matrix/client/v3/room_keys/keys?version=1", { rooms: { "!r:zion.test": { sessions: { S1: data(), S2: data() } } } }, a.token));
      assert.equal(r1["count"], 2);
      const r2 = await ok(call("PUT", "/_matrix/client/v3/room_keys/keys/!q:zion.test?version=1", { sessions: { S3: data() } }, a.token));
      assert.equal(r2["count"], 3);
      assert.notEqual(r2["etag"], r1["etag"]);
      const worse = await ok(call("PUT", "/_matrix/client/v3/room_keys/keys/!r:zion.test/S1?version=1", data({ first_message_index: 9, session_data: { ciphertext: "worse" } }), a.token));
      assert.equal(worse["etag"], r2["etag"], "a worse key changes nothing");
      await ok(call("PUT", "/_matrix/client/v3/room_keys/keys/!r:zion.test/S1?version=1", data({ is_verified: true, first_message_index: 9, session_data: { ciphertext: "verified" } }), a.token));
      assert.deepEqual(await ok(call("GET", "/_matrix/client/v3/room_keys/keys/!r:zion.test/S1?version=1", undefined, a.token)), data({ is_verified: true, first_message_index: 9, session_data: { ciphertext: "verified" } }));
      assert.deepEqual(Object.keys(((await ok(call("GET", "/_matrix/client/v3/room_keys/keys/!r:zion.test?version=1", undefined, a.token)))["sessions"]) as JsonObject), ["S1", "S2"]);
      assert.deepEqual(Object.keys(((await ok(call("GET", "/_matrix/client/v3/room_keys/keys?version=1", undefined, a.token)))["rooms"]) as JsonObject).sort(), ["!q:zion.test", "!r:zion.test"]);
      assert.deepEqual(await ok(call("GET", "/_matrix/client/v3/room_keys/keys/!none:zion.test?version=1", undefined, a.token)), { sessions: {} });
      await expectError(call("GET", "/_matrix/client/v3/room_keys/keys/!r:zion.test/NOPE?version=1", undefined, a.token), 404, "M_NOT_FOUND");
      await expectError(call("GET", "/_matrix/client/v3/room_keys/keys?version=9", undefined, a.token), 404, "M_NOT_FOUND");
      await expectError(call("GET", "/_matrix/client/v3/room_keys/keys", undefined, a.token), 400, "M_INVALID_PARAM", /version/);
      await ok(call("POST", "/_matrix/client/v3/room_keys/version", { algorithm: "x", auth_data: {} }, a.token));
      const wrong = await expectError(call("PUT", "/_matrix/client/v3/room_keys/keys/!r:zion.test/S9?version=1", data(), a.token), 403, "M_WRONG_ROOM_KEYS_VERSION");
      assert.equal(wrong["current_version"], "2");
      await expectError(call("PUT", "/_matrix/client/v3/room_keys/keys/!r:zion.test/S9?version=2", data({ first_message_index: -1 }), a.token), 400, "M_BAD_JSON", /first_message_index/);
      await expectError(call("PUT", "/_matrix/client/v3/room_keys/keys/!r:zion.test/S9?version=2", data({ is_verified: "yes" }), a.token), 400, "M_BAD_JSON", /is_verified/);
      await expectError(call("PUT", "/_matrix/client/v3/room_keys/keys/not-a-room/S9?version=2", data(), a.token), 400, "M_INVALID_PARAM", /roomId/);
      assert.equal((await store().keyBackup.getKeys(a.userId, "2")).length, 0, "nothing written by the refused puts");
      const d1 = await ok(call("DELETE", "/_matrix/client/v3/room_keys/keys/!r:zion.test/S1?version=1", undefined, a.token));
      assert.equal(d1["count"], 2);
      assert.equal((await ok(call("DELETE", "/_matrix/client/v3/room_keys/keys/!r:zion.test?version=1", undefined, a.token)))["count"], 1);
      assert.equal((await ok(call("DELETE", "/_matrix/client/v3/room_keys/keys?version=1", undefined, a.token)))["count"], 0);
      await expectError(call("DELETE", "/_matrix/client/v3/room_keys/keys?version=7", undefined, a.token), 404, "M_NOT_FOUND");
    });
  });

  describe("account data", () => {
    it("stores global and per-room account data for oneself; other users' is 403; unset is 404", async () => {
      const a = await register();
      const b = await register();
      await expectError(call("GET", `/_matrix/client/v3/user/${a.userId}/account_data/m.direct`, undefined, a.token), 404, "M_NOT_FOUND");
      await ok(call("PUT", `/_matrix/client/v3/user/${a.userId}/account_data/m.direct`, { [b.userId]: ["!r:zion.test"] }, a.token));
      assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/user/${a.userId}/account_data/m.direct`, undefined, a.token)), { [b.userId]: ["!r:zion.test"] });
      await ok(call("PUT", `/_matrix/client/v3/user/${a.userId}/rooms/!notjoined:remote.test/account_data/m.tag`, { tags: { u: {} } }, a.token));
      assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/user/${a.userId}/rooms/!notjoined:remote.test/account_data/m.tag`, undefined, a.token)), { tags: { u: {} } });
      await expectError(call("GET", `/_matrix/client/v3/user/${a.userId}/account_data/m.tag`, undefined, a.token), 404, "M_NOT_FOUND", /m\.tag/);
      await expectError(call("GET", `/_matrix/client/v3/user/${a.userId}/account_data/m.direct`, undefined, b.token), 403, "M_FORBIDDEN");
      await expectError(call("PUT", `/_matrix/client/v3/user/${a.userId}/account_data/x.y`, {}, b.token), 403, "M_FORBIDDEN");
      await expectError(call("PUT", `/_matrix/client/v3/user/${a.userId}/rooms/!r:zion.test/account_data/x.y`, {}, b.token), 403, "M_FORBIDDEN");
      const changes = await store().accountData.changesSince(a.userId, 0);
      assert.deepEqual(changes.map((c) => [c.roomId, c.type]), [[null, "m.direct"], ["!notjoined:remote.test", "m.tag"]]);
      assert.equal((await store().accountData.changesSince(b.userId, 0)).length, 0, "the refused writes wrote nothing");
    });

    it("refuses m.fully_read and m.push_rules with 405 M_BAD_JSON, non-objects with 400, bad room ids with M_INVALID_PARAM", async () => {
      const a = await register();
      const before = await store().accountData.maxPosition();
      await expectError(call("PUT", `/_matrix/client/v3/user/${a.userId}/account_data/m.push_rules`, {}, a.token), 405, "M_BAD_JSON", /pushrules/);
      await expectError(call("PUT", `/_matrix/client/v3/user/${a.userId}/account_data/m.fully_read`, {}, a.token), 405, "M_BAD_JSON");
      await expectError(call("PUT", `/_matrix/client/v3/user/${a.userId}/rooms/!r:zion.test/account_data/m.fully_read`, { event_id: "$e" }, a.token), 405, "M_BAD_JSON", /read_markers/);
      await expectError(call("PUT", `/_matrix/client/v3/user/${a.userId}/account_data/x.y`, [1, 2], a.token), 400, "M_BAD_JSON");
      await expectError(call("PUT", `/_matrix/client/v3/user/${a.userId}/account_data/x.y`, "nope", a.token), 400, "M_NOT_JSON");
      await expectError(call("PUT", `/_matrix/client/v3/user/${a.userId}/rooms/notaroom/account_data/x.y`, {}, a.token), 400, "M_INVALID_PARAM", /roomId/);
      await expectError(call("PUT", `/_matrix/client/v3/user/${a.userId}/account_data/x.y`, { big: "x".repeat(1_100_000) }, a.token), 413, "M_TOO_LARGE");
      await expectError(call("PUT", `/_matrix/client/v3/user/${a.userId}/account_data/x.y`, {}, "zat_bogus"), 401, "M_UNKNOWN_TOKEN");
      assert.equal(await store().accountData.maxPosition(), before);
    });
  });

  describe("profile", () => {
    it("reads and sets displayname and avatar_url, telling the profile listener; no token needed to read", async () => {
      const a = await register("profiler");
      assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/profile/${a.userId}`)), { displayname: "profiler" });
      await ok(call("PUT", `/_matrix/client/v3/profile/${a.userId}/displayname`, { displayname: "Pro Filer" }, a.token));
      await ok(call("PUT", `/_matrix/client/v3/profile/${a.userId}/avatar_url`, { avatar_url: "mxc://zion.test/abc" }, a.token));
      assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/profile/${a.userId}`)), { displayname: "Pro Filer", avatar_url: "mxc://zion.test/abc" });
      assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/profile/${a.userId}/displayname`)), { displayname: "Pro Filer" });
      assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/profile/${a.userId}/avatar_url`, undefined, a.token)), { avatar_url: "mxc://zion.test/abc" });
      assert.deepEqual(profileCalls.slice(-2), [`${a.userId}=Pro Filer|`, `${a.userId}=Pro Filer|mxc://zion.test/abc`]);
      await ok(call("PUT", `/_matrix/client/v3/profile/${a.userId}/avatar_url`, { avatar_url: null }, a.token));
      await expectError(call("GET", `/_matrix/client/v3/profile/${a.userId}/avatar_url`), 404, "M_NOT_FOUND");
    });

    it("refuses other users' profiles, long or mistyped values, unknown users, and answers 502 when another server cannot be reached", async () => {
      const a = await register();
      const b = await register();
      await expectError(call("PUT", `/_matrix/client/v3/profile/${a.userId}/displayname`, { displayname: "evil" }, b.token), 403, "M_FORBIDDEN");
      await expectError(call("PUT", `/_matrix/client/v3/profile/${a.userId}/displayname`, { displayname: "x".repeat(257) }, a.token), 400, "M_INVALID_PARAM", /256/);
      await expectError(call("PUT", `/_matrix/client/v3/profile/${a.userId}/avatar_url`, { avatar_url: "x".repeat(1001) }, a.token), 400, "M_INVALID_PARAM", /1,000/);
      await expectError(call("PUT", `/_matrix/client/v3/profile/${a.userId}/displayname`, { displayname: 5 }, a.token), 400, "M_BAD_JSON", /displayname/);
      await expectError(call("PUT", `/_matrix/client/v3/profile/${a.userId}/displayname`, {}, a.token), 400, "M_BAD_JSON", /displayname/);
      await expectError(call("PUT", `/_matrix/client/v3/profile/${a.userId}/displayname`, { displayname: "x" }, "zat_bogus"), 401, "M_UNKNOWN_TOKEN");
      assert.equal((await store().users.getProfile(a.userId))?.displayname, a.userId.slice(1, a.userId.indexOf(":")), "unchanged");
      await expectError(call("GET", "/_matrix/client/v3/profile/@nobody:zion.test"), 404, "M_NOT_FOUND");
      const gone = await register();
      await ok(call("POST", "/_matrix/client/v3/account/deactivate", { auth: { type: "m.login.password", identifier: { type: "m.id.user", user: gone.userId }, password: PASSWORD } }, gone.token));
      await expectError(call("GET", `/_matrix/client/v3/profile/${gone.userId}`), 404, "M_NOT_FOUND", /no profile/);
      await expectError(call("GET", "/_matrix/client/v3/profile/not-a-user"), 400, "M_INVALID_PARAM");
      await expectError(call("GET", "/_matrix/client/v3/profile/@far:127.0.0.1:1"), 502, "M_UNKNOWN", /127\.0\.0\.1:1/);
    });
  });

  describe("filters", () => {
    it("stores a filter as given and returns it; other users' filters are 403; unknown 404; non-objects and big bodies refused", async () => {
      const a = await register();
      const b = await register();
      const filter = { room: { timeline: { limit: 10 } }, unknown_field: [1] };
      const j = await ok(call("POST", `/_matrix/client/v3/user/${a.userId}/filter`, filter, a.token));
      assert.equal(j["filter_id"], "0");
      assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/user/${a.userId}/filter/0`, undefined, a.token)), filter);
      await expectError(call("GET", `/_matrix/client/v3/user/${a.userId}/filter/0`, undefined, b.token), 403, "M_FORBIDDEN");
      await expectError(call("POST", `/_matrix/client/v3/user/${a.userId}/filter`, {}, b.token), 403, "M_FORBIDDEN");
      await expectError(call("GET", `/_matrix/client/v3/user/${a.userId}/filter/9`, undefined, a.token), 404, "M_NOT_FOUND");
      await expectError(call("POST", `/_matrix/client/v3/user/${a.userId}/filter`, [filter], a.token), 400, "M_BAD_JSON");
      await expectError(call("POST", `/_matrix/client/v3/user/${a.userId}/filter`, { x: "y".repeat(70_000) }, a.token), 413, "M_TOO_LARGE");
      assert.equal(await store().filters.get(b.userId, "0"), null);
      assert.equal(await store().filters.get(a.userId, "1"), null, "only the one filter was stored");
    });
  });

  describe("capabilities, TURN, thirdparty, 3pid", () => {
    it("lists capabilities: change password, every room version with the default, profile changes, no 3PID changes", async () => {
      const a = await register();
      const caps = (await ok(call("GET", "/_matrix/client/v3/capabilities", undefined, a.token)))["capabilities"] as Record<string, Record<string, unknown>>;
      assert.deepEqual(caps["m.change_password"], { enabled: true });
      assert.equal(caps["m.room_versions"]!["default"], "11");
      assert.equal((caps["m.room_versions"]!["available"] as Record<string, string>)["12"], "stable");
      assert.deepEqual(Object.keys(caps["m.room_versions"]!["available"] as object).length >= 12, true);
      assert.deepEqual(caps["m.set_displayname"], { enabled: true });
      assert.deepEqual(caps["m.3pid_changes"], { enabled: false });
      await expectError(call("GET", "/_matrix/client/v3/capabilities"), 401, "M_MISSING_TOKEN");
    });

    it("hands out coturn REST credentials: <expiry>:<user id> and base64 HMAC-SHA1 with the shared secret", async () => {
      const a = await register();
      const j = await ok(call("GET", "/_matrix/client/v3/voip/turnServer", undefined, a.token));
      const expiry = Math.floor((now + 3_600_000) / 1000);
      assert.equal(j["username"], `${expiry}:${a.userId}`);
      assert.equal(j["password"], createHmac("sha1", TURN_SECRET).update(`${expiry}:${a.userId}`).digest("base64"));
      assert.equal(j["ttl"], 3600);
      assert.deepEqual(j["uris"], ["turn:turn.zion.test:3478?transport=udp"]);
      await expectError(call("GET", "/_matrix/client/v3/voip/turnServer", undefined, "zat_bogus"), 401, "M_UNKNOWN_TOKEN");
    });

    it("answers {} for thirdparty protocols and an empty 3PID list", async () => {
      const a = await register();
      assert.deepEqual(await ok(call("GET", "/_matrix/client/v3/thirdparty/protocols", undefined, a.token)), {});
      assert.deepEqual(await ok(call("GET", "/_matrix/client/v3/account/3pid", undefined, a.token)), { threepids: [] });
      assert.deepEqual(await ok(call("GET", "/_matrix/client/r0/account/3pid", undefined, a.token)), { threepids: [] });
    });
  });
});

describe("profile changes and rooms (the default ProfileChangeListener)", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({ config: { enable_registration: true, enable_registration_without_verification: true, rc_registration: generous }, startOptions: { clock, passwordHasher: scryptHasher({ ln: 10 }) } });
  });
  after(() => zion?.stop());
  it("sends the new displayname into the member event of a room the user has joined", async () => {
    const post = (path: string, body: unknown, token?: string, method = "POST") =>
      httpCall(`${zion.clientUrl}${path}`, { method, headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    const r = (await post("/_matrix/client/v3/register", { username: "roomie", password: PASSWORD, auth: { type: "m.login.dummy" } })).json();
    const token = String(r["access_token"]);
    const room = await post("/_matrix/client/v3/createRoom", {}, token);
    assert.equal(room.status, 200, room.body);
    const roomId = String(room.json()["room_id"]);
    const put = await post(`/_matrix/client/v3/profile/${r["user_id"]}/displayname`, { displayname: "Roomie Renamed" }, token, "PUT");
    assert.equal(put.status, 200, put.body);
    const member = await httpCall(`${zion.clientUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${encodeURIComponent(String(r["user_id"]))}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(member.status, 200, member.body);
    assert.equal(member.json()["displayname"], "Roomie Renamed");
    assert.equal(member.json()["membership"], "join");
  });

  it("sends a displayname change, then an avatar change, into each of three joined rooms, none into a room the user is only invited to or has left; bad values change nothing", async () => {
    type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- sync bodies are read field by field
    const call = async (method: string, path: string, body?: unknown, token?: string): Promise<Reply> => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      return httpCall(`${zion.clientUrl}${path}`, { method, headers: { ...(text !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(text !== undefined ? { body: text } : {}) });
    };
    const ok = async (p: Promise<Reply>): Promise<J> => {
      const r = await p;
      assert.equal(r.status, 200, r.body);
      return r.json() as J;
    };
    const refused = async (p: Promise<Reply>, status: number, errcode: string, field: RegExp): Promise<void> => {
      const r = await p;
      assert.equal(r.status, status, r.body);
      assert.equal(r.json()["errcode"], errcode, r.body);
      assert.match(String(r.json()["error"]), field);
    };
    const register = async (username: string) => {
      const j = await ok(call("POST", "/_matrix/client/v3/register", { username, password: PASSWORD, auth: { type: "m.login.dummy" } }));
      return { userId: String(j["user_id"]), token: String(j["access_token"]) };
    };
    const mover = await register("mover");
    const watcher = await register("watcher");
    const room = async () => String((await ok(call("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }, watcher.token)))["room_id"]);
    const joined = [await room(), await room(), await room()];
    for (const r of joined) await ok(call("POST", `/_matrix/client/v3/join/${encodeURIComponent(r)}`, {}, mover.token));
    const invited = await room();
    await ok(call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(invited)}/invite`, { user_id: mover.userId }, watcher.token));
    const left = await room();
    await ok(call("POST", `/_matrix/client/v3/join/${encodeURIComponent(left)}`, {}, mover.token));
    await ok(call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(left)}/leave`, {}, mover.token));
    const all = [...joined, invited, left];
    const sync = (since: string): Promise<J> => ok(call("GET", `/_matrix/client/v3/sync?set_presence=offline&since=${since}`, undefined, watcher.token));
    /** The member events of `mover` in the watcher's sync, per room. */
    const moverEvents = (j: J): Record<string, J[]> => Object.fromEntries(all.map((r) => [r, ((j["rooms"]["join"][r]?.["timeline"]?.["events"] ?? []) as J[]).filter((e) => e["type"] === "m.room.member" && e["state_key"] === mover.userId)]));
    const base = String((await ok(call("GET", "/_matrix/client/v3/sync?set_presence=offline", undefined, watcher.token)))["next_batch"]);

    await ok(call("PUT", `/_matrix/client/v3/profile/${mover.userId}/displayname`, { displayname: "Mover Renamed" }, mover.token));
    const afterName = await sync(base);
    const named = moverEvents(afterName);
    for (const r of joined) {
      assert.equal(named[r]!.length, 1, `one new member event in ${r}`);
      assert.deepEqual(named[r]![0]!["content"], { membership: "join", displayname: "Mover Renamed" });
      assert.equal(named[r]![0]!["sender"], mover.userId);
    }
    assert.deepEqual(named[invited], [], "no member event where the user is only invited");
    assert.deepEqual(named[left], [], "none where the user has left");

    await ok(call("PUT", `/_matrix/client/v3/profile/${mover.userId}/avatar_url`, { avatar_url: "mxc://zion.test/mover" }, mover.token));
    const afterAvatar = await sync(String(afterName["next_batch"]));
    const pictured = moverEvents(afterAvatar);
    for (const r of joined) assert.deepEqual(pictured[r]!.map((e) => e["content"]), [{ membership: "join", displayname: "Mover Renamed", avatar_url: "mxc://zion.test/mover" }]);
    assert.deepEqual([pictured[invited], pictured[left]], [[], []]);
    for (const r of [invited, left]) {
      const state = await ok(call("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(r)}/state/m.room.member/${encodeURIComponent(mover.userId)}`, undefined, watcher.token));
      assert.notEqual(state["displayname"], "Mover Renamed", `${r} keeps the member event from before the change`);
      assert.equal(state["avatar_url"], undefined);
    }

    const eventsBefore = (await zion.homeserver!.storage.events.getRoomEventsBetween(joined[0] as RoomId, 0, Number.MAX_SAFE_INTEGER, 10_000)).length;
    const put = (field: string, value: unknown) => call("PUT", `/_matrix/client/v3/profile/${mover.userId}/${field}`, { [field]: value }, mover.token);
    await refused(put("displayname", 5), 400, "M_BAD_JSON", /displayname/);
    await refused(put("displayname", ["x"]), 400, "M_BAD_JSON", /displayname/);
    await refused(put("displayname", "x".repeat(257)), 400, "M_INVALID_PARAM", /displayname/);
    await refused(put("avatar_url", 7), 400, "M_BAD_JSON", /avatar_url/);
    await refused(put("avatar_url", `mxc://zion.test/${"a".repeat(1000)}`), 400, "M_INVALID_PARAM", /avatar_url/);
    assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/profile/${mover.userId}`)), { displayname: "Mover Renamed", avatar_url: "mxc://zion.test/mover" });
    const quiet = await sync(String(afterAvatar["next_batch"]));
    assert.deepEqual(Object.values(moverEvents(quiet)).flat(), [], "no member event for a refused change");
    assert.equal((await zion.homeserver!.storage.events.getRoomEventsBetween(joined[0] as RoomId, 0, Number.MAX_SAFE_INTEGER, 10_000)).length, eventsBefore);
  });
});

describe("GET /voip/turnServer without TURN settings", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({ config: { enable_registration: true, enable_registration_without_verification: true, turn_uris: ["turn:x"], rc_registration: generous }, startOptions: { clock, passwordHasher: scryptHasher({ ln: 10 }) } });
  });
  after(() => zion?.stop());
  it("answers 200 with {} when turn_uris has no secret or username and password (as Synapse)", async () => {
    const r = await httpCall(`${zion.clientUrl}/_matrix/client/v3/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "t", password: PASSWORD, auth: { type: "m.login.dummy" } }) });
    const token = String(r.json()["access_token"]);
    const t = await httpCall(`${zion.clientUrl}/_matrix/client/v3/voip/turnServer`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(t.status, 200);
    assert.deepEqual(t.json(), {});
  });
});
