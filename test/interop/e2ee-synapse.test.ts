/**
 * An encrypted room across Zion and the pinned Synapse (issue 15), over real TLS with certificates from the test CA,
 * both named by IP literal on 127.0.37.5x, with matrix-js-sdk clients and their Rust crypto on both sides (each its
 * own /sync loop, test/harness/crypto-client.ts). Every step needs the federation side of end-to-end encryption:
 * /user/keys/query and /user/keys/claim of the other server's users, megolm sessions sent as Olm-encrypted
 * to-device messages (m.direct_to_device), and device lists kept current by m.device_list_update EDUs and shown to
 * the clients in /sync's device_lists.
 * https://spec.matrix.org/v1.16/server-server-api/#end-to-end-encryption
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CryptoClients, createEncryptedRoom, loginNewDevice, registerUser, waitForDecryptedEvent, waitUntil, type CryptoClient, type DeviceCredentials } from "../harness/crypto-client.js";
import { clientCaller } from "../harness/http-get.js";
import { synapseAndZionSuite } from "../harness/synapse-and-zion-suite.js";

const SYNAPSE_HOST = "127.0.37.50";
const ZION_HOST = "127.0.37.51";
const WAIT = 60_000;

describe("an encrypted room between Zion and Synapse, Rust crypto on both sides", { timeout: 600_000 }, () => {
  const clients = new CryptoClients();
  // Registered before the suite's hooks, so the clients stop before the servers do (after hooks run in order).
  after(() => clients.stopAll());
  const t = synapseAndZionSuite({
    prefix: "zion-e2ee-synapse-", synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.37.0/24", users: false,
    zionConfig: { rc_login: { address: { per_second: 1000, burst_count: 1000 }, account: { per_second: 1000, burst_count: 1000 }, failed_attempts: { per_second: 1000, burst_count: 1000 } } },
  });

  async function synapseUser(username: string): Promise<DeviceCredentials> {
    const u = await t.synapse.registerUser({ username });
    return { baseUrl: t.synapse.clientUrl, userId: u.userId, deviceId: u.deviceId, accessToken: u.accessToken, password: "interop-pw" };
  }

  const knowsDevice = async (c: CryptoClient, userId: string, deviceId: string): Promise<boolean> =>
    (await c.crypto.getUserDeviceInfo([userId])).get(userId)?.has(deviceId) === true;

  it("messages decrypt both ways, and new and deleted devices on either side reach the other side's clients", async () => {
    const alice = await clients.start(await registerUser(t.zionServer.clientUrl!, "alice", "alice password 1"));
    const bob = await clients.start(await synapseUser("bob"));
    const aliceId = alice.creds.userId;
    const bobId = bob.creds.userId;

    // The room is on Zion; bob is invited over federation and joins through Zion.
    const roomId = await createEncryptedRoom(alice.client, [bobId]);
    await waitUntil("bob's invite at Synapse", () => bob.client.getRoom(roomId)?.getMyMembership() === "invite", WAIT);
    await bob.client.joinRoom(roomId, { viaServers: [t.zionName] });
    await waitUntil("bob joined, seen by alice", () => alice.client.getRoom(roomId)?.getMember(bobId)?.membership === "join", WAIT);
    await waitUntil("the room encrypted at bob", async () => (await bob.crypto.isEncryptionEnabledInRoom(roomId)) === true, WAIT);

    // 1. One message each way, each decrypted by the other side's client.
    const atBob = waitForDecryptedEvent(bob.client, roomId, (c) => c["body"] === "hello from Zion", WAIT);
    await alice.client.sendTextMessage(roomId, "hello from Zion");
    const hello = await atBob;
    assert.equal(hello.getWireType(), "m.room.encrypted", "it crossed the servers encrypted");
    assert.equal(hello.getWireContent()["algorithm"], "m.megolm.v1.aes-sha2");
    assert.equal(hello.getSender(), aliceId);
    const atAlice = waitForDecryptedEvent(alice.client, roomId, (c) => c["body"] === "hello from Synapse", WAIT);
    await bob.client.sendTextMessage(roomId, "hello from Synapse");
    const hi = await atAlice;
    assert.equal(hi.getWireType(), "m.room.encrypted");
    assert.equal(hi.getSender(), bobId);
    const raw = await alice.client.fetchRoomEvent(roomId, hi.getId()!);
    assert.equal(raw.type, "m.room.encrypted");
    assert.ok(!JSON.stringify(raw).includes("hello from Synapse"), "Zion holds ciphertext only");

    // 2. Bob logs in a second device on Synapse: alice's client hears of it (device_lists.changed on Zion, from
    // Synapse's m.device_list_update) and encrypts her next message for it too.
    const bob2 = await clients.start(await loginNewDevice(t.synapse.clientUrl, bobId, "interop-pw"));
    await waitUntil("alice's client knows bob's second device", () => knowsDevice(alice, bobId, bob2.creds.deviceId), WAIT);
    const atBob2 = waitForDecryptedEvent(bob2.client, roomId, (c) => c["body"] === "to both of bob's devices", WAIT);
    const atBob1 = waitForDecryptedEvent(bob.client, roomId, (c) => c["body"] === "to both of bob's devices", WAIT);
    await alice.client.sendTextMessage(roomId, "to both of bob's devices");
    await Promise.all([atBob1, atBob2]);

    // 3. Alice logs in a second device on Zion: bob's client hears of it and encrypts for it.
    const alice2 = await clients.start(await loginNewDevice(t.zionServer.clientUrl!, aliceId, "alice password 1"));
    await waitUntil("bob's client knows alice's second device", () => knowsDevice(bob, aliceId, alice2.creds.deviceId), WAIT);
    const atAlice2 = waitForDecryptedEvent(alice2.client, roomId, (c) => c["body"] === "to both of alice's devices", WAIT);
    const atAlice1 = waitForDecryptedEvent(alice.client, roomId, (c) => c["body"] === "to both of alice's devices", WAIT);
    await bob.client.sendTextMessage(roomId, "to both of alice's devices");
    await Promise.all([atAlice1, atAlice2]);

    // 4. Each deletes its second device; the other side's client forgets it.
    await bob2.stop();
    await deleteDevice(t.synapse.clientUrl, bob.creds, bob2.creds.deviceId);
    await waitUntil("alice's client forgets bob's second device", async () => !(await knowsDevice(alice, bobId, bob2.creds.deviceId)), WAIT);
    await alice2.stop();
    await deleteDevice(t.zionServer.clientUrl!, alice.creds, alice2.creds.deviceId);
    await waitUntil("bob's client forgets alice's second device", async () => !(await knowsDevice(bob, aliceId, alice2.creds.deviceId)), WAIT);
    assert.equal(await knowsDevice(alice, bobId, bob.creds.deviceId), true, "bob's first device stays");
    assert.equal(await knowsDevice(bob, aliceId, alice.creds.deviceId), true, "alice's first device stays");
  });

  it("an encrypted room on Synapse joined by a Zion user: messages decrypt both ways, and a Zion user's new device decrypts the next Synapse message", async () => {
    const carol = await clients.start(await synapseUser("carol"));
    const dave = await clients.start(await registerUser(t.zionServer.clientUrl!, "dave", "dave password 1"));
    const roomId = await createEncryptedRoom(carol.client, [dave.creds.userId]);
    await waitUntil("dave's invite at Zion", () => dave.client.getRoom(roomId)?.getMyMembership() === "invite", WAIT);
    await dave.client.joinRoom(roomId, { viaServers: [t.synapse.serverName] });
    await waitUntil("dave joined, seen by carol", () => carol.client.getRoom(roomId)?.getMember(dave.creds.userId)?.membership === "join", WAIT);
    await waitUntil("the room encrypted at dave", async () => (await dave.crypto.isEncryptionEnabledInRoom(roomId)) === true, WAIT);

    const atDave = waitForDecryptedEvent(dave.client, roomId, (c) => c["body"] === "hello from Synapse's room", WAIT);
    await carol.client.sendTextMessage(roomId, "hello from Synapse's room");
    assert.equal((await atDave).getSender(), carol.creds.userId);
    const atCarol = waitForDecryptedEvent(carol.client, roomId, (c) => c["body"] === "hello back from Zion", WAIT);
    await dave.client.sendTextMessage(roomId, "hello back from Zion");
    const back = await atCarol;
    assert.equal(back.getWireType(), "m.room.encrypted");
    assert.equal(back.getSender(), dave.creds.userId);

    const dave2 = await clients.start(await loginNewDevice(t.zionServer.clientUrl!, dave.creds.userId, "dave password 1"));
    await waitUntil("carol's client knows dave's second device", () => knowsDevice(carol, dave.creds.userId, dave2.creds.deviceId), WAIT);
    const atDave2 = waitForDecryptedEvent(dave2.client, roomId, (c) => c["body"] === "for dave's new device too", WAIT);
    await carol.client.sendTextMessage(roomId, "for dave's new device too");
    assert.equal((await atDave2).getSender(), carol.creds.userId);
  });
});

/** DELETE /devices/{deviceId} with the password stage of user-interactive auth (the first request asks for it). */
async function deleteDevice(baseUrl: string, creds: DeviceCredentials, deviceId: string): Promise<void> {
  const call = clientCaller(() => baseUrl);
  const path = `/_matrix/client/v3/devices/${encodeURIComponent(deviceId)}`;
  const first = await call("DELETE", path, {}, creds.accessToken);
  assert.equal(first.status, 401, first.body);
  const session = first.json()["session"] as string | undefined;
  const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: creds.userId }, password: creds.password, ...(session ? { session } : {}) };
  const second = await call("DELETE", path, { auth }, creds.accessToken);
  assert.equal(second.status, 200, second.body);
}
