/**
 * GET /sync on a real Zion over loopback (SQLite): bad since tokens, filters and timeouts; initial and incremental
 * syncs with invites, joins and leaves in their sections; limited timelines with prev_batch; full_state;
 * lazy-loaded members; state_after; typing; a since token that survives a restart; and long-polling: one event
 * wakes 50 concurrently waiting requests at once, while a request of an unrelated user keeps waiting.
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

const dir = mkdtempSync(join(tmpdir(), "zion-sync-"));
const dbPath = join(dir, "homeserver.db");
after(() => rmSync(dir, { recursive: true, force: true }));

async function start(): Promise<TestServer> {
  return startTestServer({
    config: { enable_registration: true, enable_registration_without_verification: true, rc_login: { address: generous, account: generous, failed_attempts: generous }, rc_registration: generous },
    storage: await openSqliteStorage({ path: dbPath }),
    startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
  });
}

describe("GET /sync", () => {
  let zion: TestServer;
  before(async () => {
    zion = await start();
  });
  after(() => zion?.stop());

  const { call, ok, expectError } = clientCalls(() => zion.clientUrl!);
  interface Session { userId: UserId; token: string }
  let n = 0;
  const register = async (): Promise<Session> => {
    const j = await ok(call("POST", "/_matrix/client/v3/register", { username: `s${++n}${Date.now() % 1000}`, password: PASSWORD, auth: { type: "m.login.dummy" } }));
    return { userId: j["user_id"] as UserId, token: String(j["access_token"]) };
  };
  const hs = () => zion.homeserver!;
  const createRoom = (creator: UserId, body: Record<string, unknown> = {}): Promise<RoomId> =>
    hs().rooms.createRoom(creator, parseCreateRoomRequest({ preset: "private_chat", ...body }, creator, { defaultRoomVersion: "11" }));
  const say = (roomId: RoomId, sender: UserId, body: string) => hs().rooms.send(roomId, { type: "m.room.message", sender, content: { msgtype: "m.text", body } });
  const sync = (s: Session, q = ""): Promise<J> => ok(call("GET", `/_matrix/client/v3/sync${q ? `?${q}` : ""}`, undefined, s.token));
  /** Until `n` syncs wait on the notifier (a minute at most: a sync answered early fails here, not by hanging). */
  const untilWaiting = async (n: number, what: string): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (hs().notifier.waiting() < n) {
      if (Date.now() > deadline) assert.fail(`${what}: ${hs().notifier.waiting()} syncs waiting, not ${n}, after a minute`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const presenceOf = async (viewer: Session, target: Session): Promise<J> => ok(call("GET", `/_matrix/client/v3/presence/${encodeURIComponent(target.userId)}/status`, undefined, viewer.token));
  const presenceIn = (j: J, userId: UserId): J | undefined => (j["presence"]?.["events"] ?? []).find((e: J) => e["sender"] === userId)?.["content"];
  const bodies = (room: J | undefined): string[] => (room?.["timeline"]?.["events"] ?? []).filter((e: J) => e["type"] === "m.room.message").map((e: J) => e["content"]["body"]);

  it("refuses a bad since token, filter, timeout, set_presence and boolean with 400 naming the parameter", async () => {
    const a = await register();
    await expectError(call("GET", "/_matrix/client/v3/sync?since=garbage", undefined, a.token), 400, "M_INVALID_PARAM", /since/);
    await expectError(call("GET", "/_matrix/client/v3/sync?since=s1_2_3", undefined, a.token), 400, "M_INVALID_PARAM", /since/);
    await expectError(call("GET", "/_matrix/client/v3/sync?filter=%7Bnope", undefined, a.token), 400, "M_NOT_JSON", /filter/);
    await expectError(call("GET", `/_matrix/client/v3/sync?filter=${encodeURIComponent(JSON.stringify({ room: { timeline: { limit: "x" } } }))}`, undefined, a.token), 400, "M_BAD_JSON", /limit/);
    await expectError(call("GET", "/_matrix/client/v3/sync?filter=12345", undefined, a.token), 400, "M_INVALID_PARAM", /No such filter/);
    await expectError(call("GET", "/_matrix/client/v3/sync?timeout=-1", undefined, a.token), 400, "M_INVALID_PARAM", /timeout/);
    await expectError(call("GET", "/_matrix/client/v3/sync?timeout=soon", undefined, a.token), 400, "M_INVALID_PARAM", /timeout/);
    await expectError(call("GET", "/_matrix/client/v3/sync?set_presence=busy", undefined, a.token), 400, "M_INVALID_PARAM", /set_presence/);
    await expectError(call("GET", "/_matrix/client/v3/sync?full_state=yes", undefined, a.token), 400, "M_INVALID_PARAM", /full_state/);
    await expectError(call("GET", "/_matrix/client/v3/sync"), 401, "M_MISSING_TOKEN");
  });

  it("puts rooms in the invite, join and leave sections as the membership changes", async () => {
    const a = await register();
    const b = await register();
    const roomId = await createRoom(a.userId, { name: "sections" });
    const first = await sync(b);
    assert.equal(first["rooms"]["join"][roomId], undefined);
    await hs().rooms.invite(roomId, a.userId, b.userId);
    const invited = await sync(b, `since=${first["next_batch"]}`);
    const inviteState: J[] = invited["rooms"]["invite"][roomId]["invite_state"]["events"];
    assert.ok(inviteState.some((e) => e["type"] === "m.room.name" && e["content"]["name"] === "sections"), JSON.stringify(inviteState));
    assert.ok(inviteState.some((e) => e["type"] === "m.room.member" && e["state_key"] === b.userId && e["content"]["membership"] === "invite"));
    await hs().rooms.join(roomId, b.userId);
    await say(roomId, a.userId, "hello b");
    const joined = await sync(b, `since=${invited["next_batch"]}`);
    assert.equal(joined["rooms"]["invite"][roomId], undefined);
    const room = joined["rooms"]["join"][roomId];
    assert.deepEqual(bodies(room), ["hello b"]);
    const seen = [...room["state"]["events"], ...room["timeline"]["events"]];
    assert.ok(seen.some((e: J) => e["type"] === "m.room.create") && seen.some((e: J) => e["type"] === "m.room.power_levels"), "a room joined since `since` gets its whole state (in state or timeline)");
    assert.equal(room["summary"]["m.joined_member_count"], 2);
    assert.equal(room["summary"]["m.heroes"], undefined, "a named room needs no heroes (client-sync-filters.test.ts has them)");
    await hs().rooms.setMembership(roomId, b.userId, b.userId, "leave");
    const left = await sync(b, `since=${joined["next_batch"]}`);
    assert.equal(left["rooms"]["join"][roomId], undefined);
    const leaveTimeline: J[] = left["rooms"]["leave"][roomId]["timeline"]["events"];
    assert.equal(leaveTimeline.at(-1)!["content"]["membership"], "leave");
    const initial = await sync(b);
    assert.equal(initial["rooms"]["leave"][roomId], undefined, "an initial sync leaves out left rooms unless include_leave");
    const withLeave = await sync(b, `filter=${encodeURIComponent(JSON.stringify({ room: { include_leave: true } }))}`);
    assert.ok(withLeave["rooms"]["leave"][roomId]);
  });

  it("treats the user's own profile change (a join after a join) as a state change, not a new join, while a leave and rejoin since `since` is one", async () => {
    const a = await register();
    const b = await register();
    const roomId = await createRoom(a.userId, { name: "renames", preset: "public_chat" });
    await hs().rooms.invite(roomId, a.userId, b.userId);
    await hs().rooms.join(roomId, b.userId);
    await say(roomId, a.userId, "before the rename");
    const start = await sync(b);
    await hs().rooms.send(roomId, { type: "m.room.member", sender: b.userId, stateKey: b.userId, content: { membership: "join", displayname: "Bee" } });
    const renamed = await sync(b, `since=${start["next_batch"]}`);
    const room = renamed["rooms"]["join"][roomId];
    assert.deepEqual(room["timeline"]["events"].map((e: J) => [e["type"], e["state_key"], e["content"]["displayname"]]), [["m.room.member", b.userId, "Bee"]], "the new member event alone, not the room's timeline again");
    assert.equal(room["timeline"]["limited"], false);
    assert.deepEqual(room["state"]["events"], [], "nor its whole state");
    await hs().rooms.setMembership(roomId, b.userId, b.userId, "leave");
    await hs().rooms.join(roomId, b.userId);
    const rejoined = await sync(b, `since=${renamed["next_batch"]}`);
    const again = rejoined["rooms"]["join"][roomId];
    const seen = [...again["state"]["events"], ...again["timeline"]["events"]];
    assert.ok(seen.some((e: J) => e["type"] === "m.room.create"), "a room left and joined again since `since` gets its whole state");
    assert.ok(bodies(again).includes("before the rename"), "and its timeline from before");
  });

  it("limits the timeline to the filter's limit with limited and a prev_batch, and sends the state before it", async () => {
    const a = await register();
    const roomId = await createRoom(a.userId);
    const start = await sync(a);
    for (let i = 0; i < 8; i++) await say(roomId, a.userId, `m${i}`);
    await hs().rooms.send(roomId, { type: "m.room.topic", sender: a.userId, stateKey: "", content: { topic: "early" } });
    for (let i = 8; i < 12; i++) await say(roomId, a.userId, `m${i}`);
    const f = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 3 } } }));
    const inc = await sync(a, `since=${start["next_batch"]}&filter=${f}`);
    const room = inc["rooms"]["join"][roomId];
    assert.deepEqual(bodies(room), ["m9", "m10", "m11"]);
    assert.equal(room["timeline"]["limited"], true);
    assert.match(room["timeline"]["prev_batch"], /^t\d+_\d+$/);
    // /messages pages back from prev_batch to the events the limit left out, without repeating the timeline.
    const older = await ok(call("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=2&from=${encodeURIComponent(room["timeline"]["prev_batch"])}`, undefined, a.token));
    assert.deepEqual(older["chunk"].map((e: J) => e["content"]["body"] ?? e["content"]["topic"]), ["m8", "early"]);
    assert.deepEqual(room["state"]["events"].map((e: J) => [e["type"], e["content"]["topic"]]), [["m.room.topic", "early"]], "the state change skipped by the limit is in state");
    const notLimited = await sync(a, `since=${start["next_batch"]}`);
    assert.equal(notLimited["rooms"]["join"][roomId]["timeline"]["limited"], true, "13 events over the default 10");
    const quiet = await sync(a, `since=${inc["next_batch"]}`);
    assert.equal(quiet["rooms"]["join"][roomId], undefined, "nothing new: the room is absent");
  });

  it("sends the whole state with full_state, the state at the end with use_state_after, and only needed members when lazy-loading", async () => {
    const a = await register();
    const b = await register();
    const c = await register();
    const roomId = await createRoom(a.userId, { preset: "public_chat", name: "named, so no heroes' members" });
    await hs().rooms.join(roomId, b.userId);
    await hs().rooms.join(roomId, c.userId);
    for (let i = 0; i < 12; i++) await say(roomId, c.userId, `c${i}`);
    const base = await sync(a);
    const full = await sync(a, `since=${base["next_batch"]}&full_state=true`);
    const fullState: J[] = full["rooms"]["join"][roomId]["state"]["events"];
    assert.ok(fullState.some((e) => e["type"] === "m.room.create"));
    assert.equal(fullState.filter((e) => e["type"] === "m.room.member").length, 3);
    const lazy = encodeURIComponent(JSON.stringify({ room: { state: { lazy_load_members: true } } }));
    const lazySync = await sync(a, `filter=${lazy}`);
    const members = lazySync["rooms"]["join"][roomId]["state"]["events"].filter((e: J) => e["type"] === "m.room.member").map((e: J) => e["state_key"]).sort();
    assert.deepEqual(members, [a.userId, c.userId].sort(), "only the syncing user and the timeline's sender");
    const after = await sync(a, "org.matrix.msc4222.use_state_after=true");
    const joinedRoom = after["rooms"]["join"][roomId];
    assert.ok(joinedRoom["org.matrix.msc4222.state_after"]["events"].some((e: J) => e["type"] === "m.room.member" && e["state_key"] === c.userId));
    assert.equal(joinedRoom["state"], undefined, "the spec: state MUST be omitted with use_state_after");
  });

  it("delivers typing notifications to the room's members and refuses typing outside one's rooms", async () => {
    const a = await register();
    const b = await register();
    const roomId = await createRoom(a.userId, { preset: "public_chat" });
    await hs().rooms.join(roomId, b.userId);
    const base = await sync(b);
    await ok(call("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(a.userId)}`, { typing: true, timeout: 30000 }, a.token));
    const t = await sync(b, `since=${base["next_batch"]}`);
    assert.deepEqual(t["rooms"]["join"][roomId]["ephemeral"]["events"], [{ type: "m.typing", content: { user_ids: [a.userId] } }]);
    await ok(call("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(a.userId)}`, { typing: false }, a.token));
    const stopped = await sync(b, `since=${t["next_batch"]}`);
    assert.deepEqual(stopped["rooms"]["join"][roomId]["ephemeral"]["events"], [{ type: "m.typing", content: { user_ids: [] } }]);
    const outsider = await register();
    await expectError(call("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(outsider.userId)}`, { typing: true, timeout: 1000 }, outsider.token), 403, "M_FORBIDDEN");
    await expectError(call("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(b.userId)}`, { typing: true, timeout: 1000 }, a.token), 403, "M_FORBIDDEN");
    await expectError(call("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(a.userId)}`, { typing: true }, a.token), 400, "M_MISSING_PARAM", /timeout/);
  });

  it("delivers read receipts (private ones only to their owner, threaded ones with thread_id) and read markers", async () => {
    const a = await register();
    const b = await register();
    const roomId = await createRoom(a.userId, { preset: "public_chat" });
    await hs().rooms.join(roomId, b.userId);
    const ev = await say(roomId, a.userId, "read me");
    const base = await sync(a);
    const r = (type: string, body: unknown = {}) => call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/${type}/${encodeURIComponent(ev.eventId)}`, body, b.token);
    await ok(r("m.read", { thread_id: "main" }));
    await ok(r("m.read.private"));
    const got = await sync(a, `since=${base["next_batch"]}`);
    const receipts: J[] = got["rooms"]["join"][roomId]["ephemeral"]["events"].filter((e: J) => e["type"] === "m.receipt");
    assert.equal(receipts.length, 1);
    const content = receipts[0]!["content"][ev.eventId];
    assert.equal(content["m.read"][b.userId]["thread_id"], "main");
    assert.equal(content["m.read.private"], undefined, "another user's private receipt is not sent");
    const own = await sync(b, "");
    const ownReceipts = own["rooms"]["join"][roomId]["ephemeral"]["events"].find((e: J) => e["type"] === "m.receipt");
    assert.ok(ownReceipts["content"][ev.eventId]["m.read.private"][b.userId], "the owner sees its private receipt");
    await ok(call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/read_markers`, { "m.fully_read": ev.eventId }, b.token));
    const marker = await sync(b, `since=${own["next_batch"]}`);
    assert.deepEqual(marker["rooms"]["join"][roomId]["account_data"]["events"], [{ type: "m.fully_read", content: { event_id: ev.eventId } }]);
    await expectError(r("m.unknown"), 400, "M_INVALID_PARAM", /receiptType/);
    await expectError(call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/%24nope`, {}, b.token), 404, "M_NOT_FOUND");
    await expectError(r("m.fully_read", { thread_id: "main" }), 400, "M_INVALID_PARAM", /thread_id/);
    await expectError(call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/read_markers`, { "m.fully_read": ev.eventId, "m.read": "$missing" }, b.token), 404, "M_NOT_FOUND");
    const outsider = await register();
    await expectError(call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(ev.eventId)}`, {}, outsider.token), 403, "M_FORBIDDEN");
  });

  it("records presence from PUT /presence and set_presence, shows it to room members and refuses strangers", async () => {
    const a = await register();
    const b = await register();
    const stranger = await register();
    const roomId = await createRoom(a.userId, { preset: "public_chat" });
    await hs().rooms.join(roomId, b.userId);
    const base = await sync(b);
    await ok(call("PUT", `/_matrix/client/v3/presence/${encodeURIComponent(a.userId)}/status`, { presence: "unavailable", status_msg: "lunch" }, a.token));
    const seen = await sync(b, `since=${base["next_batch"]}`);
    const p = seen["presence"]["events"].find((e: J) => e["sender"] === a.userId);
    assert.equal(p["content"]["presence"], "unavailable");
    assert.equal(p["content"]["status_msg"], "lunch");
    const got = await ok(call("GET", `/_matrix/client/v3/presence/${encodeURIComponent(a.userId)}/status`, undefined, b.token));
    assert.equal(got["presence"], "unavailable");
    await expectError(call("GET", `/_matrix/client/v3/presence/${encodeURIComponent(a.userId)}/status`, undefined, stranger.token), 403, "M_FORBIDDEN");
    await expectError(call("PUT", `/_matrix/client/v3/presence/${encodeURIComponent(b.userId)}/status`, { presence: "online" }, a.token), 403, "M_FORBIDDEN");
    await expectError(call("PUT", `/_matrix/client/v3/presence/${encodeURIComponent(a.userId)}/status`, { presence: "busy" }, a.token), 400, "M_BAD_JSON");
    await sync(b, "set_presence=online");
    const mine = await ok(call("GET", `/_matrix/client/v3/presence/${encodeURIComponent(b.userId)}/status`, undefined, a.token));
    assert.equal(mine["presence"], "online");
  });

  it("marks a syncing user online when set_presence is absent (the spec's default), seen by another member; set_presence=offline records nothing", async () => {
    const a = await register();
    const b = await register();
    const roomId = await createRoom(a.userId, { preset: "public_chat" });
    await hs().rooms.join(roomId, b.userId);
    const base = await sync(b, "set_presence=offline");
    await sync(a, "set_presence=offline");
    assert.equal((await presenceOf(b, a))["presence"], "offline", "set_presence=offline records nothing");
    const quiet = await sync(b, `set_presence=offline&since=${base["next_batch"]}`);
    assert.equal(presenceIn(quiet, a.userId), undefined, "nor tells anyone");
    await sync(a);
    const seen = presenceIn(await sync(b, `set_presence=offline&since=${quiet["next_batch"]}`), a.userId);
    assert.equal(seen?.["presence"], "online");
    assert.equal(seen?.["currently_active"], true);
    assert.equal((await presenceOf(b, a))["presence"], "online");
  });

  it("does not wake another member's waiting sync with a repeat sync, which takes no presence position", async () => {
    const a = await register();
    const b = await register();
    const roomId = await createRoom(a.userId, { preset: "public_chat" });
    await hs().rooms.join(roomId, b.userId);
    await sync(a); // a comes online: told
    const base = await sync(b);
    assert.equal(presenceIn(base, a.userId)?.["presence"], "online");
    const waiting = ok(call("GET", `/_matrix/client/v3/sync?timeout=300000&since=${base["next_batch"]}`, undefined, b.token, 90_000));
    await untilWaiting(1, "b's sync");
    for (let i = 0; i < 3; i++) await sync(a);
    assert.equal(hs().notifier.waiting(), 1, "b's sync still waits after a's repeat syncs");
    await say(roomId, a.userId, "now");
    const j = await waiting;
    assert.deepEqual(bodies(j["rooms"]["join"][roomId]), ["now"]);
    assert.equal(presenceIn(j, a.userId), undefined, "a's repeat syncs changed no presence b is sent");
  });

  it("marks an explicitly unavailable user online on a sync without set_presence, keeping the status message (the spec and Synapse)", async () => {
    const a = await register();
    await ok(call("PUT", `/_matrix/client/v3/presence/${encodeURIComponent(a.userId)}/status`, { presence: "unavailable", status_msg: "lunch" }, a.token));
    await sync(a, "set_presence=offline");
    assert.equal((await presenceOf(a, a))["presence"], "unavailable", "set_presence=offline leaves it");
    await sync(a);
    const p = await presenceOf(a, a);
    assert.equal(p["presence"], "online");
    assert.equal(p["status_msg"], "lunch");
    await sync(a, "set_presence=unavailable");
    assert.equal((await presenceOf(a, a))["presence"], "unavailable");
  });

  it("counts unread notifications and highlights after the read receipt with the push rules the user had when each event arrived", async () => {
    const a = await register();
    const b = await register();
    const roomId = await createRoom(a.userId, { preset: "public_chat" });
    await hs().rooms.join(roomId, b.userId);
    await hs().rooms.join(roomId, (await register()).userId); // three members: messages notify through the default underride
    const first = await say(roomId, a.userId, "one");
    await say(roomId, a.userId, "two");
    const mention = () => hs().rooms.send(roomId, { type: "m.room.message", sender: a.userId, content: { msgtype: "m.text", body: "hi", "m.mentions": { user_ids: [b.userId] } } });
    await mention();
    const counts = async (): Promise<J> => (await sync(b))["rooms"]["join"][roomId]["unread_notifications"];
    assert.deepEqual(await counts(), { notification_count: 3, highlight_count: 1 });
    await ok(call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(first.eventId)}`, {}, b.token));
    assert.deepEqual(await counts(), { notification_count: 2, highlight_count: 1 });
    // A user rule that silences the room: events already counted stay counted (stored when they arrived); of the
    // later ones the mention still counts (override rules come before room rules), the plain message does not.
    await ok(call("PUT", `/_matrix/client/v3/pushrules/global/room/${encodeURIComponent(roomId)}`, { actions: [] }, b.token));
    assert.deepEqual(await counts(), { notification_count: 2, highlight_count: 1 });
    await say(roomId, a.userId, "three");
    await mention();
    assert.deepEqual(await counts(), { notification_count: 3, highlight_count: 2 });
    const rules = await ok(call("GET", "/_matrix/client/v3/pushrules/", undefined, b.token));
    assert.equal(rules["global"]["room"][0]["rule_id"], roomId);
    await ok(call("PUT", `/_matrix/client/v3/pushrules/global/room/${encodeURIComponent(roomId)}/enabled`, { enabled: false }, b.token));
    assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/pushrules/global/room/${encodeURIComponent(roomId)}/enabled`, undefined, b.token)), { enabled: false });
    await say(roomId, a.userId, "four");
    assert.deepEqual(await counts(), { notification_count: 4, highlight_count: 2 }, "the disabled room rule no longer silences");
    await ok(call("DELETE", `/_matrix/client/v3/pushrules/global/room/${encodeURIComponent(roomId)}`, undefined, b.token));
    await expectError(call("GET", `/_matrix/client/v3/pushrules/global/room/${encodeURIComponent(roomId)}`, undefined, b.token), 404, "M_NOT_FOUND");
    await expectError(call("PUT", "/_matrix/client/v3/pushrules/global/nokind/x", { actions: [] }, b.token), 400, "M_INVALID_PARAM");
    await expectError(call("PUT", "/_matrix/client/v3/pushrules/device/room/x", { actions: [] }, b.token), 400, "M_INVALID_PARAM", /scope/);
    await expectError(call("DELETE", "/_matrix/client/v3/pushrules/global/override/.m.rule.master", undefined, b.token), 400, "M_INVALID_PARAM");
    await ok(call("PUT", "/_matrix/client/v3/pushrules/global/override/.m.rule.master/enabled", { enabled: true }, b.token));
    await say(roomId, a.userId, "five");
    await mention();
    assert.deepEqual(await counts(), { notification_count: 4, highlight_count: 2 }, "the master rule silences everything after it");
  });

  it("wakes a waiting sync for a to-device message addressed to it", async () => {
    const a = await register();
    const b = await register();
    const who = await ok(call("GET", "/_matrix/client/v3/account/whoami", undefined, b.token));
    const base = await sync(b);
    const waiting = ok(call("GET", `/_matrix/client/v3/sync?timeout=300000&since=${base["next_batch"]}`, undefined, b.token, 90_000));
    await untilWaiting(1, "b's sync");
    await ok(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/t1", { messages: { [b.userId]: { [String(who["device_id"])]: { hello: 1 } } } }, a.token));
    const j = await waiting;
    assert.deepEqual(j["to_device"]["events"], [{ type: "m.test", sender: a.userId, content: { hello: 1 } }]);
    const next = await sync(b, `since=${j["next_batch"]}`);
    assert.deepEqual(next["to_device"]["events"], [], "acknowledged by the next token");
    // /keys/changes reads the device-list position from the same tokens (matrix-js-sdk passes its sync tokens).
    await ok(call("GET", `/_matrix/client/v3/keys/changes?from=${base["next_batch"]}&to=${next["next_batch"]}`, undefined, b.token));
  });

  it("always counts signed_curve25519 one-time keys (0 before any upload and once all are claimed) and lists unused fallback key types", async () => {
    const a = await register();
    const b = await register();
    const device = String((await ok(call("GET", "/_matrix/client/v3/account/whoami", undefined, a.token)))["device_id"]);
    const fresh = await sync(a);
    // The Rust crypto (matrix-sdk-crypto) only updates its count when signed_curve25519 is present: a missing 0
    // would leave it believing its old keys are still there, so it would never upload new ones.
    assert.deepEqual(fresh["device_one_time_keys_count"], { signed_curve25519: 0 });
    assert.deepEqual(fresh["device_unused_fallback_key_types"], []);
    await ok(call("POST", "/_matrix/client/v3/keys/upload", {
      one_time_keys: { "signed_curve25519:k1": { key: "k1key" }, "signed_curve25519:k2": { key: "k2key" } },
      fallback_keys: { "signed_curve25519:f1": { key: "f1key", fallback: true } },
    }, a.token));
    const uploaded = await sync(a, `since=${fresh["next_batch"]}`);
    assert.deepEqual(uploaded["device_one_time_keys_count"], { signed_curve25519: 2 });
    assert.deepEqual(uploaded["device_unused_fallback_key_types"], ["signed_curve25519"]);
    const claim = { one_time_keys: { [a.userId]: { [device]: "signed_curve25519" } } };
    for (let i = 0; i < 3; i++) await ok(call("POST", "/_matrix/client/v3/keys/claim", claim, b.token));
    const claimed = await sync(a, `since=${uploaded["next_batch"]}`);
    assert.deepEqual(claimed["device_one_time_keys_count"], { signed_curve25519: 0 });
    assert.deepEqual(claimed["device_unused_fallback_key_types"], [], "the third claim used the fallback key");
  });

  it("wakes 50 concurrently waiting syncs with one event and leaves an unrelated user's request waiting", async () => {
    const a = await register();
    const outsider = await register();
    const roomId = await createRoom(a.userId, { preset: "public_chat" });
    const members: Session[] = [];
    for (let i = 0; i < 50; i++) {
      const m = await register();
      await hs().rooms.join(roomId, m.userId);
      members.push(m);
    }
    // Each member's first sync marks them online (absent set_presence), which the others are told of; a second
    // sync from there takes in everyone's, and repeat syncs tell no one, so the waits below stay quiet.
    const first = await Promise.all(members.map((m) => sync(m).then((j) => String(j["next_batch"]))));
    const tokens = await Promise.all(members.map((m, i) => sync(m, `since=${first[i]}`).then((j) => String(j["next_batch"]))));
    const outsiderToken = String((await sync(outsider))["next_batch"]);
    const waits = members.map((m, i) => ok(call("GET", `/_matrix/client/v3/sync?timeout=300000&since=${tokens[i]}`, undefined, m.token, 90_000)));
    const outsiderWait = ok(call("GET", `/_matrix/client/v3/sync?timeout=3000&since=${outsiderToken}`, undefined, outsider.token, 90_000));
    await untilWaiting(51, "the members' and the outsider's syncs");
    await say(roomId, a.userId, "wake up");
    const answers = await Promise.all(waits);
    for (const j of answers) assert.deepEqual(bodies(j["rooms"]["join"][roomId]), ["wake up"]);
    assert.equal(hs().notifier.waiting(), 1, "the unrelated user's request is still waiting");
    const o = await outsiderWait;
    assert.deepEqual(o["rooms"]["join"], {}, "it ends at its timeout with nothing");
  });

  it("accepts a since token after a restart and catches up without a gap", async () => {
    const a = await register();
    const roomId = await createRoom(a.userId);
    await say(roomId, a.userId, "before");
    const token = String((await sync(a))["next_batch"]);
    await zion.stop();
    zion = await start();
    await say(roomId, a.userId, "after restart");
    const j = await sync(a, `since=${token}`);
    assert.deepEqual(bodies(j["rooms"]["join"][roomId]), ["after restart"]);
    assert.equal(j["rooms"]["join"][roomId]["timeline"]["limited"], false);
  });
});
