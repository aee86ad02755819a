/**
 * matrix-js-sdk 37.5 (the real client, from npm) against a real Zion over loopback, through the client's own sync
 * loop (startClient): two users register, one creates a room and invites the other, who joins; they exchange
 * messages; typing notifications and read receipts arrive; a display-name change reaches the other as a member
 * event; and a client restarted with its stored since token (the SDK's saved-sync path, as with IndexedDB), after
 * a server restart too, catches up on what was sent meanwhile without a gap.
 *
 * matrix-js-sdk arms a local timeout of 80 s + the poll timeout for each /sync and never clears it, which kept the
 * file's process alive about 110 s after the test; test/harness/sdk-quiet.js unrefs those timers.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientEvent, MemoryStore, RoomEvent, RoomMemberEvent, createClient, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";
import { SyncAccumulator, type ISyncResponse } from "matrix-js-sdk/lib/sync-accumulator.js";
import { scryptHasher } from "../../src/api/index.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import "../harness/sdk-quiet.js";
import { startTestServer, type TestServer } from "../harness/server.js";

/** A store that keeps what the client synced, as IndexedDBStore does, so a new client can start from it. */
class SavedSyncStore extends MemoryStore {
  constructor(private readonly acc: SyncAccumulator) {
    super();
  }
  override async setSyncData(data: ISyncResponse): Promise<void> {
    this.acc.accumulate(data);
  }
  override async getSavedSync() {
    return this.acc.getNextBatchToken() ? this.acc.getJSON() : null;
  }
  override async getSavedSyncToken() {
    return this.acc.getNextBatchToken() || null;
  }
}

const dir = mkdtempSync(join(tmpdir(), "zion-sdk-sync-"));
const dbPath = join(dir, "homeserver.db");
const generous = { per_second: 1000, burst_count: 1000 };

async function start(): Promise<TestServer> {
  return startTestServer({
    config: { enable_registration: true, enable_registration_without_verification: true, rc_login: { address: generous, account: generous, failed_attempts: generous }, rc_registration: generous, rc_message: generous },
    storage: await openSqliteStorage({ path: dbPath }),
    startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
  });
}

function waitFor<T>(what: string, subscribe: (done: (v: T) => void) => () => void, ms = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const t = setTimeout(() => { off(); reject(new Error(`timed out waiting for ${what}`)); }, ms);
    off = subscribe((v) => { clearTimeout(t); off(); resolve(v); });
  });
}

