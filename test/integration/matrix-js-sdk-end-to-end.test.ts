/**
 * End to end with matrix-js-sdk 37.5 and its Rust crypto on one Zion (issue 13), every step through the SDK's public
 * API and its own /sync loop:
 * 1. two users in an encrypted room, each decrypting the other's message as it arrives;
 * 2. cross-signing: a user bootstraps it (UIA with the password), signs a second device of hers, another user
 *    verifies her by SAS emoji over to-device messages and then sees the second device as cross-signing verified;
 * 3. key backup: room keys go to /room_keys/keys, and a new device restores them with the backup key and decrypts
 *    the old messages;
 * a new device verified from the old one by SAS gets the cross-signing keys by secret gossiping (to-device to `*`);
 * the same through secret storage: a new device unlocks it with the recovery key, imports the cross-signing and
 * backup keys, so it verifies itself, and restores the backup; a device whose one-time keys and fallback key were
 * all claimed uploads new ones when /sync tells it so.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../harness/server.js";
import { CryptoClients, SecretStorageKeys, createEncryptedRoom, openClientTestConfig, loginNewDevice, passwordUia, registerUser, verifyBySas, waitForDecryptedEvent, waitUntil, type CryptoClient, type CryptoClientOptions } from "../harness/crypto-client.js";

describe("matrix-js-sdk 37.5 Rust crypto on Zion: encrypted rooms", () => {
  let zion: TestServer;
  const clients = new CryptoClients();
  before(async () => {
    zion = await startTestServer({ mode: "child", config: openClientTestConfig() });
  });
  after(async () => {
    await clients.stopAll();
    await zion?.stop();
  });

  /** Two users in a new encrypted room, both joined and both clients seeing it as encrypted. */
  async function encryptedPair(prefix: string, opts: { alice?: CryptoClientOptions; bob?: CryptoClientOptions } = {}): Promise<{ alice: CryptoClient; bob: CryptoClient; roomId: string }> {
    const alice = await clients.start(await registerUser(zion.clientUrl!, `${prefix}-alice`, "alice password 1"), opts.alice);
    const bob = await clients.start(await registerUser(zion.clientUrl!, `${prefix}-bob`, "bob password 1"), opts.bob);
    const roomId = await createEncryptedRoom(alice.client, [bob.creds.userId]);
    await waitUntil("bob's invite", () => bob.client.getRoom(roomId)?.getMyMembership() === "invite");
    await bob.client.joinRoom(roomId);
    await waitUntil("bob joined, seen by alice", () => alice.client.getRoom(roomId)?.getMember(bob.creds.userId)?.membership === "join");
    await waitUntil("the room encrypted at bob", async () => (await bob.crypto.isEncryptionEnabledInRoom(roomId)) === true);
    return { alice, bob, roomId };
  }

  it("two users exchange Megolm messages in an m.megolm.v1.aes-sha2 room, each decrypting the other's through its own /sync", async () => {
    const { alice, bob, roomId } = await encryptedPair("mg");

    const atBob = waitForDecryptedEvent(bob.client, roomId, (c) => c["body"] === "hello bob, secretly");
    await alice.client.sendTextMessage(roomId, "hello bob, secretly");
    const hello = await atBob;
    assert.equal(hello.getWireType(), "m.room.encrypted");
    assert.equal(hello.getWireContent()["algorithm"], "m.megolm.v1.aes-sha2");
    assert.equal(hello.getType(), "m.room.message");
    assert.equal(hello.getSender(), alice.creds.userId);

    const atAlice = waitForDecryptedEvent(alice.client, roomId, (c) => c["body"] === "hi alice, secretly");
    await bob.client.sendTextMessage(roomId, "hi alice, secretly");
    const hi = await atAlice;
    assert.equal(hi.getWireType(), "m.room.encrypted");
    assert.equal(hi.getSender(), bob.creds.userId);

    // What the server stored and serves is ciphertext only.
    const raw = await alice.client.fetchRoomEvent(roomId, hi.getId()!);
    assert.equal(raw.type, "m.room.encrypted");
    assert.ok(!JSON.stringify(raw).includes("secretly"), "no plaintext on the server");
  });

  it("lets clients that lazy-load members (as Element does) encrypt: the SDK loads the member list from /members?at=<its sync token>", async () => {
    const lazy = { lazyLoadMembers: true };
    const { alice, bob, roomId } = await encryptedPair("ll", { alice: lazy, bob: lazy });
    const atAlice = waitForDecryptedEvent(alice.client, roomId, (c) => c["body"] === "lazy hello");
    await bob.client.sendTextMessage(roomId, "lazy hello");
    assert.equal((await atAlice).getSender(), bob.creds.userId);
    assert.equal(bob.client.getRoom(roomId)?.membersLoaded(), true, "the full member list was loaded");
  });

  it("cross-signs a second device: bootstrap with password UIA, the first device signs the second, and a SAS-verified other user sees it as cross-signing verified", async () => {
    const { alice, bob } = await encryptedPair("xs");
    const steps: string[] = [];
    await alice.crypto.bootstrapCrossSigning({ setupNewCrossSigning: true, authUploadDeviceSigningKeys: passwordUia(alice.creds, steps) });
    assert.deepEqual(steps, ["none"], "the first upload of cross-signing keys needs no UIA (MSC3967)");
    // The upload is a device-list change of alice's own: her client re-queries her keys; let that answer in first.
    await alice.keysQueriesSettled();
    // Resetting them does: Zion's /keys/device_signing/upload asks for m.login.password, the SDK retries with it.
    const firstMaster = await alice.crypto.getCrossSigningKeyId();
    steps.length = 0;
    await alice.crypto.bootstrapCrossSigning({ setupNewCrossSigning: true, authUploadDeviceSigningKeys: passwordUia(alice.creds, steps) });
    assert.deepEqual(steps, ["none", "password"]);
    assert.notEqual(await alice.crypto.getCrossSigningKeyId(), firstMaster);
    assert.equal(await alice.crypto.isCrossSigningReady(), true);
    await bob.crypto.bootstrapCrossSigning({ setupNewCrossSigning: true, authUploadDeviceSigningKeys: passwordUia(bob.creds) });

    // Alice logs in a second device; her first device cross-signs it.
    const alice2 = await clients.start(await loginNewDevice(zion.clientUrl!, alice.creds.userId, alice.creds.password));
    await waitUntil("the second device's keys on the server", async () => {
      const q = await bob.client.http.authedRequest<{ device_keys: Record<string, Record<string, unknown>> }>("POST" as never, "/keys/query", undefined, { device_keys: { [alice.creds.userId]: [] } });
      return q.device_keys[alice.creds.userId]?.[alice2.creds.deviceId] !== undefined;
    });
    // The first device hears of the second through device_lists.changed in its /sync.
    await waitUntil("alice's first device knows her second", async () => (await alice.crypto.getUserDeviceInfo([alice.creds.userId])).get(alice.creds.userId)?.has(alice2.creds.deviceId) === true);
    assert.equal((await alice.crypto.getDeviceVerificationStatus(alice.creds.userId, alice2.creds.deviceId))?.crossSigningVerified, false, "not yet signed");
    await alice.crypto.crossSignDevice(alice2.creds.deviceId);
    // The new signature is a device-list change of alice's: both alice's first device and bob re-query her keys.
    await waitUntil("the second device signed, at the first", async () => (await alice.crypto.getDeviceVerificationStatus(alice.creds.userId, alice2.creds.deviceId))?.crossSigningVerified === true);

    // Bob verifies alice (her first device) by comparing SAS emoji over to-device messages.
    const emoji = await verifyBySas(bob, alice);
    assert.equal(emoji.length, 7);
    // Bob's client signed alice's master key with his user-signing key; it trusts her identity once /keys/query
    // serves that signature back, which it asks for when alice's keys show up in device_lists.changed.
    await waitUntil("alice's identity verified at bob", async () => (await bob.crypto.getUserVerificationStatus(alice.creds.userId)).isCrossSigningVerified());

    // Bob has alice's second device with her self-signing key's signature; he trusts it through that key, which he
    // trusts through her master key, which he verified.
    await waitUntil("alice's second device cross-signing verified at bob", async () => {
      const s = await bob.crypto.getDeviceVerificationStatus(alice.creds.userId, alice2.creds.deviceId);
      return s?.crossSigningVerified === true;
    }, 30_000);
    const status = (await bob.crypto.getDeviceVerificationStatus(alice.creds.userId, alice2.creds.deviceId))!;
    assert.equal(status.signedByOwner, true);
    assert.equal(status.localVerified, false, "trusted by cross-signing, not by a local mark");
  });

  it("backs room keys up to /room_keys/keys, and a new device restores them with the backup key and decrypts the old messages", async () => {
    const { alice, bob, roomId } = await encryptedPair("kb");
    await alice.crypto.bootstrapCrossSigning({ setupNewCrossSigning: true, authUploadDeviceSigningKeys: passwordUia(alice.creds) });
    await alice.crypto.resetKeyBackup();
    const check = await alice.crypto.checkKeyBackupAndEnable();
    assert.ok(check?.backupInfo.version);
    assert.equal(check.trustInfo.trusted, true);
    const version = check.backupInfo.version;

    const atBob = waitForDecryptedEvent(bob.client, roomId, (c) => c["body"] === "before the new device");
    await alice.client.sendTextMessage(roomId, "before the new device");
    await atBob;
    const atAlice = waitForDecryptedEvent(alice.client, roomId, (c) => c["body"] === "bob's old secret");
    await bob.client.sendTextMessage(roomId, "bob's old secret");
    await atAlice;

    // Both sessions (alice's outbound one and bob's, received over Olm) reach the server's backup.
    await waitUntil("two sessions in the backup", async () => {
      const keys = await alice.client.http.authedRequest<{ rooms: Record<string, { sessions: Record<string, unknown> }> }>("GET" as never, "/room_keys/keys", { version });
      return Object.keys(keys.rooms[roomId]?.sessions ?? {}).length === 2;
    }, 30_000);
    const backupKey = await alice.crypto.getSessionBackupPrivateKey();
    assert.ok(backupKey);

    // A new device: its initial sync brings the two messages it has no keys for.
    const alice3 = await clients.start(await loginNewDevice(zion.clientUrl!, alice.creds.userId, alice.creds.password));
    await waitUntil("the old messages at the new device, undecryptable", () => (alice3.client.getRoom(roomId)?.getLiveTimeline().getEvents().filter((e) => e.getWireType() === "m.room.encrypted" && e.isDecryptionFailure()).length ?? 0) >= 2);
    await alice3.crypto.storeSessionBackupPrivateKey(backupKey, version);
    const restored = await alice3.crypto.restoreKeyBackup();
    assert.equal(restored.total, 2);
    assert.equal(restored.imported, 2);
    const mine = await waitForDecryptedEvent(alice3.client, roomId, (c) => c["body"] === "before the new device");
    const bobs = await waitForDecryptedEvent(alice3.client, roomId, (c) => c["body"] === "bob's old secret");
    assert.equal(mine.getWireType(), "m.room.encrypted");
    assert.equal(bobs.getSender(), bob.creds.userId);
  });

  it("sets up secret storage; a new device unlocks it with the recovery key, cross-signs itself with the imported keys and restores the backup", async () => {
    const recovery = new SecretStorageKeys();
    const { alice: alice1, bob, roomId } = await encryptedPair("ss", { alice: { cryptoCallbacks: recovery.callbacks } });
    await alice1.crypto.bootstrapCrossSigning({ setupNewCrossSigning: true, authUploadDeviceSigningKeys: passwordUia(alice1.creds) });
    const generated = await alice1.crypto.createRecoveryKeyFromPassphrase();
    await alice1.crypto.bootstrapSecretStorage({ createSecretStorageKey: async () => generated, setupNewSecretStorage: true, setupNewKeyBackup: true });
    assert.equal(await alice1.crypto.isSecretStorageReady(), true);
    const status = await alice1.crypto.getCrossSigningStatus();
    assert.equal(status.privateKeysInSecretStorage, true);
    assert.equal(recovery.keys.size, 1);
    // What the server keeps is ciphertext: the account data holds no private key in the clear.
    const defaultKey = await alice1.client.getAccountDataFromServer("m.secret_storage.default_key" as never);
    const keyId = (defaultKey as { key?: string } | null)?.key;
    assert.ok(keyId && recovery.keys.has(keyId));
    const master = await alice1.client.getAccountDataFromServer("m.cross_signing.master" as never) as { encrypted?: Record<string, { ciphertext?: string }> } | null;
    assert.ok(master?.encrypted?.[keyId]?.ciphertext, "m.cross_signing.master is encrypted with the default key");

    const atBob = waitForDecryptedEvent(bob.client, roomId, (c) => c["body"] === "kept in the backup");
    await alice1.client.sendTextMessage(roomId, "kept in the backup");
    await atBob;
    const version = (await alice1.crypto.getActiveSessionBackupVersion())!;
    await waitUntil("the session in the backup", async () => {
      const keys = await alice1.client.http.authedRequest<{ rooms: Record<string, { sessions: Record<string, unknown> }> }>("GET" as never, "/room_keys/keys", { version });
      return Object.keys(keys.rooms[roomId]?.sessions ?? {}).length >= 1;
    }, 30_000);

    // A new device; its user types the recovery key (the same SecretStorageKeys).
    const alice2 = await clients.start(await loginNewDevice(zion.clientUrl!, alice1.creds.userId, alice1.creds.password), { cryptoCallbacks: recovery.callbacks });
    // The import checks the keys against alice's public identity, which the new device learns from /keys/query.
    await waitUntil("the new device knows alice's public cross-signing keys", async () => (await alice2.crypto.getCrossSigningStatus()).publicKeysOnDevice);
    await alice2.keysQueriesSettled();
    await alice2.crypto.bootstrapCrossSigning({});
    const status2 = await alice2.crypto.getCrossSigningStatus();
    assert.deepEqual(status2.privateKeysCachedLocally, { masterKey: true, selfSigningKey: true, userSigningKey: true }, "imported from secret storage");
    // It signed its own device with the imported self-signing key; every device of alice's reads the signature back
    // from /keys/query after device_lists.changed.
    await waitUntil("the new device cross-signed at itself", async () => (await alice2.crypto.getDeviceVerificationStatus(alice2.creds.userId, alice2.creds.deviceId))?.crossSigningVerified === true);
    await alice2.crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    const restored = await alice2.crypto.restoreKeyBackup();
    assert.ok(restored.imported >= 1);
    const old = await waitForDecryptedEvent(alice2.client, roomId, (c) => c["body"] === "kept in the backup");
    assert.equal(old.getWireType(), "m.room.encrypted");
    await waitUntil("the new device verified at the first", async () => (await alice1.crypto.getDeviceVerificationStatus(alice1.creds.userId, alice2.creds.deviceId))?.crossSigningVerified === true);
  });

  it("verifies a new device from the old one by SAS, after which the old one sends it the cross-signing keys (secret gossiping over to-device)", async () => {
    const { alice, bob } = await encryptedPair("sg");
    await alice.crypto.bootstrapCrossSigning({ setupNewCrossSigning: true, authUploadDeviceSigningKeys: passwordUia(alice.creds) });
    const alice2 = await clients.start(await loginNewDevice(zion.clientUrl!, alice.creds.userId, alice.creds.password));
    await waitUntil("alice's first device knows her second", async () => (await alice.crypto.getUserDeviceInfo([alice.creds.userId])).get(alice.creds.userId)?.has(alice2.creds.deviceId) === true);
    await waitUntil("the second device knows alice's identity", async () => (await alice2.crypto.getCrossSigningKeyId()) !== null || (await alice2.crypto.userHasCrossSigningKeys(alice.creds.userId)));
    assert.equal((await alice2.crypto.getCrossSigningStatus()).privateKeysCachedLocally.masterKey, false);
    await verifyBySas(alice2, alice);
    // The verified new device asks its other devices for the secrets (m.secret.request to every device) and the first
    // answers over Olm (m.secret.send); with the self-signing key it signs itself.
    await waitUntil("the cross-signing keys gossiped to the new device", async () => {
      const c = (await alice2.crypto.getCrossSigningStatus()).privateKeysCachedLocally;
      return c.masterKey && c.selfSigningKey && c.userSigningKey;
    }, 30_000);
    await waitUntil("the new device cross-signed at the first", async () => (await alice.crypto.getDeviceVerificationStatus(alice.creds.userId, alice2.creds.deviceId))?.crossSigningVerified === true);
  });

  it("uploads new one-time keys after another user claimed them all and the fallback key, as /sync's count of 0 tells it", async () => {
    const alice = await clients.start(await registerUser(zion.clientUrl!, "otk-alice", "alice password 1"));
    const bob = await clients.start(await registerUser(zion.clientUrl!, "otk-bob", "bob password 1"), { sync: false });
    const counts = async () => (await alice.client.http.authedRequest<{ one_time_key_counts: Record<string, number> }>("POST" as never, "/keys/upload", undefined, {})).one_time_key_counts;
    const fallbackTypes = async () => (await alice.client.http.authedRequest<{ device_unused_fallback_key_types: string[] }>("GET" as never, "/sync", { filter: JSON.stringify({ room: { rooms: [] } }) })).device_unused_fallback_key_types;
    await waitUntil("alice's one-time keys uploaded", async () => ((await counts())["signed_curve25519"] ?? 0) > 0);
    await waitUntil("alice's fallback key uploaded", async () => (await fallbackTypes()).includes("signed_curve25519"));
    const uploaded = (await counts())["signed_curve25519"]!;

    const claim = async () => {
      const r = await bob.client.http.authedRequest<{ one_time_keys: Record<string, Record<string, Record<string, { fallback?: boolean }>>> }>("POST" as never, "/keys/claim", undefined, { one_time_keys: { [alice.creds.userId]: { [alice.creds.deviceId]: "signed_curve25519" } } });
      return Object.values(r.one_time_keys[alice.creds.userId]?.[alice.creds.deviceId] ?? {})[0];
    };
    for (let i = 0; i < uploaded; i++) assert.notEqual((await claim())?.fallback, true, `claim ${i + 1} of ${uploaded} gets a one-time key`);
    assert.equal((await claim())?.fallback, true, "then the fallback key");
    assert.equal((await claim())?.fallback, true, "the used fallback key again, until it is replaced");
    assert.deepEqual(await counts(), { signed_curve25519: 0 });
    assert.deepEqual(await fallbackTypes(), [], "the fallback key is used");

    // The counts are not a stream: alice's client reads them at its next /sync, which a typing notification wakes.
    // (It replaces a used fallback key only once that key is old, a week in matrix-sdk-crypto: not seen here.)
    const { room_id: roomId } = await alice.client.createRoom({});
    await alice.client.sendTyping(roomId, true, 5_000);
    await waitUntil("new one-time keys", async () => ((await counts())["signed_curve25519"] ?? 0) > 0);
    assert.notEqual((await claim())?.fallback, true, "a claim gets a one-time key again");
  });
});
