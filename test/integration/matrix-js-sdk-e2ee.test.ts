/**
 * matrix-js-sdk 37.5 with its Rust crypto (initRustCrypto: @matrix-org/matrix-sdk-crypto-wasm, in-memory store)
 * against a real Zion child process, through the SDK's public API only: a client uploads its device keys and
 * one-time keys, bootstraps cross-signing (first upload without UIA, a reset through m.login.password UIA), creates a
 * key backup the SDK then trusts; a second user's client downloads the first's keys, and, once they share an
 * encrypted room, sees the device as cross-signed, claims exactly one one-time key to open an Olm session and sends
 * an encrypted to-device message, which the first user's client receives through its /sync and decrypts.
 * (test/integration/matrix-js-sdk-end-to-end.test.ts has the encrypted-room, verification and backup-restore
 * scenarios.)
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { ClientEvent, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";
import { startTestServer, type TestServer } from "../harness/server.js";
import { CryptoClients, createEncryptedRoom, openClientTestConfig, registerUser, waitFor, waitUntil, type CryptoClient } from "../harness/crypto-client.js";

const PASSWORD = "e2ee password 1";

describe("matrix-js-sdk 37.5 Rust crypto against Zion: keys, cross-signing, key backup, claims", () => {
  let zion: TestServer;
  let baseUrl: string;
  const clients = new CryptoClients();
  before(async () => {
    zion = await startTestServer({ mode: "child", config: openClientTestConfig() });
    baseUrl = zion.clientUrl!;
  });
  after(async () => {
    await clients.stopAll();
    await zion?.stop();
  });

  let aliceSession: CryptoClient;
  let bobSession: CryptoClient;
  async function cryptoClient(username: string): Promise<CryptoClient> {
    return clients.start(await registerUser(baseUrl, username, PASSWORD));
  }
  const oneTimeKeyCount = async (c: MatrixClient): Promise<number> => {
    const r = await c.http.authedRequest<{ one_time_key_counts: Record<string, number> }>("POST" as never, "/keys/upload", undefined, {});
    return r.one_time_key_counts["signed_curve25519"] ?? 0;
  };

  let alice: MatrixClient;
  let bob: MatrixClient;

  it("bootstraps cross-signing: the first upload needs no UIA, which also uploads the device and one-time keys", async () => {
    aliceSession = await cryptoClient("alice");
    alice = aliceSession.client;
    const asked: unknown[] = [];
    await alice.getCrypto()!.bootstrapCrossSigning({
      setupNewCrossSigning: true,
      authUploadDeviceSigningKeys: async (makeRequest) => {
        asked.push("first");
        await makeRequest(null);
      },
    });
    assert.deepEqual(asked, ["first"]);
    const status = await alice.getCrypto()!.getCrossSigningStatus();
    assert.equal(status.publicKeysOnDevice, true);
    assert.equal(status.privateKeysCachedLocally.masterKey, true);
    assert.ok(await oneTimeKeyCount(alice) > 0, "the OlmMachine uploaded one-time keys");
    const q = await alice.http.authedRequest<Record<string, Record<string, Record<string, unknown>>>>("POST" as never, "/keys/query", undefined, { device_keys: { [alice.getUserId()!]: [] } });
    assert.ok(q["device_keys"]![alice.getUserId()!]![alice.getDeviceId()!], "device keys uploaded");
    assert.ok(q["master_keys"]![alice.getUserId()!], "master key uploaded");
  });

  it("resets cross-signing through m.login.password UIA", async () => {
    const before = await alice.getCrypto()!.getCrossSigningKeyId();
    let sessionSeen: string | undefined;
    await alice.getCrypto()!.bootstrapCrossSigning({
      setupNewCrossSigning: true,
      authUploadDeviceSigningKeys: async (makeRequest) => {
        const challenge = await makeRequest(null).then(
          () => assert.fail("replacing cross-signing keys needs UIA"),
          (e: { httpStatus?: number; data?: { session?: string; flows?: unknown } }) => e,
        );
        assert.equal(challenge.httpStatus, 401);
        assert.deepEqual(challenge.data?.flows, [{ stages: ["m.login.password"] }]);
        sessionSeen = challenge.data?.session;
        await makeRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: alice.getUserId()! }, password: PASSWORD, session: sessionSeen } as never);
      },
    });
    assert.ok(sessionSeen);
    const afterId = await alice.getCrypto()!.getCrossSigningKeyId();
    assert.ok(afterId && afterId !== before, "a new master key");
  });

  it("creates a key backup with resetKeyBackup, which checkKeyBackupAndEnable finds and trusts", async () => {
    await alice.getCrypto()!.resetKeyBackup();
    const check = await alice.getCrypto()!.checkKeyBackupAndEnable();
    assert.ok(check, "a backup is found on the server");
    assert.equal(check.backupInfo.version, "1");
    assert.equal(check.backupInfo.algorithm, "m.megolm_backup.v1.curve25519-aes-sha2");
    assert.equal(check.trustInfo.trusted, true, "signed by this device and the cross-signing key");
    assert.equal(check.trustInfo.matchesDecryptionKey, true);
    assert.equal(await alice.getCrypto()!.getActiveSessionBackupVersion(), "1");
  });

  it("lets a second user download the first's keys, see the device cross-signed in a shared encrypted room, open an Olm session with a claimed one-time key and send an encrypted to-device message the first decrypts", async () => {
    bobSession = await cryptoClient("bob");
    bob = bobSession.client;
    const aliceId = alice.getUserId()!;
    const devices = await bob.getCrypto()!.getUserDeviceInfo([aliceId], true);
    const aliceDevice = devices.get(aliceId)?.get(alice.getDeviceId()!);
    assert.ok(aliceDevice, "bob's client knows alice's device");
    assert.equal(aliceDevice.getIdentityKey(), (await alice.getCrypto()!.getOwnDeviceKeys()).curve25519);

    // Sharing an encrypted room makes bob's client track alice's devices (its own /keys/query).
    const roomId = await createEncryptedRoom(alice, [bob.getUserId()!]);
    await waitUntil("bob's invite", () => bob.getRoom(roomId)?.getMyMembership() === "invite");
    await bob.joinRoom(roomId);
    await waitUntil("the room encrypted at bob", async () => (await bob.getCrypto()!.isEncryptionEnabledInRoom(roomId)) === true);
    // prepareToEncrypt: what a client does when its user starts typing; it queries keys, claims a one-time key for
    // each member's device it has no Olm session with, and shares the room key over Olm. (Exact claim counts are
    // checked in matrix-js-sdk-end-to-end.test.ts: here alice's client tops its keys up again as soon as it sees.)
    bob.getCrypto()!.prepareToEncrypt(bob.getRoom(roomId)!);
    await waitUntil("alice's device cross-signed at bob", async () => (await bob.getCrypto()!.getDeviceVerificationStatus(aliceId, alice.getDeviceId()!))?.signedByOwner === true);

    const batch = await bob.getCrypto()!.encryptToDeviceMessages("m.test.secret", [{ userId: aliceId, deviceId: alice.getDeviceId()! }], { hello: "alice" });
    assert.equal(batch.batch.length, 1, "an Olm session with alice's device");
    assert.equal((batch.batch[0]!.payload as { algorithm?: string }).algorithm, "m.olm.v1.curve25519-aes-sha2");
    const received = waitFor<MatrixEvent>("the to-device message at alice", (done) => {
      const f = (e: MatrixEvent) => {
        if (e.getType() === "m.test.secret") done(e);
      };
      alice.on(ClientEvent.ToDeviceEvent, f);
      return () => alice.off(ClientEvent.ToDeviceEvent, f);
    });
    await bob.sendToDevice("m.room.encrypted", new Map([[aliceId, new Map([[alice.getDeviceId()!, batch.batch[0]!.payload]])]]));
    const event = await received;
    assert.deepEqual(event.getContent(), { hello: "alice" });
    assert.equal(event.getSender(), bob.getUserId());
    // Zion carried an m.room.encrypted to-device event; "m.test.secret" exists only inside its Olm ciphertext.
    assert.equal(event.getType(), "m.test.secret");
  });
});