describe("matrix-js-sdk 37.5 against Zion: sync", () => {
  let zion: TestServer;
  const clients: MatrixClient[] = [];
  before(async () => {
    zion = await start();
  });
  after(async () => {
    for (const c of clients) c.stopClient();
    await zion?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function register(name: string, store?: MemoryStore): Promise<{ client: MatrixClient; creds: { userId: string; accessToken: string; deviceId: string } }> {
    const anon = createClient({ baseUrl: zion.clientUrl! });
    const session = await anon.registerRequest({ username: name, password: "sdk password 1" }).catch((e: { data?: Record<string, unknown> }) => String(e.data?.["session"]));
    const r = await anon.registerRequest({ username: name, password: "sdk password 1", auth: { type: "m.login.dummy", session: String(session) } });
    const creds = { userId: r.user_id, accessToken: r.access_token!, deviceId: r.device_id! };
    return { client: connect(creds, store), creds };
  }
  function connect(creds: { userId: string; accessToken: string; deviceId: string }, store?: MemoryStore): MatrixClient {
    const c = createClient({ baseUrl: zion.clientUrl!, ...creds, ...(store ? { store } : {}) });
    clients.push(c);
    return c;
  }
  async function startAndWait(c: MatrixClient): Promise<void> {
    const ready = waitFor<void>("the first sync", (done) => {
      const f = (state: string) => { if (state === "PREPARED" || state === "SYNCING") done(); };
      c.on(ClientEvent.Sync, f);
      return () => c.off(ClientEvent.Sync, f);
    });
    await c.startClient({ initialSyncLimit: 20 });
    await ready;
  }
  const messageArrives = (c: MatrixClient, roomId: string, body: string) =>
    waitFor<MatrixEvent>(`"${body}" at ${c.getUserId()}`, (done) => {
      const f = (e: MatrixEvent) => { if (e.getRoomId() === roomId && e.getContent()["body"] === body) done(e); };
      c.on(RoomEvent.Timeline, f);
      return () => c.off(RoomEvent.Timeline, f);
    });

  it("two users create, invite, join, chat, type, read, rename, and a restarted client catches up", async () => {
    const acc = new SyncAccumulator();
    const { client: alice } = await register("alice");
    const { client: bob, creds: bobCreds } = await register("bob", new SavedSyncStore(acc));
    await startAndWait(alice);
    await startAndWait(bob);

    // Create, invite, join.
    const invited = waitFor<string>("bob's invite", (done) => {
      const f = (_e: MatrixEvent, m: { userId: string; membership?: string; roomId: string }) => { if (m.userId === bob.getUserId() && m.membership === "invite") done(m.roomId); };
      bob.on(RoomMemberEvent.Membership, f);
      return () => bob.off(RoomMemberEvent.Membership, f);
    });
    const { room_id: roomId } = await alice.createRoom({ name: "sdk room", preset: "private_chat" as never });
    await alice.invite(roomId, bob.getUserId()!);
    assert.equal(await invited, roomId);
    const bobJoined = waitFor<void>("bob's join at alice", (done) => {
      const f = (_e: MatrixEvent, m: { userId: string; membership?: string }) => { if (m.userId === bob.getUserId() && m.membership === "join") done(); };
      alice.on(RoomMemberEvent.Membership, f);
      return () => alice.off(RoomMemberEvent.Membership, f);
    });
    await bob.joinRoom(roomId);
    await bobJoined;

    // Messages both ways, seen through each client's own sync.
    const atBob = messageArrives(bob, roomId, "hello bob");
    await alice.sendTextMessage(roomId, "hello bob");
    const helloAtBob = await atBob;
    const atAlice = messageArrives(alice, roomId, "hi alice");
    await bob.sendTextMessage(roomId, "hi alice");
    await atAlice;
    assert.equal(bob.getRoom(roomId)?.name, "sdk room");

    // Typing.
    const typing = waitFor<void>("alice typing at bob", (done) => {
      const f = (_e: MatrixEvent, m: { userId: string; typing: boolean }) => { if (m.userId === alice.getUserId() && m.typing) done(); };
      bob.on(RoomMemberEvent.Typing, f);
      return () => bob.off(RoomMemberEvent.Typing, f);
    });
    await alice.sendTyping(roomId, true, 20_000);
    await typing;

    // Read receipt.
    const receipt = waitFor<void>("bob's receipt at alice", (done) => {
      const f = (e: MatrixEvent) => { if (JSON.stringify(e.getContent()).includes(bob.getUserId()!) && JSON.stringify(e.getContent()).includes(helloAtBob.getId()!)) done(); };
      alice.on(RoomEvent.Receipt, f);
      return () => alice.off(RoomEvent.Receipt, f);
    });
    await bob.sendReadReceipt(helloAtBob);
    await receipt;

    // Display name → member event in the room.
    const renamed = waitFor<void>("bob's new name at alice", (done) => {
      const f = (e: MatrixEvent) => { if (e.getType() === "m.room.member" && e.getStateKey() === bob.getUserId() && e.getContent()["displayname"] === "Bobby") done(); };
      alice.on(RoomEvent.Timeline, f);
      return () => alice.off(RoomEvent.Timeline, f);
    });
    await bob.setDisplayName("Bobby");
    await renamed;
    assert.equal(alice.getRoom(roomId)?.getMember(bob.getUserId()!)?.name, "Bobby");

    // Bob stops; alice sends while he is away and the server restarts; a new client from bob's saved sync catches up.
    bob.stopClient();
    const savedToken = acc.getNextBatchToken();
    assert.ok(savedToken);
    alice.stopClient();
    await zion.stop();
    zion = await start();
    const alice2 = connect({ userId: alice.getUserId()!, accessToken: alice.getAccessToken()!, deviceId: alice.getDeviceId()! });
    for (const body of ["away 1", "away 2", "away 3"]) await alice2.sendTextMessage(roomId, body);
    const bob2 = connect(bobCreds, new SavedSyncStore(acc));
    const caughtUp = messageArrives(bob2, roomId, "away 3");
    await startAndWait(bob2);
    await caughtUp;
    const bodies = bob2.getRoom(roomId)!.getLiveTimeline().getEvents().filter((e) => e.getType() === "m.room.message").map((e) => e.getContent()["body"]);
    assert.deepEqual(bodies.slice(-5), ["hello bob", "hi alice", "away 1", "away 2", "away 3"], "the saved history and the new messages, in order, without a gap");
  });
});
