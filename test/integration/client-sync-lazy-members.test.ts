/**
 * GET /sync with lazy-loaded members (https://spec.matrix.org/v1.16/client-server-api/#lazy-loading-room-members)
 * on a real Zion over loopback (SQLite): an incremental sync whose timeline is not limited brings the member event
 * of a sender the client was never sent (a member who joined long ago and never spoke), once per device; a member
 * event already in an earlier timeline counts as sent; `include_redundant_members` sends it every time; a sync
 * retried from an earlier `since` (a lost response) sends it again; the MSC4222 `state_after` form does the same
 * under its own key; a filter without lazy loading is unchanged (no state for a timeline that is not limited).
 * Rooms are written through the server's own room pipeline (homeserver.rooms), the same path the room endpoints use.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import { parseCreateRoomRequest } from "../../src/core/rooms/index.js";
import type { RoomId, UserId } from "../../src/core/ids/index.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { clientCalls } from "../harness/client-calls.js";

const PASSWORD = "correct horse 1";
const generous = { per_second: 1000, burst_count: 1000 };
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- sync bodies are read field by field

const dir = mkdtempSync(join(tmpdir(), "zion-sync-lazy-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const LAZY = encodeURIComponent(JSON.stringify({ room: { state: { lazy_load_members: true } } }));
const REDUNDANT = encodeURIComponent(JSON.stringify({ room: { state: { lazy_load_members: true, include_redundant_members: true } } }));

describe("GET /sync with lazy-loaded members", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({
      config: { enable_registration: true, enable_registration_without_verification: true, rc_login: { address: generous, account: generous, failed_attempts: generous }, rc_registration: generous },
      storage: await openSqliteStorage({ path: join(dir, "homeserver.db") }),
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
  });
  after(() => zion?.stop());

  const { call, ok } = clientCalls(() => zion.clientUrl!);
  interface Session { userId: UserId; token: string; username: string }
  let n = 0;
  const register = async (): Promise<Session> => {
    const username = `l${++n}${Date.now() % 1000}`;
    const j = await ok(call("POST", "/_matrix/client/v3/register", { username, password: PASSWORD, auth: { type: "m.login.dummy" } }));
    return { userId: j["user_id"] as UserId, token: String(j["access_token"]), username };
  };
  /** Another device of the same user: its own sync sequence and its own record of members sent. */
  const login = async (s: Session): Promise<Session> => {
    const j = await ok(call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: s.username }, password: PASSWORD }));
    return { ...s, token: String(j["access_token"]) };
  };
  const hs = () => zion.homeserver!;
  /** Named: a room without a name has heroes in its summary, whose member events lazy loading sends too. */
  const createRoom = (creator: UserId): Promise<RoomId> =>
    hs().rooms.createRoom(creator, parseCreateRoomRequest({ preset: "public_chat", name: "a named room" }, creator, { defaultRoomVersion: "11" }));
  const say = (roomId: RoomId, sender: UserId, body: string) => hs().rooms.send(roomId, { type: "m.room.message", sender, content: { msgtype: "m.text", body } });
  const sync = (s: Session, q: string): Promise<J> => ok(call("GET", `/_matrix/client/v3/sync?${q}`, undefined, s.token));
  const membersIn = (j: J, roomId: RoomId, key = "state"): string[] =>
    (j["rooms"]["join"][roomId]?.[key]?.["events"] ?? []).filter((e: J) => e["type"] === "m.room.member").map((e: J) => e["state_key"]).sort();
  const timelineOf = (j: J, roomId: RoomId): J => j["rooms"]["join"][roomId]["timeline"];

  /** A room where `silent` joined long before the viewer's initial sync and has not spoken since. */
  const roomWithSilentMember = async () => {
    const viewer = await register();
    const silent = await register();
    const roomId = await createRoom(viewer.userId);
    await hs().rooms.join(roomId, silent.userId);
    for (let i = 0; i < 12; i++) await say(roomId, viewer.userId, `v${i}`);
    return { viewer, silent, roomId };
  };

  it("sends a silent member's member event with their first message in a not-limited incremental sync, and not again with their next", async () => {
    const { viewer, silent, roomId } = await roomWithSilentMember();
    const initial = await sync(viewer, `filter=${LAZY}`);
    assert.deepEqual(membersIn(initial, roomId), [viewer.userId], "an initial lazy sync has the timeline's senders' members (here the viewer's) and not the silent member's");
    await say(roomId, silent.userId, "hello at last");
    const first = await sync(viewer, `filter=${LAZY}&since=${initial["next_batch"]}`);
    assert.equal(timelineOf(first, roomId)["limited"], false);
    assert.deepEqual(membersIn(first, roomId), [silent.userId], "the sender's member event, so the client can name them");
    const member = first["rooms"]["join"][roomId]["state"]["events"].find((e: J) => e["state_key"] === silent.userId);
    assert.equal(member["content"]["membership"], "join");
    await say(roomId, silent.userId, "and again");
    const second = await sync(viewer, `filter=${LAZY}&since=${first["next_batch"]}`);
    assert.deepEqual(timelineOf(second, roomId)["events"].map((e: J) => e["content"]["body"]), ["and again"]);
    assert.deepEqual(membersIn(second, roomId), [], "already sent to this device: not repeated");
    const redundant = await sync(viewer, `filter=${REDUNDANT}&since=${first["next_batch"]}`);
    assert.deepEqual(membersIn(redundant, roomId), [silent.userId], "include_redundant_members sends it every time");
    await say(roomId, viewer.userId, "the viewer's last word");
    const otherDevice = await login(viewer);
    const fresh = await sync(otherDevice, `filter=${encodeURIComponent(JSON.stringify({ room: { state: { lazy_load_members: true }, timeline: { limit: 1 } } }))}`);
    assert.deepEqual(membersIn(fresh, roomId), [viewer.userId]);
    await say(roomId, silent.userId, "to the other device");
    assert.deepEqual(membersIn(await sync(otherDevice, `filter=${LAZY}&since=${fresh["next_batch"]}`), roomId), [silent.userId], "another device was never sent it");
  });

  it("sends the member event again to a sync retried from before the response that carried it", async () => {
    const { viewer, silent, roomId } = await roomWithSilentMember();
    const initial = await sync(viewer, `filter=${LAZY}`);
    await say(roomId, silent.userId, "first");
    const lost = await sync(viewer, `filter=${LAZY}&since=${initial["next_batch"]}`);
    assert.deepEqual(membersIn(lost, roomId), [silent.userId]);
    // The client never received `lost` and syncs from its older token again.
    const retried = await sync(viewer, `filter=${LAZY}&since=${initial["next_batch"]}`);
    assert.deepEqual(membersIn(retried, roomId), [silent.userId], "the retry cannot count on the lost response");
    await say(roomId, silent.userId, "second");
    assert.deepEqual(membersIn(await sync(viewer, `filter=${LAZY}&since=${retried["next_batch"]}`), roomId), [], "received with the retry: not repeated");
  });

  it("sends the member event later when a retry from before the lost response did not need it", async () => {
    const { viewer, silent, roomId } = await roomWithSilentMember();
    const initial = await sync(viewer, `filter=${LAZY}`);
    await say(roomId, silent.userId, "first");
    assert.deepEqual(membersIn(await sync(viewer, `filter=${LAZY}&since=${initial["next_batch"]}`), roomId), [silent.userId], "this response is lost");
    for (let i = 0; i < 12; i++) await say(roomId, viewer.userId, `w${i}`);
    const retried = await sync(viewer, `filter=${LAZY}&since=${initial["next_batch"]}`);
    assert.equal(timelineOf(retried, roomId)["limited"], true);
    assert.ok(!membersIn(retried, roomId).includes(silent.userId), "the silent member's message fell in the gap: not needed");
    await say(roomId, silent.userId, "second");
    assert.deepEqual(membersIn(await sync(viewer, `filter=${LAZY}&since=${retried["next_batch"]}`), roomId), [silent.userId], "never received: sent now");
  });

  it("starts afresh with an initial sync: the device is sent the member again afterwards", async () => {
    const { viewer, silent, roomId } = await roomWithSilentMember();
    const initial = await sync(viewer, `filter=${LAZY}`);
    await say(roomId, silent.userId, "first");
    assert.deepEqual(membersIn(await sync(viewer, `filter=${LAZY}&since=${initial["next_batch"]}`), roomId), [silent.userId]);
    for (let i = 0; i < 12; i++) await say(roomId, viewer.userId, `w${i}`);
    const again = await sync(viewer, `filter=${LAZY}`);
    assert.deepEqual(membersIn(again, roomId), [viewer.userId]);
    await say(roomId, silent.userId, "after the new initial sync");
    assert.deepEqual(membersIn(await sync(viewer, `filter=${LAZY}&since=${again["next_batch"]}`), roomId), [silent.userId], "a new sync sequence: the client may have forgotten it");
  });

  it("counts a member event in the timeline as sent", async () => {
    const viewer = await register();
    const joiner = await register();
    const roomId = await createRoom(viewer.userId);
    const initial = await sync(viewer, `filter=${LAZY}`);
    await hs().rooms.join(roomId, joiner.userId);
    await say(roomId, joiner.userId, "just joined");
    const joined = await sync(viewer, `filter=${LAZY}&since=${initial["next_batch"]}`);
    assert.deepEqual(timelineOf(joined, roomId)["events"].map((e: J) => e["type"]), ["m.room.member", "m.room.message"]);
    assert.deepEqual(membersIn(joined, roomId), [], "the join before the message is in the timeline, not in state");
    await say(roomId, joiner.userId, "still here");
    assert.deepEqual(membersIn(await sync(viewer, `filter=${LAZY}&since=${joined["next_batch"]}`), roomId), [], "the timeline's join counts as sent");
  });

  it("puts the silent member's member event in state_after once with MSC4222's use_state_after", async () => {
    const { viewer, silent, roomId } = await roomWithSilentMember();
    const q = `filter=${LAZY}&org.matrix.msc4222.use_state_after=true`;
    const key = "org.matrix.msc4222.state_after";
    const initial = await sync(viewer, q);
    assert.deepEqual(membersIn(initial, roomId, key), [viewer.userId]);
    await say(roomId, silent.userId, "hello at last");
    const first = await sync(viewer, `${q}&since=${initial["next_batch"]}`);
    assert.deepEqual(membersIn(first, roomId, key), [silent.userId]);
    assert.equal(first["rooms"]["join"][roomId]["state"], undefined, "state is omitted with state after");
    await say(roomId, silent.userId, "and again");
    assert.deepEqual(membersIn(await sync(viewer, `${q}&since=${first["next_batch"]}`), roomId, key), [], "already sent to this device");
  });

  it("leaves a filter without lazy loading as it was: no state for a timeline that is not limited", async () => {
    const { viewer, silent, roomId } = await roomWithSilentMember();
    const initial = await sync(viewer, "");
    assert.deepEqual(membersIn(initial, roomId), [silent.userId, viewer.userId].sort(), "every member on an initial sync");
    await say(roomId, silent.userId, "hello at last");
    const inc = await sync(viewer, `since=${initial["next_batch"]}`);
    assert.equal(timelineOf(inc, roomId)["limited"], false);
    assert.deepEqual(inc["rooms"]["join"][roomId]["state"]["events"], [], "the client has every member already");
  });
});
