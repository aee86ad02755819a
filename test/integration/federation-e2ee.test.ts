/**
 * End-to-end encryption plumbing between two Zions over real TLS (in-process, test-CA certificates with IP SANs,
 * server names that are IP literals on 127.0.24.x:8448, `ip_range_whitelist: ["127.0.24.0/24"]`, each fetching
 * the other's signing keys from its listener). alice is on hs1, bob on hs2; bob joins alice's room through hs1.
 *
 * alice's cross-signing keys, uploaded and then replaced on hs1, reach hs2's cache (m.signing_key_update); amy, a
 * second hs1 user, signing alice's master key changes nothing on hs2.
 *
 * Crafted EDUs (a gap in prev_id, a repeated message_id) are sent as hs1 would send them: a FederationClient
 * signing with hs1's own key, so hs2 authenticates them as hs1's and resyncs from the real hs1.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import { createFederation, type FederationServices } from "../../src/app/federation.js";
import type { Clock } from "../../src/core/clock.js";
import { publicKeyBase64, signJson, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import type { RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { FederationError } from "../../src/federation/transport/client.js";
import { clientCaller, type Reply } from "../harness/http-get.js";
import { startIpLiteralZions } from "../harness/federated-zion.js";
import type { TestServer } from "../harness/server.js";
import { createTestCa } from "../harness/test-ca.js";

const clock: Clock = { now: () => Date.now(), sleep: async (ms) => new Promise((r) => setTimeout(r, ms)) };
const cheap = scryptHasher({ ln: 10 });
const PASSWORD = "pw-123456";
// Two addresses of 127.0.24.0/24 (this suite's block), a random pair so that two runs rarely collide on :8448.
const BASE = 10 + 2 * Math.floor(Math.random() * 100);
const IPS = [`127.0.24.${BASE}`, `127.0.24.${BASE + 1}`];

interface Session { userId: UserId; deviceId: string; token: string; key: SigningKey }

const ok = (r: Reply): Record<string, unknown> => {
  assert.equal(r.status, 200, r.body);
  return r.json();
};

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("end-to-end encryption across two Zions (real TLS)", { timeout: 180_000 }, () => {
  let dir: string;
  const hs: TestServer[] = [];
  const names: ServerName[] = [];
  let fed1: FederationServices;
  let alice: Session;
  let bob: Session;
  let roomId: RoomId;
  const call = (i: number) => clientCaller(() => hs[i]!.clientUrl);

  const deviceKeys = (s: Session): JsonObject => signJson({
    user_id: s.userId, device_id: s.deviceId, algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
    keys: { [`ed25519:${s.deviceId}`]: publicKeyBase64(s.key), [`curve25519:${s.deviceId}`]: `curve-${s.deviceId}` },
  }, s.userId, { ...s.key, keyId: `ed25519:${s.deviceId}` } as SigningKey) as JsonObject;

  const login = async (i: number, user: string, deviceId: string): Promise<Session> => {
    const r = ok(await call(i)("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user }, password: PASSWORD, device_id: deviceId }));
    return { userId: r["user_id"] as UserId, deviceId, token: r["access_token"] as string, key: signingKeyFromSeed(deviceId, randomBytes(32)) };
  };
  const upload = async (i: number, s: Session, otks = 0): Promise<void> => {
    const one_time_keys = Object.fromEntries(Array.from({ length: otks }, (_, n) => [`signed_curve25519:${s.deviceId}${n}`, { key: `otk-${s.deviceId}-${n}`, signatures: {} }]));
    ok(await call(i)("POST", "/_matrix/client/v3/keys/upload", { device_keys: deviceKeys(s), one_time_keys }, s.token));
  };
  const sync = async (i: number, s: Session, since?: string, timeout = 0): Promise<Record<string, unknown>> =>
    ok(await call(i)("GET", `/_matrix/client/v3/sync?timeout=${timeout}${since ? `&since=${encodeURIComponent(since)}` : ""}`, undefined, s.token));
  const deviceLists = (body: Record<string, unknown>) => body["device_lists"] as { changed: string[]; left: string[] };
  const toDevice = (body: Record<string, unknown>) => (body["to_device"] as { events: JsonObject[] }).events;
  /** Sends a /send transaction to hs2 signed as hs1, with these EDUs. */
  const sendAsHs1 = (edus: JsonObject[]) => fed1.client.request({
    destination: names[1]!, method: "PUT", path: `/_matrix/federation/v1/send/crafted-${randomBytes(6).toString("hex")}`,
    body: { origin: names[0]!, origin_server_ts: Date.now(), pdus: [], edus },
  });
  const cachedAt2 = async (userId: UserId) => (await hs[1]!.homeserver!.storage.deviceFederation.getRemoteDeviceLists([userId])).get(userId);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-fede2ee-"));
    const ca = await createTestCa(dir);
    const started = await startIpLiteralZions(ca, IPS, "127.0.24.0/24", { clock, passwordHasher: cheap });
    hs.push(...started.servers);
    names.push(...started.names);
    for (const [i, user] of [[0, "alice"], [1, "bob"]] as const) {
      ok(await call(i)("POST", "/_matrix/client/v3/register", { username: user, password: PASSWORD, auth: { type: "m.login.dummy" }, inhibit_login: true }));
    }
    alice = await login(0, "alice", "A1");
    bob = await login(1, "bob", "B1");
    fed1 = createFederation(hs[0]!.config, { keys: hs[0]!.homeserver!.storage.keys, signingKeys: hs[0]!.homeserver!.signingKeys, clock });
    roomId = ok(await call(0)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "crypto" }, alice.token))["room_id"] as RoomId;
    ok(await call(1)("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(names[0]!)}`, {}, bob.token));
    await upload(0, alice, 3);
    await upload(1, bob, 2);
  });
  after(async () => {
    await fed1?.close();
    await Promise.all(hs.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  it("bob on hs2 queries alice's keys on hs1 over /user/keys/query, and claims her one-time keys once each over /user/keys/claim", async () => {
    const q = ok(await call(1)("POST", "/_matrix/client/v3/keys/query", { device_keys: { [alice.userId]: [] } }, bob.token));
    assert.deepEqual(q["failures"], {});
    const got = (q["device_keys"] as Record<string, Record<string, JsonObject>>)[alice.userId]!;
    assert.deepEqual(Object.keys(got), ["A1"]);
    assert.deepEqual(got["A1"], deviceKeys(alice), "the keys as alice uploaded them");
    assert.equal((got["A1"]!["keys"] as JsonObject)[`ed25519:A1`], publicKeyBase64(alice.key));
    const claimed = new Set<string>();
    for (let n = 0; n < 3; n++) {
      const c = ok(await call(1)("POST", "/_matrix/client/v3/keys/claim", { one_time_keys: { [alice.userId]: { A1: "signed_curve25519" } } }, bob.token));
      assert.deepEqual(c["failures"], {});
      const keys = Object.keys(((c["one_time_keys"] as Record<string, Record<string, JsonObject>>)[alice.userId] ?? {})["A1"] ?? {});
      assert.equal(keys.length, 1, JSON.stringify(c));
      claimed.add(keys[0]!);
    }
    assert.equal(claimed.size, 3, "three claims, three different keys");
    assert.deepEqual(await hs[0]!.homeserver!.storage.e2ee.oneTimeKeyCounts(alice.userId, "A1"), {});
    // The query started tracking alice's list on hs2 (a resync through /user/devices).
    const cached = await until("hs2 to track alice's devices", async () => await cachedAt2(alice.userId));
    assert.deepEqual(cached.devices.map((d) => d.deviceId), ["A1"]);
    assert.equal(cached.stale, false);
  });

  it("a user of an unreachable server is in failures under that server's name, and the local answer still comes", async () => {
    const q = ok(await call(1)("POST", "/_matrix/client/v3/keys/query", { device_keys: { [alice.userId]: [], "@nobody:127.0.24.254:8448": [] }, timeout: 2000 }, bob.token));
    assert.ok((q["failures"] as Record<string, unknown>)["127.0.24.254:8448"], JSON.stringify(q));
    assert.ok((q["device_keys"] as Record<string, unknown>)[alice.userId]);
  });

  it("a device alice adds on hs1 reaches hs2 as m.device_list_update: bob's waiting sync wakes with alice in device_lists.changed, and his query sees the device from hs2's cache", async () => {
    const first = await sync(1, bob);
    const waiting = sync(1, bob, first["next_batch"] as string, 20_000);
    const a2 = await login(0, "alice", "A2");
    await upload(0, a2, 1);
    const woken = await waiting;
    assert.ok(deviceLists(woken).changed.includes(alice.userId), JSON.stringify(woken["device_lists"]));
    // The login is an update of its own (a device without keys), the upload the next one: wait for the keys.
    const cached = await until("A2 with its keys in hs2's cache", async () => {
      const l = await cachedAt2(alice.userId);
      return l && l.devices.some((d) => d.deviceId === "A2" && d.keys !== null) ? l : undefined;
    });
    assert.equal(cached.stale, false);
    assert.equal(cached.streamId, await hs[0]!.homeserver!.storage.deviceFederation.outboundStreamId(alice.userId), "the EDU's stream_id is hs1's latest for alice");
    const q = ok(await call(1)("POST", "/_matrix/client/v3/keys/query", { device_keys: { [alice.userId]: [] } }, bob.token));
    assert.deepEqual(Object.keys((q["device_keys"] as Record<string, Record<string, JsonObject>>)[alice.userId]!).sort(), ["A1", "A2"]);
  });

  it("a device alice logs in on hs1 reaches hs2 before it has keys, and its logout as deleted: bob's sync names alice each time", async () => {
    const base = await sync(1, bob);
    const a3 = await login(0, "alice", "A3");
    const withA3 = await until("A3 in hs2's cache", async () => {
      const l = await cachedAt2(alice.userId);
      return l?.devices.some((d) => d.deviceId === "A3") ? l : undefined;
    });
    assert.equal(withA3.devices.find((d) => d.deviceId === "A3")!.keys, null, "announced before any key upload");
    assert.equal(withA3.stale, false, "in sequence");
    assert.equal(withA3.streamId, await hs[0]!.homeserver!.storage.deviceFederation.outboundStreamId(alice.userId));
    const told = await sync(1, bob, base["next_batch"] as string);
    assert.ok(deviceLists(told).changed.includes(alice.userId), JSON.stringify(told["device_lists"]));
    ok(await call(0)("POST", "/_matrix/client/v3/logout", {}, a3.token));
    const without = await until("A3 gone from hs2's cache", async () => {
      const l = await cachedAt2(alice.userId);
      return l && !l.devices.some((d) => d.deviceId === "A3") ? l : undefined;
    });
    assert.deepEqual(without.devices.map((d) => d.deviceId), ["A1", "A2"]);
    const toldAgain = await sync(1, bob, told["next_batch"] as string);
    assert.ok(deviceLists(toldAgain).changed.includes(alice.userId), JSON.stringify(toldAgain["device_lists"]));
  });

  it("an m.device_list_update whose prev_id hs2 never saw makes hs2 resync alice's list from hs1's /user/devices", async () => {
    const before = (await cachedAt2(alice.userId))!;
    const ghost = (streamId: number, prev: number[]): JsonObject => ({
      edu_type: "m.device_list_update",
      content: { user_id: alice.userId, device_id: "GHOST", stream_id: streamId, prev_id: prev, deleted: false, keys: { user_id: alice.userId, device_id: "GHOST", algorithms: [], keys: {} } },
    });
    // In sequence (prev_id = the stream id hs2 has): applied, so hs2 now believes in a device hs1 does not have.
    await sendAsHs1([ghost(before.streamId + 1, [before.streamId])]);
    const withGhost = await until("GHOST applied", async () => {
      const l = await cachedAt2(alice.userId);
      return l?.devices.some((d) => d.deviceId === "GHOST") ? l : undefined;
    });
    assert.equal(withGhost.streamId, before.streamId + 1);
    // A gap: prev_id names an update hs2 never got. hs2 marks the list stale and asks hs1, whose answer has no GHOST.
    await sendAsHs1([ghost(before.streamId + 50, [before.streamId + 49])]);
    const resynced = await until("the resync to replace the list", async () => {
      const l = await cachedAt2(alice.userId);
      return l && !l.stale && !l.devices.some((d) => d.deviceId === "GHOST") ? l : undefined;
    });
    assert.deepEqual(resynced.devices.map((d) => d.deviceId), ["A1", "A2"]);
    assert.equal(resynced.streamId, await hs[0]!.homeserver!.storage.deviceFederation.outboundStreamId(alice.userId));
  });

  it("to-device messages cross servers exactly once: a repeated /sendToDevice txn and a resent message_id are delivered once", async () => {
    let since = (await sync(0, alice))["next_batch"] as string;
    for (let n = 0; n < 2; n++) ok(await call(1)("PUT", "/_matrix/client/v3/sendToDevice/m.test/txn-1", { messages: { [alice.userId]: { A1: { n: 1 } } } }, bob.token));
    const got: JsonObject[] = [];
    await until("bob's message at alice's A1", async () => {
      const r = await sync(0, alice, since, 5000);
      since = r["next_batch"] as string;
      got.push(...toDevice(r));
      return got.length > 0 ? true : undefined;
    });
    const later = await sync(0, alice, since, 1000);
    got.push(...toDevice(later));
    assert.deepEqual(got, [{ type: "m.test", sender: bob.userId, content: { n: 1 } }]);

    let bobSince = (await sync(1, bob))["next_batch"] as string;
    const edu = { edu_type: "m.direct_to_device", content: { sender: alice.userId, type: "m.test", message_id: "crafted-1", messages: { [bob.userId]: { "*": { hello: true } } } } };
    await sendAsHs1([edu]);
    await sendAsHs1([edu]);
    const atBob: JsonObject[] = [];
    for (let n = 0; n < 3; n++) {
      const r = await sync(1, bob, bobSince, n === 0 ? 5000 : 500);
      bobSince = r["next_batch"] as string;
      atBob.push(...toDevice(r));
    }
    assert.deepEqual(atBob, [{ type: "m.test", sender: alice.userId, content: { hello: true } }]);
  });

  it("EDUs about users of another server than the origin, or malformed, change nothing", async () => {
    const storage = hs[1]!.homeserver!.storage;
    const [dl, td] = [await storage.e2ee.maxDeviceListPosition(), await storage.toDevice.maxPosition()];
    await sendAsHs1([
      { edu_type: "m.device_list_update", content: { user_id: bob.userId, device_id: "FAKE", stream_id: 1, prev_id: [] } },
      { edu_type: "m.device_list_update", content: { user_id: alice.userId, device_id: "X", stream_id: "7" } },
      { edu_type: "m.signing_key_update", content: { user_id: bob.userId, master_key: { user_id: bob.userId, usage: ["master"], keys: {} } } },
      { edu_type: "m.direct_to_device", content: { sender: bob.userId, type: "m.test", message_id: "forged", messages: { [bob.userId]: { "*": { forged: true } } } } },
      { edu_type: "m.direct_to_device", content: { sender: alice.userId, type: "m.test", message_id: "x".repeat(33), messages: { [bob.userId]: { "*": { long: true } } } } },
    ]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await storage.e2ee.maxDeviceListPosition(), dl);
    assert.equal(await storage.toDevice.maxPosition(), td);
  });

  it("the federation endpoints answer only for local users and refuse unbounded input", async () => {
    const fed = fed1.client;
    const devices = await fed.getUserDevices(names[1]!, bob.userId);
    assert.deepEqual(devices.devices.map((d) => d["device_id"]), ["B1"]);
    assert.equal(typeof devices.streamId, "number");
    await assert.rejects(fed.getUserDevices(names[1]!, alice.userId), (e: unknown) => e instanceof FederationError && e.status === 400 && e.errcode === "M_INVALID_PARAM");
    const q = await fed.queryUserKeys(names[1]!, { [bob.userId]: [], [alice.userId]: [] });
    assert.deepEqual(Object.keys(q.deviceKeys), [bob.userId], "a user of another server is left out");
    const tooMany = Object.fromEntries(Array.from({ length: 1001 }, (_, n) => [`@u${n}:${names[1]}`, []]));
    await assert.rejects(fed.queryUserKeys(names[1]!, tooMany), (e: unknown) => e instanceof FederationError && e.status === 400 && e.errcode === "M_INVALID_PARAM");
    const claims = Object.fromEntries(Array.from({ length: 1001 }, (_, n) => [`D${n}`, "signed_curve25519"]));
    await assert.rejects(fed.claimUserKeys(names[1]!, { [bob.userId]: claims }), (e: unknown) => e instanceof FederationError && e.status === 400);
    const c = await fed.claimUserKeys(names[1]!, { [bob.userId]: { B1: "signed_curve25519" } });
    assert.equal(Object.keys((c.oneTimeKeys[bob.userId] as JsonObject)["B1"] as JsonObject).length, 1);
  });

  /** A cross-signing key of `owner`, signed by `signer` (a signature is under ed25519:<the signer's public key>). */
  const crossSigningKey = (owner: UserId, usage: string, k: SigningKey, signer?: SigningKey, signerUser: UserId = owner): JsonObject => {
    const obj: JsonObject = { user_id: owner, usage: [usage], keys: { [`ed25519:${publicKeyBase64(k)}`]: publicKeyBase64(k) } };
    return signer ? signJson(obj, signerUser, { ...signer, keyId: `ed25519:${publicKeyBase64(signer)}` } as SigningKey) : obj;
  };
  const aliceMaster = signingKeyFromSeed("m", randomBytes(32));

  it("alice's cross-signing keys uploaded on hs1 reach hs2 as m.signing_key_update: bob's waiting sync wakes, his query answers them from hs2's cache as hs1 holds them, and again after she replaces her self-signing key", async () => {
    await until("hs2 to track alice's devices", async () => await cachedAt2(alice.userId));
    const crossKey = (usage: string, k: SigningKey): JsonObject => crossSigningKey(alice.userId, usage, k, usage === "master" ? undefined : aliceMaster);
    /** POST /keys/device_signing/upload through user-interactive auth; returns the stages it took. */
    const uploadSigning = async (body: JsonObject): Promise<string[]> => {
      const first = await call(0)("POST", "/_matrix/client/v3/keys/device_signing/upload", body, alice.token);
      if (first.status === 200) return ["none"];
      assert.equal(first.status, 401, first.body);
      const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: "alice" }, password: PASSWORD, session: first.json()["session"] };
      ok(await call(0)("POST", "/_matrix/client/v3/keys/device_signing/upload", { ...body, auth }, alice.token));
      return ["none", "m.login.password"];
    };
    const queryAt = async (i: number, s: Session) => ok(await call(i)("POST", "/_matrix/client/v3/keys/query", { device_keys: { [alice.userId]: [] } }, s.token)) as Record<string, Record<string, JsonObject>>;
    /** Uploads `body` while bob's sync waits, and checks what reaches hs2. */
    const uploadAndSee = async (body: JsonObject, selfSigning: JsonObject): Promise<string[]> => {
      const since = (await sync(1, bob))["next_batch"] as string;
      // Below the caller's 10 s request timeout, so a sync never woken fails the assertion below.
      const waiting = sync(1, bob, since, 8_000);
      const stages = await uploadSigning(body);
      const woken = await waiting;
      assert.ok(deviceLists(woken).changed.includes(alice.userId), JSON.stringify(woken["device_lists"]));
      const atHs1 = await queryAt(0, alice);
      assert.deepEqual(atHs1["self_signing_keys"]![alice.userId], selfSigning, "hs1 holds the key alice uploaded");
      const cached = await until("hs2's cache to hold alice's new self-signing key", async () => {
        const l = await cachedAt2(alice.userId);
        return l && JSON.stringify(l.selfSigningKey) === JSON.stringify(selfSigning) ? l : undefined;
      });
      assert.equal(cached.stale, false, "answered from hs2's cache, not by asking hs1");
      assert.deepEqual(cached.masterKey, atHs1["master_keys"]![alice.userId]);
      const atHs2 = await queryAt(1, bob);
      assert.deepEqual(atHs2["failures"], {});
      assert.deepEqual(atHs2["master_keys"]![alice.userId], atHs1["master_keys"]![alice.userId]);
      assert.deepEqual(atHs2["self_signing_keys"]![alice.userId], atHs1["self_signing_keys"]![alice.userId]);
      assert.equal(atHs2["user_signing_keys"]?.[alice.userId], undefined, "the user-signing key never leaves hs1");
      return stages;
    };
    const selfSigning1 = crossKey("self_signing", signingKeyFromSeed("s", randomBytes(32)));
    const first = { master_key: crossKey("master", aliceMaster), self_signing_key: selfSigning1, user_signing_key: crossKey("user_signing", signingKeyFromSeed("u", randomBytes(32))) };
    assert.deepEqual(await uploadAndSee(first, selfSigning1), ["none"], "a first upload needs no password");
    const selfSigning2 = crossKey("self_signing", signingKeyFromSeed("s", randomBytes(32)));
    assert.deepEqual(await uploadAndSee({ self_signing_key: selfSigning2 }, selfSigning2), ["none", "m.login.password"], "a replacement needs the password");
  });

  it("another hs1 user's signature on alice's master key stays on hs1: no EDU for it, and the m.signing_key_update alice's next change sends carries her own signatures only", async () => {
    ok(await call(0)("POST", "/_matrix/client/v3/register", { username: "amy", password: PASSWORD, auth: { type: "m.login.dummy" }, inhibit_login: true }));
    const amy = await login(0, "amy", "AM1");
    const [amyMaster, amyUserSigning] = [signingKeyFromSeed("m", randomBytes(32)), signingKeyFromSeed("u", randomBytes(32))];
    ok(await call(0)("POST", "/_matrix/client/v3/keys/device_signing/upload", {
      master_key: crossSigningKey(amy.userId, "master", amyMaster), user_signing_key: crossSigningKey(amy.userId, "user_signing", amyUserSigning, amyMaster),
    }, amy.token));
    const masterAt = async (i: number, s: Session) =>
      (ok(await call(i)("POST", "/_matrix/client/v3/keys/query", { device_keys: { [alice.userId]: [] } }, s.token))["master_keys"] as Record<string, JsonObject>)[alice.userId]!;
    const signers = (k: JsonObject | null | undefined) => Object.keys((k?.["signatures"] as JsonObject | undefined) ?? {}).sort();
    const positionAt2 = await hs[1]!.homeserver!.storage.e2ee.maxDeviceListPosition();

    // amy verifies alice: her user-signing key signs alice's master key.
    const signed = crossSigningKey(alice.userId, "master", aliceMaster, amyUserSigning, amy.userId);
    const up = ok(await call(0)("POST", "/_matrix/client/v3/keys/signatures/upload", { [alice.userId]: { [publicKeyBase64(aliceMaster)]: signed } }, amy.token));
    assert.deepEqual(up["failures"], {});
    assert.ok(signers(await masterAt(0, amy)).includes(amy.userId), "hs1 stored amy's signature, and shows it to her");
    // A to-device message from alice to bob, queued after anything the signature queued for hs2 (one ordered
    // queue per destination): once bob has it, hs2 has handled every EDU hs1 sent before it.
    let since = (await sync(1, bob))["next_batch"] as string;
    ok(await call(0)("PUT", "/_matrix/client/v3/sendToDevice/m.test/after-amy", { messages: { [bob.userId]: { B1: { after: "amy" } } } }, alice.token));
    await until("alice's to-device message at bob", async () => {
      const r = await sync(1, bob, since, 5000);
      since = r["next_batch"] as string;
      return toDevice(r).some((m) => (m["content"] as JsonObject)["after"] === "amy") ? true : undefined;
    });
    assert.equal(await hs[1]!.homeserver!.storage.e2ee.maxDeviceListPosition(), positionAt2, "no device-list or signing-key change reached hs2");

    // alice replaces her self-signing key: the m.signing_key_update carries her master key, without amy's signature.
    const selfSigning = crossSigningKey(alice.userId, "self_signing", signingKeyFromSeed("s", randomBytes(32)), aliceMaster);
    const challenge = await call(0)("POST", "/_matrix/client/v3/keys/device_signing/upload", { self_signing_key: selfSigning }, alice.token);
    assert.equal(challenge.status, 401, challenge.body);
    const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: "alice" }, password: PASSWORD, session: challenge.json()["session"] };
    ok(await call(0)("POST", "/_matrix/client/v3/keys/device_signing/upload", { self_signing_key: selfSigning, auth }, alice.token));
    const cached = await until("alice's new self-signing key in hs2's cache", async () => {
      const l = await cachedAt2(alice.userId);
      return l && JSON.stringify(l.selfSigningKey) === JSON.stringify(selfSigning) ? l : undefined;
    });
    assert.ok(cached.masterKey, "the EDU carried alice's master key");
    assert.ok(!signers(cached.masterKey).includes(amy.userId), `hs2 holds no signature of amy's: ${JSON.stringify(cached.masterKey)}`);
    assert.deepEqual(await masterAt(1, bob), await masterAt(0, alice), "bob sees alice's master key as hs1 shows it to anyone but amy");
  });

  it("bob leaving the last room he shares with alice puts her in his device_lists.left (and /keys/changes' left), and him in hers once hs1 has the leave", async () => {
    const bobSince = (await sync(1, bob))["next_batch"] as string;
    const aliceSince = (await sync(0, alice))["next_batch"] as string;
    ok(await call(1)("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, {}, bob.token));
    const atBob = await sync(1, bob, bobSince);
    assert.deepEqual(deviceLists(atBob).left, [alice.userId], JSON.stringify(atBob["device_lists"]));
    assert.ok(!deviceLists(atBob).changed.includes(alice.userId));
    const changes = ok(await call(1)("GET", `/_matrix/client/v3/keys/changes?from=${encodeURIComponent(bobSince)}&to=${encodeURIComponent(atBob["next_batch"] as string)}`, undefined, bob.token));
    assert.deepEqual(changes["left"], [alice.userId], "/keys/changes agrees with /sync");
    const atAlice = await until("hs1 to receive bob's leave", async () => {
      const r = await sync(0, alice, aliceSince, 2000);
      return deviceLists(r).left.length > 0 ? r : undefined;
    });
    assert.deepEqual(deviceLists(atAlice).left, [bob.userId]);
  });
});
