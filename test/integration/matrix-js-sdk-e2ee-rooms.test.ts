/**
 * End to end with matrix-js-sdk 37.5 and its Rust crypto on one Zion (issue 13): two users in an encrypted room,
 * each client sending through the normal client API and decrypting the other's message as it arrives through its
 * own /sync.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../harness/server.js";
import { CryptoClients, createEncryptedRoom, registerUser, waitForDecryptedEvent, waitUntil } from "../harness/crypto-client.js";

const generous = { per_second: 1000, burst_count: 1000 };

describe("matrix-js-sdk 37.5 Rust crypto on Zion: encrypted rooms", () => {
  let zion: TestServer;
  const clients = new CryptoClients();
  before(async () => {
    zion = await startTestServer({
      mode: "child",
      config: {
        enable_registration: true,
        enable_registration_without_verification: true,
        rc_login: { address: generous, account: generous, failed_attempts: generous },
        rc_registration: generous,
        rc_message: generous,
        rc_joins: { local: generous },
        rc_invites: { per_room: generous, per_user: generous, per_issuer: generous },
      },
    });
  });
  after(async () => {
    await clients.stopAll();
    await zion?.stop();
  });

  it("two users exchange Megolm messages in an m.megolm.v1.aes-sha2 room, each decrypting the other's through its own /sync", async () => {
    const alice = await clients.start(await registerUser(zion.clientUrl!, "alice", "alice password 1"));
    const bob = await clients.start(await registerUser(zion.clientUrl!, "bob", "bob password 1"));
    const roomId = await createEncryptedRoom(alice.client, [bob.creds.userId]);
    await waitUntil("bob's invite", () => bob.client.getRoom(roomId)?.getMyMembership() === "invite");
    await bob.client.joinRoom(roomId);
    await waitUntil("bob joined, seen by alice", () => alice.client.getRoom(roomId)?.getMember(bob.creds.userId)?.membership === "join");
    await waitUntil("the room encrypted at bob", async () => (await bob.crypto.isEncryptionEnabledInRoom(roomId)) === true);

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
});
