/**
 * matrix-js-sdk 37.5 (the real client library, from npm) against a real Zion child process, through the SDK's
 * HTTP calls for rooms only (its /sync-based features come with src/sync): createRoom, invite, joinRoom,
 * sendMessage, sendStateEvent, getStateEvent, createMessagesRequest, members, redactEvent, leave, kick, ban; relations,
 * createThreadListMessagesRequest, timestampToEvent and upgradeRoom.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient, Direction, FeatureSupport, Thread, ThreadFilterType, type MatrixClient } from "matrix-js-sdk";
import "../harness/sdk-quiet.js";
import { startTestServer, type TestServer } from "../harness/server.js";

describe("matrix-js-sdk 37.5 against Zion: rooms and events", () => {
  let zion: TestServer;
  let alice: MatrixClient, bob: MatrixClient, carol: MatrixClient;
  const generous = { per_second: 100, burst_count: 100 };
  before(async () => {
    zion = await startTestServer({
      mode: "child",
      config: {
        enable_registration: true,
        enable_registration_without_verification: true,
        rc_login: { address: generous },
        rc_registration: generous,
        rc_message: generous,
        rc_joins: { local: generous },
        rc_invites: { per_room: generous, per_user: generous, per_issuer: generous },
      },
    });
    const register = async (username: string): Promise<MatrixClient> => {
      const anon = createClient({ baseUrl: zion.clientUrl! });
      const r = await anon.registerRequest({ username, password: `${username} password 1`, auth: { type: "m.login.dummy" } });
      return createClient({ baseUrl: zion.clientUrl!, accessToken: r.access_token!, userId: r.user_id, deviceId: r.device_id! });
    };
    [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map(register)) as [MatrixClient, MatrixClient, MatrixClient];
  });
  after(() => zion?.stop());

  it("creates a room, invites, joins, exchanges messages and state, pages history, lists members, redacts, kicks, bans and leaves", async () => {
    const { room_id: roomId } = await alice.createRoom({ name: "SDK room", topic: "testing", preset: "private_chat" as never });
    assert.match(roomId, /^!.+:zion\.test$/);

    await alice.invite(roomId, "@bob:zion.test");
    await bob.joinRoom(roomId);
    const hello = await bob.sendMessage(roomId, { msgtype: "m.text", body: "hello from bob" } as never);
    assert.match(hello.event_id, /^\$/);
    const reply = await alice.sendMessage(roomId, { msgtype: "m.text", body: "hi bob" } as never);

    await alice.sendStateEvent(roomId, "m.room.topic" as never, { topic: "new topic" } as never, "");
    assert.deepEqual(await bob.getStateEvent(roomId, "m.room.topic", ""), { topic: "new topic" });
    assert.deepEqual(await bob.getStateEvent(roomId, "m.room.name", ""), { name: "SDK room" });
    const refused = await bob.sendStateEvent(roomId, "m.room.name" as never, { name: "bob's room" } as never, "").then(
      () => assert.fail("bob has too little power to rename the room"),
      (e: { errcode?: string; httpStatus?: number }) => e,
    );
    assert.equal(refused.httpStatus, 403);
    assert.equal(refused.errcode, "M_FORBIDDEN");

    const page = await bob.createMessagesRequest(roomId, null, 3, Direction.Backward);
    assert.deepEqual(page.chunk.map((e) => e.type), ["m.room.topic", "m.room.message", "m.room.message"]);
    assert.equal(page.chunk[1]!.event_id, reply.event_id);
    assert.ok(page.end, "more history to page");
    const older = await bob.createMessagesRequest(roomId, page.end!, 100, Direction.Backward);
    assert.equal(older.chunk[older.chunk.length - 1]!.type, "m.room.create");

    const members = await alice.members(roomId);
    assert.deepEqual(members.chunk!.map((e) => e.state_key).sort(), ["@alice:zion.test", "@bob:zion.test"]);

    await bob.redactEvent(roomId, hello.event_id, undefined, { reason: "typo" });
    const redacted = await alice.fetchRoomEvent(roomId, hello.event_id);
    assert.deepEqual(redacted.content, {});

    await alice.invite(roomId, "@carol:zion.test");
    await carol.joinRoom(roomId);
    await alice.kick(roomId, "@carol:zion.test", "bye");
    const afterKick = await alice.members(roomId, "join");
    assert.ok(!afterKick.chunk!.some((e) => e.state_key === "@carol:zion.test"));
    await alice.ban(roomId, "@carol:zion.test", "really bye");
    const rejoin = await carol.joinRoom(roomId).then(
      () => assert.fail("a banned user cannot join"),
      (e: { errcode?: string }) => e,
    );
    assert.equal(rejoin.errcode, "M_FORBIDDEN");

    await bob.leave(roomId);
    const left = await alice.members(roomId);
    assert.equal(left.chunk!.find((e) => e.state_key === "@bob:zion.test")?.content["membership"], "leave");
    assert.equal(left.chunk!.find((e) => e.state_key === "@carol:zion.test")?.content["membership"], "ban");
  });

  it("reads relations and thread lists, finds events by timestamp and upgrades a room through the SDK's own requests", async () => {
    const { room_id: roomId } = await alice.createRoom({ preset: "private_chat" as never, invite: ["@bob:zion.test"] });
    await bob.joinRoom(roomId);
    const root = await alice.sendMessage(roomId, { msgtype: "m.text", body: "a thread" } as never);
    const reply = await bob.sendMessage(roomId, { msgtype: "m.text", body: "in it", "m.relates_to": { rel_type: "m.thread", event_id: root.event_id } } as never);
    const edit = await alice.sendMessage(roomId, { msgtype: "m.text", body: "* a thread!", "m.new_content": { msgtype: "m.text", body: "a thread!" }, "m.relates_to": { rel_type: "m.replace", event_id: root.event_id } } as never);

    const rel = await bob.relations(roomId, root.event_id, "m.thread", null);
    assert.equal(rel.originalEvent?.getId(), root.event_id);
    assert.deepEqual(rel.events.map((e) => e.getId()), [reply.event_id]);
    const edits = await bob.relations(roomId, root.event_id, "m.replace", null);
    assert.deepEqual(edits.events.map((e) => e.getId()), [edit.event_id]);

    // The SDK asks /versions before choosing the stable /threads path; this client never syncs, so say it here.
    Thread.setServerSideListSupport(FeatureSupport.Stable);
    const threads = await bob.createThreadListMessagesRequest(roomId, null, 10, Direction.Backward, ThreadFilterType.All);
    assert.deepEqual(threads.chunk.map((e) => e.event_id), [root.event_id]);
    const summary = (threads.chunk[0]!.unsigned as Record<string, Record<string, Record<string, unknown>>>)["m.relations"]!["m.thread"]!;
    assert.equal(summary["count"], 1);
    assert.equal(summary["current_user_participated"], true);
    assert.equal((summary["latest_event"] as { event_id: string }).event_id, reply.event_id);

    const rootEvent = await alice.fetchRoomEvent(roomId, root.event_id);
    const found = await bob.timestampToEvent(roomId, rootEvent.origin_server_ts!, Direction.Forward);
    assert.deepEqual(found, { event_id: root.event_id, origin_server_ts: rootEvent.origin_server_ts });

    const { replacement_room: replacement } = await alice.upgradeRoom(roomId, "11");
    assert.notEqual(replacement, roomId);
    assert.equal((await alice.getStateEvent(roomId, "m.room.tombstone", ""))["replacement_room"], replacement);
    assert.equal(((await alice.getStateEvent(replacement, "m.room.create", ""))["predecessor"] as { room_id: string }).room_id, roomId);
    const refused = await bob.upgradeRoom(replacement, "12").then(
      () => assert.fail("bob has too little power to upgrade"),
      (e: { errcode?: string; httpStatus?: number }) => e,
    );
    assert.equal(refused.httpStatus, 403);
    assert.equal(refused.errcode, "M_FORBIDDEN");
  });
});
