/**
 * An encrypted room across two Zions (in-process, real TLS on 127.0.24.x:8448, test-CA certificates) with two
 * matrix-js-sdk 37.5 clients using its Rust crypto (initRustCrypto, in-memory store): alice on hs1 creates an
 * encrypted room, bob on hs2 joins it over federation; each client's own sync loop runs. Each message needs the
 * federation side of end-to-end encryption: /keys/query and /keys/claim of the other server's user (through
 * /user/keys/query and /user/keys/claim), the megolm session sent as an Olm-encrypted to-device message
 * (m.direct_to_device), and device lists learnt through /sync's device_lists.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientEvent, MatrixEventEvent, RoomEvent, createClient, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";
import { scryptHasher } from "../../src/api/index.js";
import type { ServerName, UserId } from "../../src/core/ids/index.js";
import { startIpLiteralZions } from "../harness/federated-zion.js";
import type { TestServer } from "../harness/server.js";
import { createTestCa } from "../harness/test-ca.js";

// A pair of 127.0.24.0/24 above the one federation-e2ee.test.ts draws from.
const BASE = 220 + 2 * Math.floor(Math.random() * 15);
const IPS = [`127.0.24.${BASE}`, `127.0.24.${BASE + 1}`];

function waitFor<T>(what: string, subscribe: (done: (v: T) => void) => () => void, ms = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const t = setTimeout(() => { off(); reject(new Error(`timed out waiting for ${what}`)); }, ms);
    off = subscribe((v) => { clearTimeout(t); off(); resolve(v); });
  });
}

async function until(what: string, f: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("matrix-js-sdk 37.5 Rust crypto across two Zions: an encrypted room", { timeout: 180_000 }, () => {
  let dir: string;
  const hs: TestServer[] = [];
  const names: ServerName[] = [];
  const clients: MatrixClient[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-sdk-fede2ee-"));
    const ca = await createTestCa(dir);
    const started = await startIpLiteralZions(ca, IPS, "127.0.24.0/24", { passwordHasher: scryptHasher({ ln: 10 }) });
    hs.push(...started.servers);
    names.push(...started.names);
  });
  after(async () => {
    for (const c of clients) c.stopClient();
    await Promise.all(hs.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  async function cryptoClient(i: number, username: string): Promise<MatrixClient> {
    const baseUrl = hs[i]!.clientUrl!;
    const r = await createClient({ baseUrl }).registerRequest({ username, password: `${username} password 1`, auth: { type: "m.login.dummy" } });
    const c = createClient({ baseUrl, userId: r.user_id, deviceId: r.device_id!, accessToken: r.access_token! });
    clients.push(c);
    await c.initRustCrypto({ useIndexedDB: false });
    const ready = waitFor<void>(`${username}'s first sync`, (done) => {
      const f = (state: string) => { if (state === "PREPARED" || state === "SYNCING") done(); };
      c.on(ClientEvent.Sync, f);
      return () => c.off(ClientEvent.Sync, f);
    });
    await c.startClient({ initialSyncLimit: 20 });
    await ready;
    // The Rust crypto uploads the device's keys after the first sync.
    await until(`${username}'s device keys`, async () => (await hs[i]!.homeserver!.storage.e2ee.getDeviceKeys([{ userId: r.user_id as UserId, deviceIds: [] }])).size > 0);
    return c;
  }

  /** The next message of `roomId` at `c`, decrypted. */
  const decrypted = (c: MatrixClient, roomId: string, body: string): Promise<MatrixEvent> =>
    waitFor<MatrixEvent>(`"${body}" decrypted at ${c.getUserId()}`, (done) => {
      const check = (e: MatrixEvent) => {
        if (e.getRoomId() !== roomId || e.isDecryptionFailure()) return;
        if (e.getType() === "m.room.message" && e.getContent()["body"] === body) done(e);
      };
      const onTimeline = (e: MatrixEvent) => {
        if (e.isBeingDecrypted() || e.getType() === "m.room.encrypted") e.once(MatrixEventEvent.Decrypted, () => check(e));
        else check(e);
      };
      c.on(RoomEvent.Timeline, onTimeline);
      return () => c.off(RoomEvent.Timeline, onTimeline);
    }, 60_000);

  it("alice on hs1 and bob on hs2 each decrypt the other's megolm message", async () => {
    const alice = await cryptoClient(0, "alice");
    const bob = await cryptoClient(1, "bob");
    const { room_id: roomId } = await alice.createRoom({
      preset: "public_chat" as never, name: "secret",
      initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
    });
    const bobSeesRoom = waitFor<void>("the room at bob", (done) => {
      const f = () => { if (bob.getRoom(roomId)?.getMyMembership() === "join") done(); };
      bob.on(ClientEvent.Room, f);
      bob.on(RoomEvent.MyMembership, f);
      return () => { bob.off(ClientEvent.Room, f); bob.off(RoomEvent.MyMembership, f); };
    });
    await bob.joinRoom(roomId, { viaServers: [names[0]!] });
    await bobSeesRoom;
    await until("bob joined at alice", async () => alice.getRoom(roomId)?.getMember(bob.getUserId()!)?.membership === "join");
    assert.equal(await alice.getCrypto()!.isEncryptionEnabledInRoom(roomId), true);

    const atBob = decrypted(bob, roomId, "hello from hs1");
    await alice.sendTextMessage(roomId, "hello from hs1");
    const e1 = await atBob;
    assert.equal(e1.getWireType(), "m.room.encrypted", "it crossed the servers encrypted");
    assert.equal(e1.getSender(), alice.getUserId());

    const atAlice = decrypted(alice, roomId, "hello from hs2");
    await bob.sendTextMessage(roomId, "hello from hs2");
    const e2 = await atAlice;
    assert.equal(e2.getWireType(), "m.room.encrypted");
    assert.equal(e2.getSender(), bob.getUserId());
  });
});
