/**
 * matrix-js-sdk 37.5's SlidingSync (lib/sliding-sync.js, which speaks the simplified MSC4186 endpoint) against a
 * real Zion over loopback, through the client's own loop (startClient({slidingSync})): a list of the user's rooms
 * and a room subscription build the client's rooms (names, members, timelines as sent), the list's count matches,
 * and a message another user sends arrives live in the subscribed room's timeline.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientEvent, RoomEvent, createClient, type MatrixClient, type MatrixEvent, type Room } from "matrix-js-sdk";
import { SlidingSync, SlidingSyncEvent, SlidingSyncState } from "matrix-js-sdk/lib/sliding-sync.js";
import { scryptHasher } from "../../src/api/index.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";

const dir = mkdtempSync(join(tmpdir(), "zion-sdk-sss-"));
const generous = { per_second: 1000, burst_count: 1000 };

function waitFor<T>(what: string, subscribe: (done: (v: T) => void) => () => void, ms = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const t = setTimeout(() => { off(); reject(new Error(`timed out waiting for ${what}`)); }, ms);
    off = subscribe((v) => { clearTimeout(t); off(); resolve(v); });
  });
}

describe("matrix-js-sdk 37.5 SlidingSync against Zion", () => {
  let zion: TestServer;
  const clients: MatrixClient[] = [];
  const syncs: SlidingSync[] = [];
  before(async () => {
    zion = await startTestServer({
      config: { enable_registration: true, enable_registration_without_verification: true, rc_login: { address: generous, account: generous, failed_attempts: generous }, rc_registration: generous, rc_message: generous },
      storage: await openSqliteStorage({ path: join(dir, "homeserver.db") }),
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
  });
  after(async () => {
    for (const s of syncs) s.stop();
    for (const c of clients) c.stopClient();
    await zion?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function register(name: string): Promise<MatrixClient> {
    const anon = createClient({ baseUrl: zion.clientUrl! });
    const session = await anon.registerRequest({ username: name, password: "sdk password 1" }).catch((e: { data?: Record<string, unknown> }) => String(e.data?.["session"]));
    const r = await anon.registerRequest({ username: name, password: "sdk password 1", auth: { type: "m.login.dummy", session: String(session) } });
    const c = createClient({ baseUrl: zion.clientUrl!, userId: r.user_id, accessToken: r.access_token!, deviceId: r.device_id! });
    clients.push(c);
    return c;
  }

  it("builds the room list and a subscribed room's timeline, and receives a message live", async () => {
    const alice = await register("sssalice");
    const bob = await register("sssbob");
    const { room_id: quiet } = await alice.createRoom({ name: "Quiet room" });
    const { room_id: chat } = await alice.createRoom({ name: "Chat room", preset: "public_chat" as never });
    await bob.joinRoom(chat);
    for (const body of ["one", "two", "three"]) await alice.sendTextMessage(chat, body);

    const lists = new Map([["all", { ranges: [[0, 9]], timeline_limit: 1, required_state: [["m.room.name", ""], ["m.room.member", "$ME"]] }]]);
    const ss = new SlidingSync(zion.clientUrl!, lists as never, { timeline_limit: 10, required_state: [["*", "*"]] } as never, alice, 1000);
    syncs.push(ss);
    ss.modifyRoomSubscriptions(new Set([chat]));
    const firstResponse = waitFor<Record<string, unknown>>("the first sliding sync response", (done) => {
      const f = (state: SlidingSyncState, resp: unknown) => { if (state === SlidingSyncState.Complete && resp) done(resp as Record<string, unknown>); };
      ss.on(SlidingSyncEvent.Lifecycle, f);
      return () => ss.off(SlidingSyncEvent.Lifecycle, f);
    });
    const prepared = waitFor<void>("the client to be prepared", (done) => {
      const f = (state: string) => { if (state === "PREPARED" || state === "SYNCING") done(); };
      alice.on(ClientEvent.Sync, f);
      return () => alice.off(ClientEvent.Sync, f);
    });
    await alice.startClient({ slidingSync: ss });
    const resp = await firstResponse;
    await prepared;

    assert.equal(ss.getListData("all")?.joinedCount, 2);
    assert.deepEqual(Object.keys(resp["rooms"] as object).sort(), [chat, quiet].sort());
    const chatRoom = alice.getRoom(chat) as Room;
    const quietRoom = alice.getRoom(quiet) as Room;
    assert.equal(chatRoom.name, "Chat room");
    assert.equal(quietRoom.name, "Quiet room");
    const texts = (r: Room) => r.getLiveTimeline().getEvents().filter((e) => e.getType() === "m.room.message").map((e) => e.getContent()["body"]);
    // The subscription's timeline_limit (10) and the list's (1) combine to 10: all three messages.
    assert.deepEqual(texts(chatRoom), ["one", "two", "three"]);
    // The subscription's ["*", "*"] brought every member.
    assert.equal(chatRoom.getMember(bob.getUserId()!)?.membership, "join");
    assert.equal(chatRoom.getJoinedMemberCount(), 2);

    const live = waitFor<MatrixEvent>("bob's message to arrive live", (done) => {
      const f = (e: MatrixEvent, room: Room | undefined) => { if (room?.roomId === chat && e.getType() === "m.room.message" && e.getContent()["body"] === "live from bob") done(e); };
      alice.on(RoomEvent.Timeline, f);
      return () => alice.off(RoomEvent.Timeline, f);
    });
    await bob.sendTextMessage(chat, "live from bob");
    const e = await live;
    assert.equal(e.getSender(), bob.getUserId());
    assert.deepEqual(texts(chatRoom), ["one", "two", "three", "live from bob"]);
  });
});
