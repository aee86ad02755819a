/**
 * An encrypted room across three Zion processes (test/harness/three-servers.ts: hs1.test found by `.well-known`,
 * hs2.test by SRV, hs3.test by its A record on 8448, through real DNS, TLS from the test CA) with matrix-js-sdk 37.5
 * clients using its Rust crypto (initRustCrypto, in-memory store; test/harness/crypto-client.ts), each running its
 * own sync loop: alice on hs1 creates the room with m.room.encryption, bob on hs2 and carol on hs3 join it by alias.
 *
 * Every message needs the federation side of end-to-end encryption: /keys/query and /keys/claim of the other
 * servers' users (through /user/keys/query and /user/keys/claim), the megolm session sent as Olm-encrypted to-device
 * messages (m.direct_to_device), and device lists learnt through /sync's device_lists (m.device_list_update for a
 * device added later).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Direction, type MatrixEvent } from "matrix-js-sdk";
import { CryptoClients, MEGOLM_ENCRYPTION, loginNewDevice, registerUser, waitForDecryptedEvent, waitUntil, type CryptoClient } from "../harness/crypto-client.js";
import { startThreeServers, type HsName, type ThreeServers } from "../harness/three-servers.js";

const ALIAS = "#secret:hs1.test";

describe("matrix-js-sdk 37.5 Rust crypto across three Zions: an encrypted room", { timeout: 900_000 }, () => {
  let net: ThreeServers;
  const clients = new CryptoClients();
  let alice: CryptoClient, bob: CryptoClient, carol: CryptoClient;
  let roomId: string;

  const user = async (hs: HsName, username: string): Promise<CryptoClient> =>
    clients.start(await registerUser(net.hs[hs].clientUrl, username, `${username} password 1`));

  before(async () => {
    net = await startThreeServers();
    [alice, bob, carol] = await Promise.all([user("hs1", "alice"), user("hs2", "bob"), user("hs3", "carol")]);
  });
  after(async () => {
    await clients.stopAll();
    await net?.stop();
  });

  const joinedAt = (viewer: CryptoClient, userId: string) =>
    waitUntil(`${userId} joined at ${viewer.creds.userId}`, () => viewer.client.getRoom(roomId)?.getMember(userId)?.membership === "join", 60_000);

  /** The event as `viewer`'s server serves it over /messages: what the servers carried. */
  const onTheServer = async (viewer: CryptoClient, eventId: string): Promise<{ type: string; content: Record<string, unknown> }> => {
    const r = await viewer.client.createMessagesRequest(roomId, null, 100, Direction.Backward);
    const e = r.chunk.find((x) => x.event_id === eventId);
    assert.ok(e, `${eventId} in ${viewer.creds.userId}'s /messages`);
    return { type: e.type, content: e.content as Record<string, unknown> };
  };

  /** `sender` sends `body`; each of `receivers` decrypts it, and no server saw it in the clear. */
  const sendAndDecrypt = async (sender: CryptoClient, body: string, receivers: readonly CryptoClient[]): Promise<void> => {
    const arriving = receivers.map((r) => waitForDecryptedEvent(r.client, roomId, (c) => c["body"] === body, 60_000));
    const { event_id: eventId } = await sender.client.sendTextMessage(roomId, body);
    const got: MatrixEvent[] = await Promise.all(arriving);
    for (const [i, e] of got.entries()) {
      const at = receivers[i]!.creds.userId;
      assert.equal(e.getId(), eventId, `${at} decrypted the event sent`);
      assert.equal(e.isEncrypted(), true, `it reached ${at} encrypted`);
      assert.equal(e.getWireType(), "m.room.encrypted");
      assert.equal(e.getType(), "m.room.message");
      assert.equal(e.getSender(), sender.creds.userId);
      assert.equal(e.getContent()["body"], body);
      const stored = await onTheServer(receivers[i]!, eventId);
      assert.equal(stored.type, "m.room.encrypted", `${at}'s server holds it encrypted`);
      assert.equal(stored.content["algorithm"], MEGOLM_ENCRYPTION.algorithm);
      assert.equal(typeof stored.content["ciphertext"], "string");
      assert.ok(!JSON.stringify(stored.content).includes(body), `the body is not in the clear on ${at}'s server`);
    }
  };

  it("alice on hs1 creates an encrypted room, bob on hs2 and carol on hs3 join it by alias, and every client sees it encrypted with three members", async () => {
    ({ room_id: roomId } = await alice.client.createRoom({
      room_alias_name: "secret", preset: "public_chat" as never, name: "secret",
      initial_state: [{ type: "m.room.encryption", state_key: "", content: { ...MEGOLM_ENCRYPTION } }],
    }));
    assert.equal((await bob.client.joinRoom(ALIAS)).roomId, roomId);
    assert.equal((await carol.client.joinRoom(ALIAS)).roomId, roomId);
    const everyone = [alice, bob, carol];
    for (const viewer of everyone) for (const u of everyone) await joinedAt(viewer, u.creds.userId);
    for (const c of everyone) {
      await waitUntil(`the room encrypted at ${c.creds.userId}`, async () => (await c.crypto.isEncryptionEnabledInRoom(roomId)) === true);
    }
  });

  it("a message from each of the three servers decrypts on the other two servers' clients, and crossed the servers encrypted", async () => {
    await sendAndDecrypt(alice, "hello from hs1", [bob, carol]);
    await sendAndDecrypt(bob, "hello from hs2", [alice, carol]);
    await sendAndDecrypt(carol, "hello from hs3", [alice, bob]);
  });

  it("bob's second device, added on hs2 after the room began, is learnt by hs1's and hs3's clients and decrypts what they send next", async () => {
    const bob2 = await clients.start(await loginNewDevice(net.hs.hs2.clientUrl, bob.creds.userId, bob.creds.password));
    // hs2 announces the device (m.device_list_update); alice's and carol's syncs list bob in device_lists.changed and
    // their crypto downloads his devices again.
    for (const viewer of [alice, carol]) {
      await waitUntil(`${bob2.creds.deviceId} known at ${viewer.creds.userId}`, async () => {
        const devices = (await viewer.crypto.getUserDeviceInfo([bob.creds.userId])).get(bob.creds.userId);
        return devices?.has(bob2.creds.deviceId) === true;
      }, 60_000);
    }
    await sendAndDecrypt(alice, "to both of bob's devices, from hs1", [bob, bob2, carol]);
    await sendAndDecrypt(carol, "to both of bob's devices, from hs3", [alice, bob, bob2]);
    await sendAndDecrypt(bob2, "from bob's second device", [alice, bob, carol]);
  });

  it("dave, joining on hs3 later, decrypts the messages every server sends after he joined", async () => {
    const dave = await user("hs3", "dave");
    assert.equal((await dave.client.joinRoom(ALIAS)).roomId, roomId);
    for (const viewer of [alice, bob, carol, dave]) await joinedAt(viewer, dave.creds.userId);
    await sendAndDecrypt(alice, "welcome dave, from hs1", [bob, carol, dave]);
    await sendAndDecrypt(bob, "welcome dave, from hs2", [alice, carol, dave]);
    await sendAndDecrypt(carol, "welcome dave, from hs3", [alice, bob, dave]);
  });
});
