/**
 * Simplified sliding sync (MSC4186) on a real Zion over loopback (SQLite): bad input; lists with ranges, counts,
 * activity order and filters; the per-room fields; room subscriptions merged with list configs; incremental
 * responses that send only what changed, exactly the newly required state of a widened required_state, and an
 * expanded timeline; connection state surviving a restart; M_UNKNOWN_POS; the extensions with their scoping; and
 * long-polling that wakes on a relevant event and not on an irrelevant one.
 * Rooms are written through the server's own room pipeline (homeserver.rooms), the path the room endpoints use.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import { publicKeyBase64, signJson, signingKeyFromSeed } from "../../src/core/crypto/index.js";
import { parseCreateRoomRequest } from "../../src/core/rooms/index.js";
import type { RoomId, UserId } from "../../src/core/ids/index.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { clientCalls } from "../harness/client-calls.js";
import type { Reply } from "../harness/http-get.js";

const PASSWORD = "correct horse 1";
const generous = { per_second: 1000, burst_count: 1000 };
const SSS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are read field by field

const dir = mkdtempSync(join(tmpdir(), "zion-sss-"));
const dbPath = join(dir, "homeserver.db");
after(() => rmSync(dir, { recursive: true, force: true }));

async function start(): Promise<TestServer> {
  return startTestServer({
    config: { enable_registration: true, enable_registration_without_verification: true, rc_login: { address: generous, account: generous, failed_attempts: generous }, rc_registration: generous, rc_message: generous },
    storage: await openSqliteStorage({ path: dbPath }),
    startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
  });
}

describe("POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync", () => {
  let zion: TestServer;
  before(async () => {
    zion = await start();
  });
  after(() => zion?.stop());

  const { call, ok, expectError } = clientCalls(() => zion.clientUrl!);
  interface Session { userId: UserId; token: string; deviceId: string }
  let n = 0;
  const register = async (): Promise<Session> => {
    const j = await ok(call("POST", "/_matrix/client/v3/register", { username: `ss${++n}${Date.now() % 1000}`, password: PASSWORD, auth: { type: "m.login.dummy" } }));
    return { userId: j["user_id"] as UserId, token: String(j["access_token"]), deviceId: String(j["device_id"]) };
  };
  const hs = () => zion.homeserver!;
  const createRoom = (creator: UserId, body: Record<string, unknown> = {}): Promise<RoomId> =>
    hs().rooms.createRoom(creator, parseCreateRoomRequest({ preset: "private_chat", ...body }, creator, { defaultRoomVersion: "11" }));
  const say = (roomId: RoomId, sender: UserId, body: string) => hs().rooms.send(roomId, { type: "m.room.message", sender, content: { msgtype: "m.text", body } });
  const setState = (roomId: RoomId, sender: UserId, type: string, stateKey: string, content: Record<string, unknown>) => hs().rooms.send(roomId, { type, sender, stateKey, content: content as never });
  const sss = (s: Session, body: J, q: { pos?: string; timeout?: number; set_presence?: string } = {}, timeoutMs?: number): Promise<Reply> => {
    const qs = new URLSearchParams();
    if (q.set_presence !== undefined) qs.set("set_presence", q.set_presence);
    if (q.pos !== undefined) qs.set("pos", q.pos);
    if (q.timeout !== undefined) qs.set("timeout", String(q.timeout));
    const suffix = qs.toString() ? `?${qs}` : "";
    return call("POST", `${SSS}${suffix}`, body, s.token, timeoutMs);
  };
  const list = (extra: J = {}): J => ({ ranges: [[0, 19]], timeline_limit: 1, required_state: [], ...extra });
  const bodies = (room: J | undefined): string[] => (room?.["timeline"] ?? []).filter((e: J) => e["type"] === "m.room.message").map((e: J) => e["content"]["body"]);
  const stateKeys = (room: J | undefined): string[] => (room?.["required_state"] ?? []).map((e: J) => `${e["type"]}|${e["state_key"]}`).sort();

  it("is advertised in /versions as org.matrix.simplified_msc3575", async () => {
    const v = await ok(call("GET", "/_matrix/client/versions"));
    assert.equal(v["unstable_features"]["org.matrix.simplified_msc3575"], true);
  });

  it("refuses bad input with 400 naming the field, and ignores unknown fields and extensions", async () => {
    const a = await register();
    await expectError(sss(a, { lists: { l: list({ ranges: [[5, 2]] }) } }), 400, "M_INVALID_PARAM", /lists\.l\.ranges\[0\].*start is after end/);
    await expectError(sss(a, { lists: { l: list({ ranges: [[-1, 2]] }) } }), 400, "M_INVALID_PARAM", /lists\.l\.ranges\[0\]\[0\]/);
    await expectError(sss(a, { lists: { l: list({ ranges: [[0, 1.5]] }) } }), 400, "M_BAD_JSON", /lists\.l\.ranges\[0\]\[1\]/);
    await expectError(sss(a, { lists: { l: list({ ranges: [[0]] }) } }), 400, "M_BAD_JSON", /lists\.l\.ranges\[0\]/);
    await expectError(sss(a, { lists: { l: list({ timeline_limit: 1001 }) } }), 400, "M_INVALID_PARAM", /lists\.l\.timeline_limit.*1000/);
    await expectError(sss(a, { lists: { l: { ranges: [[0, 1]], required_state: [] } } }), 400, "M_BAD_JSON", /timeline_limit.*required/);
    await expectError(sss(a, { lists: { l: list({ required_state: [["m.room.name"]] }) } }), 400, "M_BAD_JSON", /required_state\[0\]/);
    await expectError(sss(a, { lists: { l: list({ filters: { is_dm: "yes" } }) } }), 400, "M_BAD_JSON", /filters\.is_dm/);
    await expectError(sss(a, { lists: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`l${i}`, list()])) }), 400, "M_INVALID_PARAM", /lists.*100/);
    await expectError(sss(a, { lists: { ["x".repeat(65)]: list() } }), 400, "M_INVALID_PARAM", /64/);
    await expectError(sss(a, { room_subscriptions: { "not-a-room": { timeline_limit: 1, required_state: [] } } }), 400, "M_INVALID_PARAM", /room_subscriptions/);
    await expectError(sss(a, { conn_id: 7 }), 400, "M_BAD_JSON", /conn_id/);
    await expectError(sss(a, { extensions: { to_device: { enabled: true, since: "abc" } } }), 400, "M_INVALID_PARAM", /extensions\.to_device\.since/);
    await expectError(sss(a, {}, { pos: "0" }), 400, "M_UNKNOWN_POS");
    // timeout is ignored without a pos (the MSC); with one, a bad timeout is refused.
    const first = await ok(sss(a, {}, { timeout: "soon" as unknown as number }));
    await expectError(sss(a, {}, { pos: first["pos"], timeout: "soon" as unknown as number }), 400, "M_INVALID_PARAM", /timeout/);
    await expectError(sss(a, {}, { pos: first["pos"], timeout: -1 }), 400, "M_INVALID_PARAM", /timeout/);
    await expectError(call("POST", SSS, {}), 401, "M_MISSING_TOKEN");
    // Unknown fields in a list, at the top and unknown extensions are ignored.
    const r = await ok(sss(a, { lists: { l: list({ sort: ["by_recency"], bogus: 1 }) }, whatever: true, extensions: { "com.example.nope": { enabled: true } } }));
    assert.equal(r["lists"]["l"]["count"], 0);
    assert.deepEqual(r["extensions"], {});
  });

  it("answers M_UNKNOWN_POS for a bogus pos, a pos of another conn_id or user, and an abandoned one", async () => {
    const a = await register();
    const b = await register();
    await expectError(sss(a, {}, { pos: "garbage" }), 400, "M_UNKNOWN_POS");
    await expectError(sss(a, {}, { pos: "999999999" }), 400, "M_UNKNOWN_POS");
    const first = await ok(sss(a, { conn_id: "main", lists: { l: list() } }));
    await expectError(sss(a, { conn_id: "other", lists: { l: list() } }, { pos: first["pos"] }), 400, "M_UNKNOWN_POS");
    await expectError(sss(a, { lists: { l: list() } }, { pos: first["pos"] }), 400, "M_UNKNOWN_POS");
    await expectError(sss(b, { conn_id: "main", lists: { l: list() } }, { pos: first["pos"] }), 400, "M_UNKNOWN_POS");
    const room = await createRoom(a.userId);
    const second = await ok(sss(a, { conn_id: "main", lists: { l: list() } }, { pos: first["pos"] }));
    assert.ok(second["rooms"][room]);
    // A retry with the first pos is answered (the client never processed the second), and the second is then gone.
    const retry = await ok(sss(a, { conn_id: "main", lists: { l: list() } }, { pos: first["pos"] }));
    assert.ok(retry["rooms"][room]?.["initial"]);
    await expectError(sss(a, { conn_id: "main", lists: { l: list() } }, { pos: second["pos"] }), 400, "M_UNKNOWN_POS");
  });

  it("orders a list by activity, counts it, cuts its ranges and fills the per-room fields", async () => {
    const a = await register();
    const b = await register();
    const named = await createRoom(a.userId, { name: "Named room", topic: "t" });
    const dm = await createRoom(a.userId, { is_direct: true });
    await hs().rooms.invite(dm, a.userId, b.userId);
    await hs().rooms.join(dm, b.userId);
    await say(dm, b.userId, "dm 1");
    await say(named, a.userId, "named 1");
    await say(named, a.userId, "named 2");
    const quiet = await createRoom(a.userId);
    await say(named, a.userId, "named 3");
    const r = await ok(sss(a, { lists: { top: list({ ranges: [[0, 1]], timeline_limit: 2, required_state: [["m.room.create", ""], ["m.room.member", "$ME"]] }) } }));
    assert.equal(r["lists"]["top"]["count"], 3);
    assert.deepEqual(r["lists"]["top"]["ops"], [{ op: "SYNC", range: [0, 1], room_ids: [named, quiet] }]);
    assert.deepEqual(Object.keys(r["rooms"]).sort(), [named, quiet].sort());
    const room = r["rooms"][named];
    assert.equal(room["initial"], true);
    assert.equal(room["name"], "Named room");
    assert.equal(room["heroes"], undefined, "a named room has no heroes");
    assert.deepEqual(bodies(room), ["named 2", "named 3"]);
    assert.equal(room["limited"], true);
    assert.match(room["prev_batch"], /^t\d+_\d+$/);
    assert.equal(room["num_live"], 0);
    assert.equal(room["joined_count"], 1);
    assert.equal(room["invited_count"], 0);
    assert.equal(typeof room["notification_count"], "number");
    assert.equal(typeof room["highlight_count"], "number");
    assert.equal(room["membership"], "join");
    assert.deepEqual(room["lists"], ["top"]);
    assert.deepEqual(stateKeys(room), ["m.room.create|", `m.room.member|${a.userId}`]);
    assert.ok(room["bump_stamp"] > r["rooms"][quiet]["bump_stamp"], "the named room's messages bump it above the newer empty room");
    // The DM room, with heroes (no name), is_dm from m.direct.
    await ok(call("PUT", `/_matrix/client/v3/user/${encodeURIComponent(a.userId)}/account_data/m.direct`, { [b.userId]: [dm] }, a.token));
    const d = await ok(sss(a, { lists: { dms: list({ filters: { is_dm: true } }) } }));
    assert.deepEqual(Object.keys(d["rooms"]), [dm]);
    assert.equal(d["rooms"][dm]["is_dm"], true);
    assert.deepEqual(d["rooms"][dm]["heroes"].map((h: J) => h["user_id"]), [b.userId]);
    assert.equal(typeof d["rooms"][dm]["heroes"][0]["displayname"], "string");
    const notDm = await ok(sss(a, { lists: { rest: list({ filters: { is_dm: false } }) } }));
    assert.deepEqual(Object.keys(notDm["rooms"]).sort(), [named, quiet].sort());
    // A change of m.direct sends the room with its new is_dm, and nothing else changed.
    const conn = { conn_id: "dm", lists: { all: list() } };
    const before = await ok(sss(a, conn));
    assert.equal(before["rooms"][dm]["is_dm"], true);
    assert.equal(before["rooms"][named]["is_dm"], undefined);
    await ok(call("PUT", `/_matrix/client/v3/user/${encodeURIComponent(a.userId)}/account_data/m.direct`, { [b.userId]: [named] }, a.token));
    const moved = await ok(sss(a, conn, { pos: before["pos"] }));
    assert.deepEqual(Object.keys(moved["rooms"]).sort(), [dm, named].sort());
    assert.equal(moved["rooms"][dm]["is_dm"], false);
    assert.equal(moved["rooms"][named]["is_dm"], true);
    assert.equal(moved["rooms"][dm]["timeline"], undefined);
    assert.equal(moved["rooms"][dm]["initial"], undefined);
    const same = await ok(sss(a, conn, { pos: moved["pos"] }));
    assert.deepEqual(same["rooms"], {}, "nothing changed since");
  });

  it("filters by is_encrypted, is_invite, room_types, not_room_types and spaces", async () => {
    const a = await register();
    const b = await register();
    const plain = await createRoom(a.userId);
    const enc = await createRoom(a.userId, { initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] });
    const space = await createRoom(a.userId, { creation_content: { type: "m.space" } });
    await setState(space, a.userId, "m.space.child", plain, { via: ["zion.test"] });
    await setState(space, a.userId, "m.space.child", enc, {}); // no via: not a child
    const invitedTo = await createRoom(b.userId, { name: "for a" });
    await hs().rooms.invite(invitedTo, b.userId, a.userId);
    const ids = async (filters: J) => Object.keys((await ok(sss(a, { lists: { l: list({ filters, ranges: [[0, 99]] }) } })))["rooms"]).sort();
    assert.deepEqual(await ids({ is_encrypted: true }), [enc]);
    assert.deepEqual(await ids({ is_encrypted: false }), [plain, space, invitedTo].sort());
    assert.deepEqual(await ids({ is_invite: true }), [invitedTo]);
    assert.deepEqual(await ids({ is_invite: false }), [plain, enc, space].sort());
    assert.deepEqual(await ids({ room_types: ["m.space"] }), [space]);
    assert.deepEqual(await ids({ room_types: [null] }), [plain, enc, invitedTo].sort());
    assert.deepEqual(await ids({ not_room_types: ["m.space"] }), [plain, enc, invitedTo].sort());
    assert.deepEqual(await ids({ room_types: ["m.space", null], not_room_types: ["m.space"] }), [plain, enc, invitedTo].sort());
    assert.deepEqual(await ids({ spaces: [space] }), [plain]);
    assert.deepEqual(await ids({ spaces: ["!unknown:zion.test"] }), []);
    // The invite shows only stripped state.
    const inv = (await ok(sss(a, { lists: { l: list({ filters: { is_invite: true }, timeline_limit: 5, required_state: [["*", "*"]] }) } })))["rooms"][invitedTo];
    assert.equal(inv["membership"], "invite");
    assert.ok(inv["invite_state"].some((e: J) => e["type"] === "m.room.name" && e["content"]["name"] === "for a"));
    assert.ok(inv["invite_state"].some((e: J) => e["type"] === "m.room.member" && e["state_key"] === a.userId && e["content"]["membership"] === "invite"));
    assert.deepEqual(inv["stripped_state"], inv["invite_state"]);
    assert.equal(inv["timeline"], undefined);
    assert.equal(inv["required_state"], undefined);
  });

  it("applies required_state wildcards, $LAZY members and excludes", async () => {
    const a = await register();
    const b = await register();
    const c = await register();
    const room = await createRoom(a.userId, { preset: "public_chat", name: "lazy" });
    await hs().rooms.join(room, b.userId);
    await hs().rooms.join(room, c.userId);
    await say(room, b.userId, "from b");
    const all = (await ok(sss(a, { room_subscriptions: { [room]: { timeline_limit: 0, required_state: [["*", "*"]] } } })))["rooms"][room];
    assert.ok(stateKeys(all).includes(`m.room.member|${c.userId}`));
    assert.ok(stateKeys(all).includes("m.room.join_rules|"));
    assert.equal(all["timeline"], undefined, "timeline_limit 0: no timeline");
    const members = (await ok(sss(a, { room_subscriptions: { [room]: { timeline_limit: 1, required_state: [["m.room.member", "*"]] } } })))["rooms"][room];
    assert.deepEqual(stateKeys(members), [a.userId, b.userId, c.userId].map((u) => `m.room.member|${u}`).sort());
    const lazy = (await ok(sss(a, { room_subscriptions: { [room]: { timeline_limit: 1, required_state: [["m.room.name", ""], ["m.room.member", "$LAZY"]] } } })))["rooms"][room];
    assert.deepEqual(stateKeys(lazy), ["m.room.name|", `m.room.member|${b.userId}`].sort(), "only the timeline sender's member event");
    const typeWild = (await ok(sss(a, { room_subscriptions: { [room]: { timeline_limit: 0, required_state: [["*", ""]] } } })))["rooms"][room];
    assert.ok(stateKeys(typeWild).every((k) => k.endsWith("|")) && stateKeys(typeWild).includes("m.room.create|"));
    // The MSC's newer form: include / exclude / lazy_members.
    const msc = (await ok(sss(a, { room_subscriptions: { [room]: { timeline_limit: 1, required_state: { include: [{}], exclude: [{ type: "m.room.member" }], lazy_members: true } } } })))["rooms"][room];
    assert.ok(!stateKeys(msc).includes(`m.room.member|${c.userId}`));
    assert.ok(stateKeys(msc).includes(`m.room.member|${b.userId}`), "lazy members are not excluded");
    assert.ok(stateKeys(msc).includes("m.room.create|"));
  });

  it("sends a lazily loaded member once per connection, and member changes when the timeline is not limited", async () => {
    const a = await register();
    const b = await register();
    const c = await register();
    const room = await createRoom(a.userId, { preset: "public_chat" });
    await hs().rooms.join(room, b.userId);
    await say(room, b.userId, "b one");
    const body = { conn_id: "lazy", room_subscriptions: { [room]: { timeline_limit: 5, required_state: [["m.room.member", "$LAZY"]] } } };
    const first = await ok(sss(a, body));
    assert.ok(stateKeys(first["rooms"][room]).includes(`m.room.member|${b.userId}`));
    await say(room, b.userId, "b two");
    const second = await ok(sss(a, body, { pos: first["pos"] }));
    assert.deepEqual(bodies(second["rooms"][room]), ["b two"]);
    assert.equal(second["rooms"][room]["required_state"], undefined, "b's member event was sent already");
    await hs().rooms.join(room, c.userId);
    await say(room, c.userId, "c one");
    const third = await ok(sss(a, body, { pos: second["pos"] }));
    assert.deepEqual(stateKeys(third["rooms"][room]), [`m.room.member|${c.userId}`]);
    // A new connection knows nothing: b's member event comes again with b's message.
    await say(room, b.userId, "b three");
    const fresh = await ok(sss(a, { ...body, conn_id: "lazy2", room_subscriptions: { [room]: { timeline_limit: 1, required_state: [["m.room.member", "$LAZY"]] } } }));
    assert.deepEqual(stateKeys(fresh["rooms"][room]), [`m.room.member|${b.userId}`]);
  });

  it("merges a room subscription with the list config and sends incremental changes only", async () => {
    const a = await register();
    const b = await register();
    const room = await createRoom(a.userId, { preset: "public_chat", name: "merge" });
    const other = await createRoom(a.userId, { name: "other" });
    await say(room, a.userId, "m1");
    await say(room, a.userId, "m2");
    const body = (extra: J = {}) => ({ conn_id: "c", lists: { l: list({ ranges: [[0, 0]], timeline_limit: 1, required_state: [["m.room.name", ""]] }) }, room_subscriptions: { [other]: { timeline_limit: 3, required_state: [["m.room.create", ""]] } }, ...extra });
    const first = await ok(sss(a, body()));
    assert.deepEqual(Object.keys(first["rooms"]).sort(), [room, other].sort());
    assert.deepEqual(first["rooms"][other]["lists"], undefined);
    assert.deepEqual(stateKeys(first["rooms"][other]), ["m.room.create|"]);
    // The subscribed room is in the list too: the superset of both configs.
    const both = await ok(sss(a, { conn_id: "d", lists: { l: list({ ranges: [[0, 9]], timeline_limit: 1, required_state: [["m.room.name", ""]] }) }, room_subscriptions: { [room]: { timeline_limit: 2, required_state: [["m.room.create", ""]] } } }));
    assert.deepEqual(stateKeys(both["rooms"][room]), ["m.room.create|", "m.room.name|"]);
    assert.deepEqual(bodies(both["rooms"][room]), ["m1", "m2"]);
    // Nothing new: an empty response with the same pos.
    const empty = await ok(sss(a, body(), { pos: first["pos"], timeout: 0 }));
    assert.deepEqual(empty["rooms"], {});
    assert.equal(empty["pos"], first["pos"]);
    // A message in one room: only that room, not initial, the new event live, no unchanged name.
    await say(room, a.userId, "m3");
    const next = await ok(sss(a, body(), { pos: first["pos"] }));
    assert.deepEqual(Object.keys(next["rooms"]), [room]);
    const r = next["rooms"][room];
    assert.equal(r["initial"], undefined);
    assert.deepEqual(bodies(r), ["m3"]);
    assert.equal(r["num_live"], 1);
    assert.equal(r["limited"], false);
    assert.equal(r["name"], undefined);
    assert.equal(r["required_state"], undefined);
    // A name change: the new name and its state event.
    await setState(room, a.userId, "m.room.name", "", { name: "renamed" });
    const renamed = await ok(sss(a, body(), { pos: next["pos"] }));
    assert.equal(renamed["rooms"][room]["name"], "renamed");
    assert.deepEqual(stateKeys(renamed["rooms"][room]), ["m.room.name|"]);
    // A widened required_state sends exactly the newly required state, at once, with no new event.
    const widened = body({ lists: { l: list({ ranges: [[0, 0]], timeline_limit: 1, required_state: [["m.room.name", ""], ["m.room.join_rules", ""], ["m.room.history_visibility", ""]] }) } });
    const wide = await ok(sss(a, widened, { pos: renamed["pos"] }));
    assert.deepEqual(Object.keys(wide["rooms"]), [room]);
    assert.deepEqual(stateKeys(wide["rooms"][room]), ["m.room.history_visibility|", "m.room.join_rules|"]);
    assert.deepEqual(bodies(wide["rooms"][room]), []);
    // A raised timeline_limit resends older events, marked expanded.
    const longer = body({ lists: { l: list({ ranges: [[0, 0]], timeline_limit: 3, required_state: [["m.room.name", ""], ["m.room.join_rules", ""], ["m.room.history_visibility", ""]] }) } });
    const expanded = await ok(sss(a, longer, { pos: wide["pos"] }));
    const ex = expanded["rooms"][room];
    assert.equal(ex["expanded_timeline"], true);
    assert.equal(ex["unstable_expanded_timeline"], true);
    assert.equal(ex["timeline"].length, 3);
    assert.equal(ex["num_live"], 0);
  });

  it("sends a room that left the window with its missed updates when it comes back, and keeps the state across a restart", async () => {
    const a = await register();
    const r1 = await createRoom(a.userId, { name: "r1" });
    const r2 = await createRoom(a.userId, { name: "r2" });
    await say(r1, a.userId, "r1 first");
    const body = { conn_id: "win", lists: { l: list({ ranges: [[0, 0]], timeline_limit: 5, required_state: [["m.room.name", ""]] }) } };
    const first = await ok(sss(a, body));
    assert.deepEqual(Object.keys(first["rooms"]), [r1]);
    await say(r2, a.userId, "r2 bumps");
    const second = await ok(sss(a, body, { pos: first["pos"] }));
    assert.deepEqual(Object.keys(second["rooms"]), [r2]);
    assert.equal(second["rooms"][r2]["initial"], true);
    assert.equal(second["rooms"][r2]["num_live"], 1, "a room entering the window with initial: true still counts its event after the pos as live");
    await say(r1, a.userId, "r1 missed");
    await say(r1, a.userId, "r1 back");
    await zion.stop();
    zion = await start();
    const third = await ok(sss(a, body, { pos: second["pos"] }));
    assert.deepEqual(Object.keys(third["rooms"]), [r1]);
    const back = third["rooms"][r1];
    assert.equal(back["initial"], undefined, "the connection remembers r1 across the restart");
    assert.deepEqual(bodies(back), ["r1 missed", "r1 back"]);
    assert.equal(back["name"], undefined);
    // A new connection after the restart orders by the stored room-list rows (migration 0023): r1 is newest.
    const fresh = await ok(sss(a, { conn_id: "after", lists: { l: list({ ranges: [[0, 1]], timeline_limit: 0 }) } }));
    assert.deepEqual(fresh["lists"]["l"]["ops"][0]["room_ids"], [r1, r2]);
    assert.ok(fresh["rooms"][r1]["bump_stamp"] > fresh["rooms"][r2]["bump_stamp"], "bump stamps survive the restart");
  });

  it("includes kicked rooms, and own leaves only when the connection sent the room", async () => {
    const a = await register();
    const b = await register();
    const kicked = await createRoom(b.userId, { preset: "public_chat", name: "kick" });
    const left = await createRoom(b.userId, { preset: "public_chat", name: "left" });
    const leftUnseen = await createRoom(b.userId, { preset: "public_chat", name: "unseen" });
    await hs().rooms.join(kicked, a.userId);
    await hs().rooms.join(left, a.userId);
    const body = { lists: { l: list({ ranges: [[0, 9]], timeline_limit: 2, required_state: [["m.room.name", ""]] }) } };
    const first = await ok(sss(a, body));
    assert.ok(first["rooms"][left] && first["rooms"][kicked]);
    await hs().rooms.join(leftUnseen, a.userId);
    await hs().rooms.setMembership(leftUnseen, a.userId, a.userId, "leave");
    await hs().rooms.setMembership(kicked, b.userId, a.userId, "kick");
    await hs().rooms.setMembership(left, a.userId, a.userId, "leave");
    await say(left, b.userId, "after the leave");
    const next = await ok(sss(a, body, { pos: first["pos"] }));
    assert.equal(next["rooms"][kicked]["membership"], "leave");
    assert.equal(next["rooms"][left]["membership"], "leave");
    assert.ok(!bodies(next["rooms"][left]).includes("after the leave"), "nothing after the leave is shown");
    assert.equal(next["rooms"][leftUnseen], undefined);
    const fresh = await ok(sss(a, body));
    assert.ok(fresh["rooms"][kicked], "kicks are always listed");
    assert.equal(fresh["rooms"][left], undefined, "own leaves are not listed on a new connection");
    // Encrypted after the kick: the filter judges the room as a last saw it.
    await setState(kicked, b.userId, "m.room.encryption", "", { algorithm: "m.megolm.v1.aes-sha2" });
    const enc = (v: boolean) => ({ lists: { l: list({ ranges: [[0, 9]], filters: { is_encrypted: v } }) } });
    assert.equal((await ok(sss(a, enc(true))))["rooms"][kicked], undefined);
    assert.ok((await ok(sss(a, enc(false))))["rooms"][kicked], "not encrypted when a was kicked");
  });

  it("shows a knocked room by its stripped state and the knock", async () => {
    const a = await register();
    const b = await register();
    const room = await createRoom(b.userId, { name: "knock here", initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }] });
    await hs().rooms.knock(room, a.userId);
    const r = (await ok(sss(a, { lists: { l: list({ timeline_limit: 3, required_state: [["*", "*"]] }) } })))["rooms"][room];
    assert.equal(r["membership"], "knock");
    assert.equal(r["initial"], true);
    assert.ok(r["stripped_state"].some((e: J) => e["type"] === "m.room.name" && e["content"]["name"] === "knock here"));
    assert.ok(r["stripped_state"].some((e: J) => e["type"] === "m.room.member" && e["state_key"] === a.userId && e["content"]["membership"] === "knock"));
    assert.equal(r["timeline"], undefined);
  });

  it("shows a rejected or withdrawn invite by its member event only, and never lists a ban from a room never joined", async () => {
    const a = await register();
    const b = await register();
    const rejected = await createRoom(b.userId, { name: "secret name" });
    const withdrawn = await createRoom(b.userId, { name: "withdrawn" });
    const banned = await createRoom(b.userId, { preset: "public_chat", name: "banned" });
    await hs().rooms.invite(rejected, b.userId, a.userId);
    const body = { lists: { l: list({ ranges: [[0, 9]], timeline_limit: 5, required_state: [["*", "*"]] }) } };
    const first = await ok(sss(a, body));
    assert.equal(first["rooms"][rejected]["membership"], "invite");
    await hs().rooms.setMembership(rejected, a.userId, a.userId, "leave");
    await setState(rejected, b.userId, "m.room.name", "", { name: "renamed after the rejection" });
    await hs().rooms.invite(withdrawn, b.userId, a.userId);
    await hs().rooms.setMembership(withdrawn, b.userId, a.userId, "kick");
    await hs().rooms.setMembership(banned, b.userId, a.userId, "ban");
    const next = await ok(sss(a, body, { pos: first["pos"] }));
    const r = next["rooms"][rejected];
    assert.equal(r["membership"], "leave");
    assert.equal(r["initial"], undefined);
    assert.deepEqual(r["stripped_state"].map((e: J) => [e["type"], e["content"]["membership"]]), [["m.room.member", "leave"]]);
    assert.equal(r["timeline"], undefined);
    assert.equal(r["required_state"], undefined);
    assert.ok(!JSON.stringify(r).includes("renamed after the rejection"));
    assert.deepEqual(next["rooms"][withdrawn]["stripped_state"].map((e: J) => e["content"]["membership"]), ["leave"]);
    assert.equal(next["rooms"][banned], undefined, "a ban from a room never joined is not listed");
  });

  it("sends the avatar and name when they change (null when removed), filters by tags and not_tags, and ignores a subscription to a room without a membership", async () => {
    const a = await register();
    const b = await register();
    const fav = await createRoom(a.userId, { name: "fav" });
    const low = await createRoom(a.userId);
    const untagged = await createRoom(a.userId);
    const strangers = await createRoom(b.userId, { preset: "public_chat", name: "not a's" });
    await setState(low, a.userId, "m.room.avatar", "", { url: "mxc://zion.test/first" });
    const tag = (roomId: RoomId, t: string) => ok(call("PUT", `/_matrix/client/v3/user/${encodeURIComponent(a.userId)}/rooms/${encodeURIComponent(roomId)}/tags/${t}`, {}, a.token));
    await tag(fav, "m.favourite");
    await tag(low, "m.lowpriority");
    const ids = async (filters: J) => Object.keys((await ok(sss(a, { lists: { l: list({ filters }) } })))["rooms"]).sort();
    assert.deepEqual(await ids({ tags: ["m.favourite"] }), [fav]);
    assert.deepEqual(await ids({ tags: ["m.favourite", "m.lowpriority"] }), [fav, low].sort());
    assert.deepEqual(await ids({ not_tags: ["m.lowpriority"] }), [fav, untagged].sort());
    assert.deepEqual(await ids({ tags: ["m.favourite", "m.lowpriority"], not_tags: ["m.lowpriority"] }), [fav]);
    // A subscription to a room a has no membership in (public or not) is ignored.
    const body = { conn_id: "av", lists: { l: list({ ranges: [[0, 9]] }) }, room_subscriptions: { [strangers]: { timeline_limit: 5, required_state: [["*", "*"]] } } };
    const first = await ok(sss(a, body));
    assert.equal(first["rooms"][strangers], undefined);
    assert.equal(first["rooms"][low]["avatar"], "mxc://zion.test/first");
    assert.equal(first["rooms"][fav]["avatar"], undefined, "no avatar set");
    await setState(low, a.userId, "m.room.avatar", "", { url: "mxc://zion.test/second" });
    const changed = await ok(sss(a, body, { pos: first["pos"] }));
    assert.equal(changed["rooms"][low]["avatar"], "mxc://zion.test/second");
    assert.equal(changed["rooms"][low]["name"], undefined, "the name did not change");
    await setState(low, a.userId, "m.room.avatar", "", {});
    await setState(fav, a.userId, "m.room.name", "", {});
    const removed = await ok(sss(a, body, { pos: changed["pos"] }));
    assert.equal(removed["rooms"][low]["avatar"], null, "a removed avatar is null");
    assert.equal(removed["rooms"][fav]["name"], null, "a removed name is null");
    assert.equal(removed["rooms"][fav]["avatar"], undefined);
  });

  it("scopes account_data, receipts and typing to the named lists and subscriptions", async () => {
    const a = await register();
    const b = await register();
    const [inA, sub, inB] = [await createRoom(a.userId, { preset: "public_chat" }), await createRoom(a.userId, { preset: "public_chat" }), await createRoom(a.userId, { preset: "public_chat" })];
    // Activity order: inB, sub, inA. Each room's newest event (its timeline of 1) has b's read receipt.
    for (const r of [inA, sub, inB]) {
      await hs().rooms.join(r, b.userId);
      const m = await say(r, b.userId, "hello");
      await ok(call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(r)}/receipt/m.read/${encodeURIComponent(m.eventId)}`, {}, b.token));
      await ok(call("PUT", `/_matrix/client/v3/user/${encodeURIComponent(a.userId)}/rooms/${encodeURIComponent(r)}/account_data/com.example.r`, { r }, a.token));
      await ok(call("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(r)}/typing/${encodeURIComponent(b.userId)}`, { typing: true, timeout: 30000 }, b.token));
    }
    // List a holds inA ([2, 2]), list b holds inB ([0, 0]); sub is subscribed.
    const body = {
      lists: { a: list({ ranges: [[2, 2]] }), b: list({ ranges: [[0, 0]] }) },
      room_subscriptions: { [sub]: { timeline_limit: 1, required_state: [] } },
      extensions: { account_data: { enabled: true, lists: ["a"], rooms: [] }, receipts: { enabled: true, lists: ["b"], rooms: [sub] }, typing: { enabled: true, lists: [], rooms: [sub] } },
    };
    const r = await ok(sss(a, body));
    assert.deepEqual(r["lists"]["a"]["ops"][0]["room_ids"], [inA]);
    assert.deepEqual(r["lists"]["b"]["ops"][0]["room_ids"], [inB]);
    assert.deepEqual(Object.keys(r["extensions"]["account_data"]["rooms"]), [inA]);
    assert.deepEqual(r["extensions"]["account_data"]["rooms"][inA].map((e: J) => e["type"]), ["com.example.r"]);
    assert.deepEqual(Object.keys(r["extensions"]["receipts"]["rooms"]).sort(), [inB, sub].sort());
    assert.deepEqual(r["extensions"]["typing"]["rooms"], { [sub]: { type: "m.typing", content: { user_ids: [b.userId] } } });
    // Absent lists and rooms, or "*", mean all of them.
    const all = await ok(sss(a, { ...body, extensions: { typing: { enabled: true }, account_data: { enabled: true, lists: ["*"], rooms: ["*"] } } }));
    assert.deepEqual(Object.keys(all["extensions"]["typing"]["rooms"]).sort(), [inA, inB, sub].sort());
    assert.deepEqual(Object.keys(all["extensions"]["account_data"]["rooms"]).sort(), [inA, inB, sub].sort());
  });

  it("serves the to_device, e2ee, account_data, receipts and typing extensions with their scoping", async () => {
    const a = await register();
    const b = await register();
    const inList = await createRoom(a.userId, { preset: "public_chat" });
    const outside = await createRoom(a.userId, { preset: "public_chat" });
    await hs().rooms.join(inList, b.userId);
    await hs().rooms.join(outside, b.userId);
    const m = await say(inList, b.userId, "read me");
    await say(outside, b.userId, "outside");
    await say(inList, b.userId, "newest"); // inList is the most recent
    await ok(call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(inList)}/receipt/m.read/${encodeURIComponent(m.eventId)}`, {}, b.token));
    await ok(call("PUT", `/_matrix/client/v3/user/${encodeURIComponent(a.userId)}/rooms/${encodeURIComponent(inList)}/account_data/m.tag`, { tags: { "m.favourite": {} } }, a.token));
    await ok(call("PUT", `/_matrix/client/v3/user/${encodeURIComponent(a.userId)}/account_data/com.example.g`, { g: 1 }, a.token));
    await ok(call("POST", `/_matrix/client/v3/keys/upload`, { one_time_keys: { "signed_curve25519:AAAA": { key: "k", signatures: {} } } }, a.token));
    await ok(call("PUT", `/_matrix/client/v3/sendToDevice/m.test/t1`, { messages: { [a.userId]: { [a.deviceId]: { hello: 1 } } } }, b.token));
    const ext = { to_device: { enabled: true }, e2ee: { enabled: true }, account_data: { enabled: true }, receipts: { enabled: true }, typing: { enabled: true } };
    const body = { lists: { l: list({ ranges: [[0, 0]] }) }, extensions: ext };
    const first = await ok(sss(a, body));
    const x = first["extensions"];
    assert.deepEqual(x["to_device"]["events"].map((e: J) => e["content"]), [{ hello: 1 }]);
    assert.match(x["to_device"]["next_batch"], /^\d+$/);
    assert.equal(x["e2ee"]["device_one_time_keys_count"]["signed_curve25519"], 1);
    assert.deepEqual(x["e2ee"]["device_unused_fallback_key_types"], []);
    assert.ok(x["account_data"]["global"].some((e: J) => e["type"] === "com.example.g"));
    assert.deepEqual(Object.keys(x["account_data"]["rooms"]), [inList]);
    assert.ok(x["receipts"]["rooms"][inList] === undefined || x["receipts"]["rooms"][inList]["type"] === "m.receipt");
    assert.equal(x["receipts"]["rooms"][outside], undefined, "outside the list's window");
    // Incremental: typing and a receipt in the window, a to-device acknowledged by its since.
    await ok(call("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(inList)}/typing/${encodeURIComponent(b.userId)}`, { typing: true, timeout: 30000 }, b.token));
    await ok(call("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(outside)}/typing/${encodeURIComponent(b.userId)}`, { typing: true, timeout: 30000 }, b.token));
    const last = await say(inList, b.userId, "receipted");
    await ok(call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(inList)}/receipt/m.read/${encodeURIComponent(last.eventId)}`, {}, b.token));
    const since = x["to_device"]["next_batch"];
    const next = await ok(sss(a, { ...body, extensions: { ...ext, to_device: { enabled: true, since } } }, { pos: first["pos"] }));
    const y = next["extensions"];
    assert.deepEqual(y["to_device"]["events"], []);
    assert.deepEqual(y["typing"]["rooms"], { [inList]: { type: "m.typing", content: { user_ids: [b.userId] } } });
    assert.deepEqual(Object.keys(y["receipts"]["rooms"]), [inList]);
    assert.ok(y["receipts"]["rooms"][inList]["content"][last.eventId]["m.read"][b.userId]);
    assert.deepEqual(y["e2ee"]["device_lists"], { changed: [], left: [] });
    // Scoped to nothing: no rooms in the typing and receipts extensions.
    const none = await ok(sss(a, { ...body, extensions: { typing: { enabled: true, lists: [], rooms: [] } } }));
    assert.deepEqual(none["extensions"]["typing"]["rooms"], {});
    // A device-list change of a user sharing a room shows in e2ee.device_lists.changed.
    const before = await ok(sss(a, { extensions: { e2ee: { enabled: true } } }));
    const k = signingKeyFromSeed(b.deviceId, new Uint8Array(32).fill(7));
    const deviceKeys = signJson({ user_id: b.userId, device_id: b.deviceId, algorithms: ["m.olm.v1.curve25519-aes-sha2"], keys: { [`ed25519:${b.deviceId}`]: publicKeyBase64(k), [`curve25519:${b.deviceId}`]: "curve" } }, b.userId, k);
    await ok(call("POST", `/_matrix/client/v3/keys/upload`, { device_keys: deviceKeys }, b.token));
    const after = await ok(sss(a, { extensions: { e2ee: { enabled: true } } }, { pos: before["pos"] }));
    assert.deepEqual(after["extensions"]["e2ee"]["device_lists"]["changed"], [b.userId]);
  });

  it("lists in e2ee.device_lists.left a user who shares no room any more, and in changed one who newly shares one", async () => {
    const a = await register();
    const b = await register();
    const c = await register();
    const both = await createRoom(a.userId, { preset: "public_chat" });
    const onlyB = await createRoom(a.userId, { preset: "public_chat" });
    await hs().rooms.join(both, b.userId);
    await hs().rooms.join(onlyB, b.userId);
    const body = { extensions: { e2ee: { enabled: true } } };
    const first = await ok(sss(a, body));
    // b leaves one room but still shares the other: neither changed nor left.
    await hs().rooms.setMembership(onlyB, b.userId, b.userId, "leave");
    const still = await ok(sss(a, body, { pos: first["pos"] }));
    assert.deepEqual(still["extensions"]["e2ee"]["device_lists"], { changed: [], left: [] });
    // b leaves the last shared room (left); c joins one (changed: a must fetch c's keys).
    await hs().rooms.setMembership(both, b.userId, b.userId, "leave");
    await hs().rooms.join(both, c.userId);
    const next = await ok(sss(a, body, { pos: still["pos"] }));
    assert.deepEqual(next["extensions"]["e2ee"]["device_lists"], { changed: [c.userId], left: [b.userId] });
    // a leaving the room c shares: c is left.
    await hs().rooms.setMembership(both, a.userId, a.userId, "leave");
    const gone = await ok(sss(a, body, { pos: next["pos"] }));
    assert.deepEqual(gone["extensions"]["e2ee"]["device_lists"], { changed: [], left: [c.userId] });
  });

  it("records set_presence as /sync does: online when absent, unavailable, offline leaving it; another value is refused", async () => {
    const a = await register();
    const status = async () => (await ok(call("GET", `/_matrix/client/v3/presence/${encodeURIComponent(a.userId)}/status`, undefined, a.token)))["presence"];
    await expectError(sss(a, {}, { set_presence: "busy" }), 400, "M_INVALID_PARAM", /set_presence/);
    await ok(sss(a, {}, { set_presence: "offline" }));
    assert.equal(await status(), "offline");
    await ok(sss(a, {}));
    assert.equal(await status(), "online");
    await ok(sss(a, {}, { set_presence: "unavailable" }));
    assert.equal(await status(), "unavailable");
    await ok(sss(a, {}, { set_presence: "offline" }));
    assert.equal(await status(), "unavailable", "offline leaves presence as it is");
  });

  it("deletes a device's connections on logout and device deletion: the same device id logging in again starts over", async () => {
    const a = await register();
    const body = { lists: { l: list() } };
    const first = await ok(sss(a, body));
    const other = await ok(call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: a.userId }, password: PASSWORD }));
    const b: Session = { userId: a.userId, token: String(other["access_token"]), deviceId: String(other["device_id"]) };
    const second = await ok(sss(b, body));
    await ok(call("POST", "/_matrix/client/v3/logout", {}, a.token));
    const again = await ok(call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: a.userId }, password: PASSWORD, device_id: a.deviceId }));
    const a2: Session = { ...a, token: String(again["access_token"]) };
    await expectError(sss(a2, body, { pos: first["pos"] }), 400, "M_UNKNOWN_POS");
    const kept = await ok(sss(b, body, { pos: second["pos"] }));
    assert.equal(kept["pos"], second["pos"], "another device's connection is kept (nothing new: the same pos)");
    const fresh = await ok(sss(a2, body));
    await ok(call("POST", "/_matrix/client/v3/delete_devices", { devices: [b.deviceId], auth: { type: "m.login.password", identifier: { type: "m.id.user", user: a.userId }, password: PASSWORD } }, a2.token));
    const b2 = await ok(call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: a.userId }, password: PASSWORD, device_id: b.deviceId }));
    await expectError(sss({ ...b, token: String(b2["access_token"]) }, body, { pos: second["pos"] }), 400, "M_UNKNOWN_POS");
    assert.ok((await ok(sss(a2, body, { pos: fresh["pos"] })))["pos"]);
  });

  it("long-polls: a relevant event wakes the request, an event in another user's room or typing nobody asked for does not", async () => {
    const a = await register();
    const c = await register();
    const room = await createRoom(a.userId);
    const elsewhere = await createRoom(c.userId);
    const body = { lists: { l: list({ ranges: [[0, 9]] }) } };
    const first = await ok(sss(a, body));
    const started = Date.now();
    const waiting = sss(a, body, { pos: first["pos"], timeout: 20000 }, 30000);
    while (hs().notifier.waiting() === 0) await new Promise((r) => setTimeout(r, 5));
    await say(elsewhere, c.userId, "not for a");
    // In a's own room, typing with no typing extension asked for: the request wakes, finds nothing and waits on.
    await ok(call("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/typing/${encodeURIComponent(a.userId)}`, { typing: true, timeout: 30000 }, a.token));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(hs().notifier.waiting() >= 1, "still waiting after irrelevant events");
    await say(room, a.userId, "wake up");
    const r = await waiting;
    assert.equal(r.status, 200, r.body);
    const woken = r.json() as J;
    assert.deepEqual(bodies(woken["rooms"][room]), ["wake up"]);
    assert.ok(Date.now() - started < 15000);
    // With nothing happening, the wait ends at the timeout with the same pos.
    const t0 = Date.now();
    const idle = await ok(sss(a, body, { pos: woken["pos"], timeout: 300 }));
    assert.ok(Date.now() - t0 >= 250);
    assert.equal(idle["pos"], woken["pos"]);
    assert.deepEqual(idle["rooms"], {});
  });
});
