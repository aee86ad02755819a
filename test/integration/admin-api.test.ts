/**
 * Synapse's admin API on a real Zion over loopback (docs/admin-api.md): every endpoint with an admin, a non-admin
 * (403 M_FORBIDDEN, nothing written) and bad input (errcode, status, nothing written, checked in the server's store);
 * then a synapse-admin style flow against a real `zion start` child process, whose log names the admin of each call.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { registrationMac, scryptHasher } from "../../src/api/index.js";
import type { Clock } from "../../src/core/clock.js";
import type { RoomId, UserId } from "../../src/core/ids/index.js";
import { startTestServer, parseLogLine, type TestServer } from "../harness/server.js";
import { clientCaller, expectMatrixError } from "../harness/http-get.js";

let now = 1_764_000_000_000;
const clock: Clock = { now: () => now, sleep: async () => {} };
const PASSWORD = "correct horse 1";
const SECRET = "admin api shared secret";
const generous = { per_second: 1000, burst_count: 1000 };
const config = { enable_registration: true, enable_registration_without_verification: true, rc_login: { address: generous, account: generous, failed_attempts: generous }, rc_registration: generous, rc_message: generous };

describe("admin API", () => {
  let zion: TestServer;
  let adminToken = "";
  let userToken = "";
  before(async () => {
    zion = await startTestServer({ config, startOptions: { clock, passwordHasher: scryptHasher({ ln: 10 }) } });
    adminToken = String((await register("boss"))["access_token"]);
    userToken = String((await register("plain"))["access_token"]);
    await zion.homeserver!.storage.admin.setAdmin(uid("boss"), true);
  });
  after(() => zion?.stop());

  const call = clientCaller(() => zion.clientUrl);
  const uid = (local: string) => `@${local}:zion.test` as UserId;
  const store = () => zion.homeserver!.storage;
  async function register(username: string): Promise<Record<string, unknown>> {
    const r = await call("POST", "/_matrix/client/v3/register", { username, password: PASSWORD, auth: { type: "m.login.dummy" } });
    assert.equal(r.status, 200, r.body);
    return r.json();
  }
  const enc = encodeURIComponent;

  it("GET /_synapse/admin/v1/server_version answers without a token, as Synapse", async () => {
    const r = await call("GET", "/_synapse/admin/v1/server_version");
    assert.equal(r.status, 200, r.body);
    assert.equal(typeof r.json()["server_version"], "string");
  });

  it("refuses a non-admin with 403 M_FORBIDDEN on every endpoint, and a missing token with 401, writing nothing", async () => {
    const calls: [string, string, unknown?][] = [
      ["GET", "/_synapse/admin/v2/users"],
      ["GET", `/_synapse/admin/v2/users/${enc(uid("boss"))}`],
      ["PUT", `/_synapse/admin/v2/users/${enc(uid("sneaky"))}`, { password: "x1234567", admin: true }],
      ["POST", `/_synapse/admin/v1/deactivate/${enc(uid("boss"))}`, {}],
      ["GET", `/_synapse/admin/v1/users/${enc(uid("boss"))}/admin`],
      ["PUT", `/_synapse/admin/v1/users/${enc(uid("plain"))}/admin`, { admin: true }],
      ["POST", `/_synapse/admin/v1/reset_password/${enc(uid("boss"))}`, { new_password: "taken over 1" }],
      ["GET", `/_synapse/admin/v1/whois/${enc(uid("boss"))}`],
      ["GET", "/_synapse/admin/v1/registration_tokens"],
      ["POST", "/_synapse/admin/v1/registration_tokens/new", { token: "sneaky" }],
      ["GET", "/_synapse/admin/v1/registration_tokens/sneaky"],
      ["PUT", "/_synapse/admin/v1/registration_tokens/sneaky", { uses_allowed: 1 }],
      ["DELETE", "/_synapse/admin/v1/registration_tokens/sneaky"],
      ["GET", "/_synapse/admin/v1/rooms"],
      ["GET", `/_synapse/admin/v1/rooms/${enc("!sneaky:zion.test")}/block`],
      ["PUT", `/_synapse/admin/v1/rooms/${enc("!sneaky:zion.test")}/block`, { block: true }],
      ["DELETE", `/_synapse/admin/v1/rooms/${enc("!sneaky:zion.test")}`, { block: true }],
      ["DELETE", `/_synapse/admin/v2/rooms/${enc("!sneaky:zion.test")}`, { block: true }],
      ["GET", `/_synapse/admin/v2/rooms/${enc("!sneaky:zion.test")}/delete_status`],
      ["GET", "/_synapse/admin/v2/rooms/delete_status/abc"],
    ];
    for (const [method, path, body] of calls) {
      expectMatrixError(await call(method, path, body, userToken), 403, "M_FORBIDDEN");
      expectMatrixError(await call(method, path, body), 401, "M_MISSING_TOKEN");
    }
    assert.equal(await store().users.getUser(uid("sneaky")), null);
    assert.equal((await store().users.getUser(uid("plain")))!.admin, false);
    assert.equal((await store().users.getUser(uid("boss")))!.deactivated, false);
    assert.equal(await store().admin.getRegistrationToken("sneaky"), null);
    assert.equal(await store().admin.getRoomBlock("!sneaky:zion.test" as RoomId), null);
    const login = await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: "boss" }, password: PASSWORD });
    assert.equal(login.status, 200, "the admin's password was not reset");
  });

  describe("users", () => {
    it("PUT /v2/users creates a user (201) with password, display name and admin flag, then modifies it (200)", async () => {
      const r = await call("PUT", `/_synapse/admin/v2/users/${enc(uid("made"))}`, { password: "made password 1", displayname: "Made", admin: false }, adminToken);
      assert.equal(r.status, 201, r.body);
      assert.equal(r.json()["name"], uid("made"));
      assert.equal(r.json()["displayname"], "Made");
      const login = await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: "made" }, password: "made password 1" });
      assert.equal(login.status, 200, login.body);
      const m = await call("PUT", `/_synapse/admin/v2/users/${enc(uid("made"))}`, { displayname: "Renamed", admin: true }, adminToken);
      assert.equal(m.status, 200, m.body);
      assert.equal(m.json()["displayname"], "Renamed");
      assert.equal(m.json()["admin"], true);
      assert.equal((await store().users.getProfile(uid("made")))!.displayname, "Renamed");
      // A new password logs the user's devices out (logout_devices defaults to true).
      const token = String(login.json()["access_token"]);
      assert.equal((await call("PUT", `/_synapse/admin/v2/users/${enc(uid("made"))}`, { password: "second password 2" }, adminToken)).status, 200);
      expectMatrixError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, token), 401, "M_UNKNOWN_TOKEN");
    });

    it("PUT /v2/users refuses bad input without writing: a remote or malformed id, a bad username, wrong types, reactivation without password, self-demotion", async () => {
      expectMatrixError(await call("PUT", `/_synapse/admin/v2/users/${enc("@x:elsewhere.test")}`, { password: "abcdefgh1" }, adminToken), 400, "M_INVALID_PARAM");
      expectMatrixError(await call("PUT", `/_synapse/admin/v2/users/not-a-user`, {}, adminToken), 400, "M_INVALID_PARAM");
      expectMatrixError(await call("PUT", `/_synapse/admin/v2/users/${enc("@UPPER:zion.test")}`, { password: "abcdefgh1" }, adminToken), 400, "M_INVALID_USERNAME");
      expectMatrixError(await call("PUT", `/_synapse/admin/v2/users/${enc(uid("typed"))}`, { admin: "yes" }, adminToken), 400, "M_BAD_JSON");
      expectMatrixError(await call("PUT", `/_synapse/admin/v2/users/${enc(uid("boss"))}`, { admin: false }, adminToken), 400, "M_UNKNOWN");
      for (const id of ["@x:elsewhere.test", "@UPPER:zion.test", uid("typed")]) assert.equal(await store().users.getUser(id as UserId), null);
      assert.equal((await store().users.getUser(uid("boss")))!.admin, true);
      await register("revive");
      await store().users.deactivateUser(uid("revive"));
      expectMatrixError(await call("PUT", `/_synapse/admin/v2/users/${enc(uid("revive"))}`, { deactivated: false }, adminToken), 400, "M_UNKNOWN");
      assert.equal((await store().users.getUser(uid("revive")))!.deactivated, true);
      const ok = await call("PUT", `/_synapse/admin/v2/users/${enc(uid("revive"))}`, { deactivated: false, password: "back again 1" }, adminToken);
      assert.equal(ok.status, 200, ok.body);
      assert.equal(ok.json()["deactivated"], false);
    });

    it("GET /v2/users/{userId}: the user, 404 M_NOT_FOUND when unknown, 400 for a remote user", async () => {
      const r = await call("GET", `/_synapse/admin/v2/users/${enc(uid("plain"))}`, undefined, adminToken);
      assert.equal(r.status, 200, r.body);
      const j = r.json();
      assert.equal(j["name"], uid("plain"));
      assert.equal(j["admin"], false);
      assert.equal(j["deactivated"], false);
      assert.equal(j["displayname"], "plain");
      assert.deepEqual(j["threepids"], []);
      assert.equal(j["creation_ts"], now);
      expectMatrixError(await call("GET", `/_synapse/admin/v2/users/${enc(uid("ghost"))}`, undefined, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("GET", `/_synapse/admin/v2/users/${enc("@x:elsewhere.test")}`, undefined, adminToken), 400, "M_INVALID_PARAM");
    });

    it("GET /v2/users pages with next_token and total and filters by name, admins and deactivated; bad parameters are 400 M_INVALID_PARAM", async () => {
      const all = await call("GET", "/_synapse/admin/v2/users?deactivated=true", undefined, adminToken);
      assert.equal(all.status, 200, all.body);
      const names = (all.json()["users"] as { name: string }[]).map((u) => u.name);
      assert.deepEqual(names, [...names].sort());
      assert.ok(names.includes(uid("boss")) && names.includes(uid("plain")));
      const page = (await call("GET", "/_synapse/admin/v2/users?limit=1&from=0&deactivated=true", undefined, adminToken)).json();
      assert.equal((page["users"] as unknown[]).length, 1);
      assert.equal(page["next_token"], "1");
      assert.equal(page["total"], names.length);
      const last = (await call("GET", `/_synapse/admin/v2/users?from=${names.length - 1}&deactivated=true`, undefined, adminToken)).json();
      assert.equal(last["next_token"], undefined, "no next_token on the last page");
      const admins = (await call("GET", "/_synapse/admin/v2/users?admins=true", undefined, adminToken)).json();
      assert.ok((admins["users"] as { admin: boolean }[]).every((u) => u.admin));
      const byName = (await call("GET", "/_synapse/admin/v2/users?name=PLA", undefined, adminToken)).json();
      assert.deepEqual((byName["users"] as { name: string }[]).map((u) => u.name), [uid("plain")]);
      const back = (await call("GET", "/_synapse/admin/v2/users?dir=b&order_by=name&deactivated=true", undefined, adminToken)).json();
      assert.deepEqual((back["users"] as { name: string }[]).map((u) => u.name), [...names].reverse());
      for (const q of ["from=-1", "limit=x", "limit=5000", "order_by=password", "dir=up", "deactivated=maybe", "guests=1"]) {
        const e = expectMatrixError(await call("GET", `/_synapse/admin/v2/users?${q}`, undefined, adminToken), 400, "M_INVALID_PARAM");
        assert.match(String(e["error"]), new RegExp(q.split("=")[0]!), `the message names ${q}`);
      }
    });

    it("GET/PUT /v1/users/{userId}/admin reads and sets the flag; an admin cannot demote itself; unknown is 404", async () => {
      await register("promoted");
      assert.deepEqual((await call("GET", `/_synapse/admin/v1/users/${enc(uid("promoted"))}/admin`, undefined, adminToken)).json(), { admin: false });
      assert.equal((await call("PUT", `/_synapse/admin/v1/users/${enc(uid("promoted"))}/admin`, { admin: true }, adminToken)).status, 200);
      assert.deepEqual((await call("GET", `/_synapse/admin/v1/users/${enc(uid("promoted"))}/admin`, undefined, adminToken)).json(), { admin: true });
      expectMatrixError(await call("PUT", `/_synapse/admin/v1/users/${enc(uid("boss"))}/admin`, { admin: false }, adminToken), 400, "M_UNKNOWN");
      expectMatrixError(await call("PUT", `/_synapse/admin/v1/users/${enc(uid("promoted"))}/admin`, {}, adminToken), 400, "M_BAD_JSON");
      expectMatrixError(await call("PUT", `/_synapse/admin/v1/users/${enc(uid("ghost"))}/admin`, { admin: true }, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("GET", `/_synapse/admin/v1/users/${enc(uid("ghost"))}/admin`, undefined, adminToken), 404, "M_NOT_FOUND");
      assert.equal((await store().users.getUser(uid("boss")))!.admin, true);
      assert.equal(await store().users.getUser(uid("ghost")), null);
    });

    it("POST /v1/reset_password sets the password and logs the devices out (or not, with logout_devices: false)", async () => {
      const j = await register("forgetful");
      assert.deepEqual((await call("POST", `/_synapse/admin/v1/reset_password/${enc(uid("forgetful"))}`, { new_password: "remembered 1", logout_devices: false }, adminToken)).json(), {});
      assert.equal((await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(j["access_token"]))).status, 200);
      assert.equal((await call("POST", `/_synapse/admin/v1/reset_password/${enc(uid("forgetful"))}`, { new_password: "remembered 2" }, adminToken)).status, 200);
      expectMatrixError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(j["access_token"])), 401, "M_UNKNOWN_TOKEN");
      const login = await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: "forgetful" }, password: "remembered 2" });
      assert.equal(login.status, 200, login.body);
      expectMatrixError(await call("POST", `/_synapse/admin/v1/reset_password/${enc(uid("forgetful"))}`, {}, adminToken), 400, "M_BAD_JSON");
      expectMatrixError(await call("POST", `/_synapse/admin/v1/reset_password/${enc(uid("ghost"))}`, { new_password: "whatever 1" }, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("POST", `/_synapse/admin/v1/reset_password/${enc(uid("forgetful"))}`, { new_password: "x".repeat(600) }, adminToken), 400, "M_INVALID_PARAM");
      const again = await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: "forgetful" }, password: "remembered 2" });
      assert.equal(again.status, 200, "the refused reset changed nothing");
    });

    it("GET /v1/whois lists the devices with their last address; unknown is 404", async () => {
      const r = await call("GET", `/_synapse/admin/v1/whois/${enc(uid("plain"))}`, undefined, adminToken);
      assert.equal(r.status, 200, r.body);
      const j = r.json();
      assert.equal(j["user_id"], uid("plain"));
      const devices = j["devices"] as Record<string, { sessions: { connections: { ip: string }[] }[] }>;
      assert.equal(Object.keys(devices).length, 1);
      assert.equal(Object.values(devices)[0]!.sessions[0]!.connections[0]!.ip, "127.0.0.1");
      expectMatrixError(await call("GET", `/_synapse/admin/v1/whois/${enc(uid("ghost"))}`, undefined, adminToken), 404, "M_NOT_FOUND");
    });

    it("POST /v1/deactivate marks the user deactivated, drops its tokens, makes it leave its rooms; erase clears the profile; self and unknown refused", async () => {
      const j = await register("leaver");
      const token = String(j["access_token"]);
      const room = await call("POST", "/_matrix/client/v3/createRoom", {}, token);
      assert.equal(room.status, 200, room.body);
      const roomId = String(room.json()["room_id"]) as RoomId;
      const r = await call("POST", `/_synapse/admin/v1/deactivate/${enc(uid("leaver"))}`, { erase: true }, adminToken);
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json(), { id_server_unbind_result: "success" });
      assert.equal((await store().users.getUser(uid("leaver")))!.deactivated, true);
      expectMatrixError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, token), 401, "M_UNKNOWN_TOKEN");
      assert.deepEqual(await store().rooms.getRoomsForUser(uid("leaver"), "join"), []);
      assert.deepEqual(await store().rooms.getRoomsForUser(uid("leaver"), "leave"), [roomId]);
      assert.equal((await store().users.getProfile(uid("leaver")))!.displayname, null);
      expectMatrixError(await call("POST", `/_synapse/admin/v1/deactivate/${enc(uid("boss"))}`, {}, adminToken), 400, "M_UNKNOWN");
      expectMatrixError(await call("POST", `/_synapse/admin/v1/deactivate/${enc(uid("ghost"))}`, {}, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("POST", `/_synapse/admin/v1/deactivate/${enc(uid("plain"))}`, { erase: "yes" }, adminToken), 400, "M_BAD_JSON");
      assert.equal((await store().users.getUser(uid("boss")))!.deactivated, false);
      assert.equal((await store().users.getUser(uid("plain")))!.deactivated, false);
    });
  });

  describe("rooms", () => {
    it("GET /v1/rooms/{roomId}, /members and /state read the room's current state; unknown is 404, a malformed id 400, a non-admin 403", async () => {
      const owner = await register("roomowner");
      const token = String(owner["access_token"]);
      const r = await call("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "Lobby", topic: "hello", room_alias_name: "lobby", visibility: "public" }, token);
      assert.equal(r.status, 200, r.body);
      const roomId = String(r.json()["room_id"]);
      assert.equal((await call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, userToken)).status, 200);
      const d = await call("GET", `/_synapse/admin/v1/rooms/${enc(roomId)}`, undefined, adminToken);
      assert.equal(d.status, 200, d.body);
      const j = d.json();
      assert.equal(j["room_id"], roomId);
      assert.equal(j["name"], "Lobby");
      assert.equal(j["topic"], "hello");
      assert.equal(j["canonical_alias"], "#lobby:zion.test");
      assert.equal(j["joined_members"], 2);
      assert.equal(j["joined_local_members"], 2);
      assert.equal(j["creator"], uid("roomowner"));
      assert.equal(j["join_rules"], "public");
      assert.equal(j["public"], true);
      assert.equal(j["federatable"], true);
      assert.equal(typeof j["version"], "string");
      const members = (await call("GET", `/_synapse/admin/v1/rooms/${enc(roomId)}/members`, undefined, adminToken)).json();
      assert.deepEqual(members, { members: [uid("plain"), uid("roomowner")], total: 2 });
      const state = (await call("GET", `/_synapse/admin/v1/rooms/${enc(roomId)}/state`, undefined, adminToken)).json()["state"] as { type: string; state_key: string }[];
      assert.equal(state.length, j["state_events"]);
      assert.ok(state.some((e) => e.type === "m.room.create" && e.state_key === ""));
      assert.ok(state.some((e) => e.type === "m.room.member" && e.state_key === uid("plain")));
      for (const suffix of ["", "/members", "/state"]) {
        expectMatrixError(await call("GET", `/_synapse/admin/v1/rooms/${enc("!nothere:zion.test")}${suffix}`, undefined, adminToken), 404, "M_NOT_FOUND");
        expectMatrixError(await call("GET", `/_synapse/admin/v1/rooms/not-a-room${suffix}`, undefined, adminToken), 400, "M_INVALID_PARAM");
        expectMatrixError(await call("GET", `/_synapse/admin/v1/rooms/${enc(roomId)}${suffix}`, undefined, userToken), 403, "M_FORBIDDEN");
      }
    });
  });

  describe("room management", () => {
    async function room(owner: string, body: Record<string, unknown>): Promise<RoomId> {
      const r = await call("POST", "/_matrix/client/v3/createRoom", body, owner);
      assert.equal(r.status, 200, r.body);
      return r.json()["room_id"] as RoomId;
    }
    const list = async (q: string) => {
      const r = await call("GET", `/_synapse/admin/v1/rooms${q}`, undefined, adminToken);
      assert.equal(r.status, 200, r.body);
      return r.json() as { rooms: { room_id: string; name: string | null; joined_members: number; public: boolean }[]; total_rooms: number; offset: number; next_batch?: number; prev_batch?: number };
    };

    it("GET /v1/rooms lists rooms by name, by size, searched, public or empty, in pages; bad parameters are 400 M_INVALID_PARAM", async () => {
      const owner = String((await register("lister"))["access_token"]);
      const a = await room(owner, { name: "Aardvark club", preset: "public_chat", visibility: "public", room_alias_name: "aardvark" });
      const z = await room(owner, { name: "Zebra crossing", preset: "private_chat" });
      assert.equal((await call("POST", `/_matrix/client/v3/join/${enc(z)}`, {}, adminToken)).status, 403, "a private room needs an invite");
      await call("POST", `/_matrix/client/v3/rooms/${enc(z)}/invite`, { user_id: uid("boss") }, owner);
      assert.equal((await call("POST", `/_matrix/client/v3/join/${enc(z)}`, {}, adminToken)).status, 200);
      const mine = (r: { room_id: string }) => r.room_id === a || r.room_id === z;

      const byName = (await list("?limit=1000")).rooms.filter(mine);
      assert.deepEqual(byName.map((r) => r.name), ["Aardvark club", "Zebra crossing"]);
      const bySize = (await list("?order_by=joined_members&limit=1000")).rooms.filter(mine);
      assert.deepEqual(bySize.map((r) => r.room_id), [z, a], "joined_members sorts biggest first with dir=f, as Synapse");
      assert.deepEqual((await list("?order_by=joined_members&dir=b&limit=1000")).rooms.filter(mine).map((r) => r.room_id), [a, z]);
      assert.deepEqual((await list("?search_term=ZEBRA")).rooms.map((r) => r.room_id), [z], "a case-insensitive substring of the name");
      assert.deepEqual((await list("?search_term=aardvark")).rooms.map((r) => r.room_id), [a], "or of the canonical alias");
      assert.deepEqual((await list(`?search_term=${enc(z)}`)).rooms.map((r) => r.room_id), [z], "or the exact room id");
      assert.ok((await list("?public_rooms=true&limit=1000")).rooms.every((r) => r.public));
      assert.ok(!(await list("?public_rooms=false&limit=1000")).rooms.some((r) => r.room_id === a));
      assert.ok((await list("?empty_rooms=true&limit=1000")).rooms.every((r) => r.joined_members === 0));

      const all = await list("?limit=1000");
      const first = await list("?limit=1");
      assert.equal(first.rooms.length, 1);
      assert.equal(first.total_rooms, all.total_rooms);
      assert.equal(first.next_batch, 1);
      assert.equal(first.prev_batch, undefined);
      const second = await list(`?limit=1&from=${first.next_batch}`);
      assert.equal(second.offset, 1);
      assert.equal(second.prev_batch, 0);
      assert.equal(second.rooms[0]!.room_id, all.rooms[1]!.room_id);

      for (const q of ["?order_by=colour", "?limit=0", "?limit=1001", "?limit=x", "?dir=up", "?from=-1", "?public_rooms=yes", "?search_term="]) {
        expectMatrixError(await call("GET", `/_synapse/admin/v1/rooms${q}`, undefined, adminToken), 400, "M_INVALID_PARAM");
      }
    });

    it("a blocked room cannot be joined or invited to (403 M_FORBIDDEN) until unblocked; an unknown room can be blocked; a bad body writes nothing", async () => {
      const owner = String((await register("blockowner"))["access_token"]);
      const roomId = await room(owner, { preset: "public_chat" });
      const block = (b: unknown, id: string = roomId) => call("PUT", `/_synapse/admin/v1/rooms/${enc(id)}/block`, b, adminToken);
      assert.deepEqual((await call("GET", `/_synapse/admin/v1/rooms/${enc(roomId)}/block`, undefined, adminToken)).json(), { block: false });
      expectMatrixError(await block({ block: "yes" }), 400, "M_BAD_JSON");
      expectMatrixError(await block({}), 400, "M_BAD_JSON");
      expectMatrixError(await block({ block: true }, "not-a-room"), 400, "M_INVALID_PARAM");
      assert.equal(await store().admin.getRoomBlock(roomId), null, "refused requests wrote nothing");

      assert.deepEqual((await block({ block: true })).json(), { block: true });
      assert.deepEqual((await call("GET", `/_synapse/admin/v1/rooms/${enc(roomId)}/block`, undefined, adminToken)).json(), { block: true, user_id: uid("boss") });
      expectMatrixError(await call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, userToken), 403, "M_FORBIDDEN");
      expectMatrixError(await call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: uid("plain") }, owner), 403, "M_FORBIDDEN");
      assert.equal(await zion.homeserver!.rooms.membership(roomId, uid("plain")), null);

      assert.deepEqual((await block({ block: false })).json(), { block: false });
      assert.equal((await call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, userToken)).status, 200);
      assert.deepEqual((await block({ block: true }, "!future:elsewhere.test")).json(), { block: true }, "a room this server does not hold yet");
      assert.equal((await store().admin.getRoomBlock("!future:elsewhere.test" as RoomId))?.userId, uid("boss"));
    });

    it("DELETE /v1/rooms makes the local members leave, moves them and the aliases to a new room with the message, and purges the room", async () => {
      const owner = String((await register("doomed"))["access_token"]);
      const roomId = await room(owner, { preset: "public_chat", visibility: "public", room_alias_name: "doomed", name: "Doomed" });
      assert.equal((await call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, userToken)).status, 200);
      assert.equal((await call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t1`, { msgtype: "m.text", body: "bad content" }, owner)).status, 200);

      expectMatrixError(await call("DELETE", `/_synapse/admin/v1/rooms/${enc(roomId)}`, { purge: "yes" }, adminToken), 400, "M_BAD_JSON");
      expectMatrixError(await call("DELETE", `/_synapse/admin/v1/rooms/${enc(roomId)}`, { new_room_user_id: "@x:elsewhere.test" }, adminToken), 400, "M_INVALID_PARAM");
      expectMatrixError(await call("DELETE", `/_synapse/admin/v1/rooms/${enc("!gone:zion.test")}`, {}, adminToken), 404, "M_NOT_FOUND");
      assert.ok(await store().rooms.getRoom(roomId), "the refused deletions changed nothing");

      const r = await call("DELETE", `/_synapse/admin/v1/rooms/${enc(roomId)}`, { new_room_user_id: uid("boss"), room_name: "Moved", message: "This room was closed.", block: true }, adminToken);
      assert.equal(r.status, 200, r.body);
      const j = r.json() as { kicked_users: string[]; failed_to_kick_users: string[]; local_aliases: string[]; new_room_id: RoomId };
      assert.deepEqual([...j.kicked_users].sort(), [uid("doomed"), uid("plain")]);
      assert.deepEqual(j.failed_to_kick_users, []);
      assert.deepEqual(j.local_aliases, ["#doomed:zion.test"]);
      assert.equal(typeof j.new_room_id, "string");

      assert.equal(await store().rooms.getRoom(roomId), null, "purged");
      assert.equal((await store().rooms.getCurrentState(roomId)).size, 0);
      assert.ok(!(await list("?limit=1000")).rooms.some((x) => x.room_id === roomId));
      assert.equal((await store().admin.getRoomBlock(roomId))?.userId, uid("boss"));
      const joined = (await call("GET", "/_matrix/client/v3/joined_rooms", undefined, userToken)).json()["joined_rooms"] as string[];
      assert.ok(joined.includes(j.new_room_id) && !joined.includes(roomId), JSON.stringify(joined));
      const alias = (await call("GET", `/_matrix/client/v3/directory/room/${enc("#doomed:zion.test")}`)).json();
      assert.equal(alias["room_id"], j.new_room_id, `the alias moved to the new room: ${JSON.stringify(alias)}`);
      const msgs = (await call("GET", `/_matrix/client/v3/rooms/${enc(j.new_room_id)}/messages?dir=b&limit=50`, undefined, userToken)).json()["chunk"] as { type: string; content: { body?: string; name?: string } }[];
      assert.ok(msgs.some((e) => e.type === "m.room.message" && e.content.body === "This room was closed."));
      assert.ok(msgs.some((e) => e.type === "m.room.name" && e.content.name === "Moved"));
      expectMatrixError(await call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, userToken), 403, "M_FORBIDDEN");
    });

    it("DELETE /v2/rooms runs in the background: a delete id whose status ends complete, listed per room; unknown ids and rooms are 404", async () => {
      const owner = String((await register("v2doomed"))["access_token"]);
      const roomId = await room(owner, { preset: "public_chat" });
      expectMatrixError(await call("DELETE", `/_synapse/admin/v2/rooms/${enc("!gone:zion.test")}`, {}, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("GET", "/_synapse/admin/v2/rooms/delete_status/nosuchid", undefined, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("GET", `/_synapse/admin/v2/rooms/${enc(roomId)}/delete_status`, undefined, adminToken), 404, "M_NOT_FOUND");
      const r = await call("DELETE", `/_synapse/admin/v2/rooms/${enc(roomId)}`, {}, adminToken);
      assert.equal(r.status, 200, r.body);
      const id = String(r.json()["delete_id"]);
      let status: Record<string, unknown> = {};
      for (let i = 0; i < 200; i++) {
        status = (await call("GET", `/_synapse/admin/v2/rooms/delete_status/${id}`, undefined, adminToken)).json();
        if (status["status"] === "complete" || status["status"] === "failed") break;
        await new Promise((res) => setTimeout(res, 25));
      }
      assert.equal(status["status"], "complete", JSON.stringify(status));
      assert.deepEqual((status["shutdown_room"] as { kicked_users: string[] }).kicked_users, [uid("v2doomed")]);
      const perRoom = (await call("GET", `/_synapse/admin/v2/rooms/${enc(roomId)}/delete_status`, undefined, adminToken)).json()["results"] as { delete_id: string; status: string }[];
      assert.deepEqual(perRoom.map((x) => [x.delete_id, x.status]), [[id, "complete"]]);
      assert.equal(await store().rooms.getRoom(roomId), null);
      assert.equal(await store().admin.getRoomBlock(roomId), null, "not blocked unless asked");
    });
  });

  describe("media", () => {
    const upload = async (token: string, text: string) => {
      const r = await call("POST", "/_matrix/media/v3/upload?filename=note.json", text, token);
      assert.equal(r.status, 200, r.body);
      return String(r.json()["content_uri"]).split("/").pop()!;
    };
    const download = (id: string) => call("GET", `/_matrix/client/v1/media/download/zion.test/${id}`, undefined, userToken);

    it("lists a user's uploads in pages, shows one id, quarantines and releases it, quarantines all of a user's, deletes one and all; bad input refused", async () => {
      const uploader = String((await register("uploader"))["access_token"]);
      const ids = [await upload(uploader, '{"n":1}'), await upload(uploader, '{"n":22}'), await upload(uploader, '{"n":333}')];
      const path = `/_synapse/admin/v1/users/${enc(uid("uploader"))}/media`;
      const page = (await call("GET", `${path}?limit=2&order_by=media_length&dir=b`, undefined, adminToken)).json() as { media: { media_id: string; media_length: number; media_type: string; upload_name: string }[]; total: number; next_token?: number };
      assert.equal(page.total, 3);
      assert.equal(page.next_token, 2);
      assert.deepEqual(page.media.map((m) => m.media_id), [ids[2], ids[1]], "biggest first");
      assert.equal(page.media[0]!.upload_name, "note.json");
      assert.equal(page.media[0]!.media_length, 9);
      for (const q of ["?order_by=colour", "?limit=0", "?dir=x", "?from=y"]) expectMatrixError(await call("GET", `${path}${q}`, undefined, adminToken), 400, "M_INVALID_PARAM");
      expectMatrixError(await call("GET", `/_synapse/admin/v1/users/${enc("@x:elsewhere.test")}/media`, undefined, adminToken), 400, "M_INVALID_PARAM");

      const info = (await call("GET", `/_synapse/admin/v1/media/zion.test/${ids[0]}`, undefined, adminToken)).json()["media_info"] as Record<string, unknown>;
      assert.equal(info["media_id"], ids[0]);
      assert.equal(info["user_id"], uid("uploader"));
      expectMatrixError(await call("GET", "/_synapse/admin/v1/media/zion.test/nosuchmedia", undefined, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("GET", "/_synapse/admin/v1/media/zion.test/bad%20id", undefined, adminToken), 400, "M_INVALID_PARAM");

      assert.equal((await download(ids[0]!)).status, 200);
      assert.deepEqual((await call("POST", `/_synapse/admin/v1/media/quarantine/zion.test/${ids[0]}`, undefined, adminToken)).json(), {});
      assert.equal((await download(ids[0]!)).status, 404, "quarantined media is served to nobody");
      assert.equal(((await call("GET", `/_synapse/admin/v1/media/zion.test/${ids[0]}`, undefined, adminToken)).json()["media_info"] as Record<string, unknown>)["quarantined_by"], uid("boss"));
      assert.deepEqual((await call("POST", `/_synapse/admin/v1/media/unquarantine/zion.test/${ids[0]}`, undefined, adminToken)).json(), {});
      assert.equal((await download(ids[0]!)).status, 200);
      expectMatrixError(await call("POST", "/_synapse/admin/v1/media/quarantine/zion.test/nosuchmedia", undefined, adminToken), 404, "M_NOT_FOUND");

      assert.deepEqual((await call("POST", `/_synapse/admin/v1/user/${enc(uid("uploader"))}/media/quarantine`, undefined, adminToken)).json(), { num_quarantined: 3 });
      assert.deepEqual((await call("POST", `/_synapse/admin/v1/user/${enc(uid("uploader"))}/media/quarantine`, undefined, adminToken)).json(), { num_quarantined: 0 }, "already quarantined");
      for (const id of ids) assert.equal((await download(id)).status, 404);

      expectMatrixError(await call("DELETE", "/_synapse/admin/v1/media/elsewhere.test/abc", undefined, adminToken), 400, "M_UNKNOWN");
      assert.deepEqual((await call("DELETE", `/_synapse/admin/v1/media/zion.test/${ids[0]}`, undefined, adminToken)).json(), { deleted_media: [ids[0]], total: 1 });
      expectMatrixError(await call("DELETE", `/_synapse/admin/v1/media/zion.test/${ids[0]}`, undefined, adminToken), 404, "M_NOT_FOUND");
      const rest = (await call("DELETE", path, undefined, adminToken)).json() as { deleted_media: string[]; total: number };
      assert.deepEqual([...rest.deleted_media].sort(), [ids[1], ids[2]].sort());
      assert.equal(rest.total, 2);
      assert.equal((await call("GET", path, undefined, adminToken)).json()["total"], 0);
      for (const [method, p] of [["GET", path], ["DELETE", path], ["GET", `/_synapse/admin/v1/media/zion.test/${ids[1]}`], ["POST", `/_synapse/admin/v1/media/quarantine/zion.test/${ids[1]}`]] as const) {
        expectMatrixError(await call(method, p, undefined, userToken), 403, "M_FORBIDDEN");
      }
    });
  });

  describe("federation destinations", () => {
    it("lists destinations with their back-off, shows one and its rooms, resets a back-off once; unknown is 404, bad parameters 400", async () => {
      await store().destinations.recordFailure("down.test" as never, now - 5000, 60_000);
      await store().destinations.recordFailure("down.test" as never, now - 1000, 120_000);
      await store().destinations.recordFailure("also-down.test" as never, now - 3000, 30_000);
      await store().destinations.recordSuccess("also-down.test" as never);
      const list = (await call("GET", "/_synapse/admin/v1/federation/destinations", undefined, adminToken)).json() as { destinations: { destination: string; retry_interval: number; failure_ts: number | null; retry_last_ts: number }[]; total: number };
      const down = list.destinations.find((d) => d.destination === "down.test")!;
      assert.equal(down.retry_interval, 120_000);
      assert.equal(down.failure_ts, now - 5000, "the start of the streak");
      assert.equal(down.retry_last_ts, now - 1000);
      const byInterval = (await call("GET", "/_synapse/admin/v1/federation/destinations?order_by=retry_interval&dir=b&limit=1", undefined, adminToken)).json() as { destinations: { destination: string }[]; total: number; next_token?: string };
      assert.deepEqual(byInterval.destinations.map((d) => d.destination), ["down.test"]);
      assert.equal(byInterval.next_token, "1");
      assert.equal(byInterval.total, list.total);
      assert.deepEqual(((await call("GET", "/_synapse/admin/v1/federation/destinations?destination=ALSO", undefined, adminToken)).json()["destinations"] as { destination: string }[]).map((d) => d.destination), ["also-down.test"]);
      for (const q of ["?order_by=colour", "?limit=0", "?dir=sideways"]) expectMatrixError(await call("GET", `/_synapse/admin/v1/federation/destinations${q}`, undefined, adminToken), 400, "M_INVALID_PARAM");

      assert.equal((await call("GET", "/_synapse/admin/v1/federation/destinations/down.test", undefined, adminToken)).json()["retry_interval"], 120_000);
      assert.deepEqual((await call("GET", "/_synapse/admin/v1/federation/destinations/down.test/rooms", undefined, adminToken)).json(), { rooms: [], total: 0 });
      expectMatrixError(await call("GET", "/_synapse/admin/v1/federation/destinations/never.test", undefined, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("GET", "/_synapse/admin/v1/federation/destinations/never.test/rooms", undefined, adminToken), 404, "M_NOT_FOUND");

      assert.deepEqual((await call("POST", "/_synapse/admin/v1/federation/destinations/down.test/reset_connection", {}, adminToken)).json(), {});
      const after = (await call("GET", "/_synapse/admin/v1/federation/destinations/down.test", undefined, adminToken)).json();
      assert.equal(after["retry_interval"], 0);
      assert.equal(after["failure_ts"], null);
      expectMatrixError(await call("POST", "/_synapse/admin/v1/federation/destinations/down.test/reset_connection", {}, adminToken), 400, "M_UNKNOWN");
      expectMatrixError(await call("POST", "/_synapse/admin/v1/federation/destinations/never.test/reset_connection", {}, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("GET", "/_synapse/admin/v1/federation/destinations", undefined, userToken), 403, "M_FORBIDDEN");
      expectMatrixError(await call("POST", "/_synapse/admin/v1/federation/destinations/also-down.test/reset_connection", {}, userToken), 403, "M_FORBIDDEN");
    });
  });

  describe("registration tokens", () => {
    const base = "/_synapse/admin/v1/registration_tokens";
    it("creates (given or random of a length), reads, lists by validity, updates and deletes tokens", async () => {
      const made = await call("POST", `${base}/new`, { token: "abc_123", uses_allowed: 2, expiry_time: null }, adminToken);
      assert.equal(made.status, 200, made.body);
      assert.deepEqual(made.json(), { token: "abc_123", uses_allowed: 2, pending: 0, completed: 0, expiry_time: null });
      const random = (await call("POST", `${base}/new`, { length: 10 }, adminToken)).json();
      assert.match(String(random["token"]), /^[A-Za-z0-9._~-]{10}$/);
      const dflt = (await call("POST", `${base}/new`, undefined, adminToken)).json();
      assert.equal(String(dflt["token"]).length, 16);
      assert.deepEqual((await call("GET", `${base}/abc_123`, undefined, adminToken)).json(), made.json());
      const upd = await call("PUT", `${base}/abc_123`, { uses_allowed: 0, expiry_time: now + 60_000 }, adminToken);
      assert.deepEqual(upd.json(), { token: "abc_123", uses_allowed: 0, pending: 0, completed: 0, expiry_time: now + 60_000 });
      const valid = (await call("GET", `${base}?valid=true`, undefined, adminToken)).json()["registration_tokens"] as { token: string }[];
      const invalid = (await call("GET", `${base}?valid=false`, undefined, adminToken)).json()["registration_tokens"] as { token: string }[];
      assert.ok(!valid.some((t) => t.token === "abc_123") && invalid.some((t) => t.token === "abc_123"), "uses_allowed 0: used up");
      assert.ok(valid.some((t) => t.token === random["token"]));
      assert.deepEqual((await call("DELETE", `${base}/abc_123`, undefined, adminToken)).json(), {});
      expectMatrixError(await call("GET", `${base}/abc_123`, undefined, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("DELETE", `${base}/abc_123`, undefined, adminToken), 404, "M_NOT_FOUND");
      expectMatrixError(await call("PUT", `${base}/abc_123`, { uses_allowed: 1 }, adminToken), 404, "M_NOT_FOUND");
      assert.equal(await store().admin.getRegistrationToken("abc_123"), null);
    });

    it("refuses bad input with 400 M_INVALID_PARAM (or M_BAD_JSON for wrong types) and writes nothing", async () => {
      const before = (await store().admin.listRegistrationTokens({ nowTs: now })).length;
      for (const body of [{ token: "has space" }, { token: "" }, { token: "x".repeat(65) }, { length: 0 }, { length: 65 }, { length: 2.5 }, { uses_allowed: -1 }, { uses_allowed: 1.5 }, { expiry_time: now - 1 }, { token: "a", length: 4 }]) {
        const e = expectMatrixError(await call("POST", `${base}/new`, body, adminToken), 400, "M_INVALID_PARAM");
        assert.match(String(e["error"]), new RegExp(Object.keys(body).at(-1)!), JSON.stringify(body));
      }
      expectMatrixError(await call("POST", `${base}/new`, { uses_allowed: "1" }, adminToken), 400, "M_BAD_JSON");
      expectMatrixError(await call("GET", `${base}?valid=yes`, undefined, adminToken), 400, "M_INVALID_PARAM");
      assert.equal((await call("POST", `${base}/new`, { token: "dup" }, adminToken)).status, 200);
      expectMatrixError(await call("POST", `${base}/new`, { token: "dup" }, adminToken), 400, "M_INVALID_PARAM");
      expectMatrixError(await call("PUT", `${base}/dup`, { expiry_time: now - 1 }, adminToken), 400, "M_INVALID_PARAM");
      assert.deepEqual(await store().admin.getRegistrationToken("dup"), { token: "dup", usesAllowed: null, pending: 0, completed: 0, expiryTime: null });
      assert.equal((await store().admin.listRegistrationTokens({ nowTs: now })).length, before + 1);
    });
  });
});

describe("admin API: a synapse-admin style session against `zion start`", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({ mode: "child", config: { ...config, registration_shared_secret: SECRET } });
  });
  after(() => zion?.stop());
  const call = clientCaller(() => zion.clientUrl);

  it("an admin made with the shared secret lists users, deactivates one (who leaves its room), purges a room; each call is logged with the admin's id", async () => {
    const reg = async (username: string) => (await call("POST", "/_matrix/client/v3/register", { username, password: PASSWORD, auth: { type: "m.login.dummy" } })).json();
    const nonce = String((await call("GET", "/_synapse/admin/v1/register")).json()["nonce"]);
    const mac = registrationMac(SECRET, { nonce, username: "operator", password: PASSWORD, admin: true });
    const op = await call("POST", "/_synapse/admin/v1/register", { nonce, username: "operator", password: PASSWORD, admin: true, mac });
    assert.equal(op.status, 200, op.body);
    const admin = String(op.json()["access_token"]);
    const victim = await reg("victim");
    const room = (await call("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }, admin)).json();
    const roomId = String(room["room_id"]);
    assert.equal((await call("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {}, String(victim["access_token"]))).status, 200);
    expectMatrixError(await call("GET", "/_synapse/admin/v2/users", undefined, String(victim["access_token"])), 403, "M_FORBIDDEN");

    const version = (await call("GET", "/_synapse/admin/v1/server_version")).json();
    assert.equal(typeof version["server_version"], "string");
    const list = await call("GET", "/_synapse/admin/v2/users?from=0&limit=10&guests=false&order_by=name&dir=f", undefined, admin);
    assert.equal(list.status, 200, list.body);
    assert.deepEqual((list.json()["users"] as { name: string }[]).map((u) => u.name), ["@operator:zion.test", "@victim:zion.test"]);
    assert.equal(list.json()["total"], 2);
    const d = await call("POST", `/_synapse/admin/v1/deactivate/${encodeURIComponent("@victim:zion.test")}`, { erase: false }, admin);
    assert.equal(d.status, 200, d.body);
    const members = await call("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`, undefined, admin);
    assert.deepEqual(Object.keys(members.json()["joined"] as object), ["@operator:zion.test"], "the deactivated user left the room");
    const after = (await call("GET", "/_synapse/admin/v2/users?deactivated=true", undefined, admin)).json()["users"] as { name: string; deactivated: boolean }[];
    assert.equal(after.find((u) => u.name === "@victim:zion.test")!.deactivated, true);
    const listed = (await call("GET", "/_synapse/admin/v2/users", undefined, admin)).json()["users"] as { name: string }[];
    assert.deepEqual(listed.map((u) => u.name), ["@operator:zion.test"], "deactivated users are left out by default");

    // synapse-admin's room page: list, then delete with purge, polling the status until it completes.
    const rooms = (await call("GET", "/_synapse/admin/v1/rooms?from=0&limit=10&order_by=name&dir=f", undefined, admin)).json() as { rooms: { room_id: string }[]; total_rooms: number };
    assert.deepEqual(rooms.rooms.map((r) => r.room_id), [roomId]);
    const del = await call("DELETE", `/_synapse/admin/v2/rooms/${encodeURIComponent(roomId)}`, { block: false, purge: true }, admin);
    assert.equal(del.status, 200, del.body);
    let status = "";
    for (let i = 0; i < 200 && status !== "complete" && status !== "failed"; i++) {
      await new Promise((res) => setTimeout(res, 25));
      status = String((await call("GET", `/_synapse/admin/v2/rooms/delete_status/${String(del.json()["delete_id"])}`, undefined, admin)).json()["status"]);
    }
    assert.equal(status, "complete");
    assert.equal((await call("GET", "/_synapse/admin/v1/rooms", undefined, admin)).json()["total_rooms"], 0);

    const lines = zion.output.stdout.split("\n").map(parseLogLine).filter((l): l is Record<string, unknown> => l !== undefined && l["admin_api"] !== undefined);
    const done = lines.filter((l) => l["admin"] === "@operator:zion.test").map((l) => l["admin_api"]);
    assert.ok(done.includes("list users") && done.includes("deactivate user") && done.includes("delete room"), JSON.stringify(lines));
    assert.ok(lines.some((l) => l["admin_api"] === "deactivate user" && l["target"] === "@victim:zion.test"));
    assert.ok(lines.some((l) => l["user_id"] === "@victim:zion.test" && l["admin_api"] === "list users"), "the refused call is logged with who tried");
  });
});

describe("registration tokens in /register (registration_requires_token: true)", () => {
  let zion: TestServer;
  let adminToken = "";
  before(async () => {
    zion = await startTestServer({ config: { ...config, enable_registration_without_verification: false, registration_requires_token: true }, startOptions: { clock, passwordHasher: scryptHasher({ ln: 10 }) } });
    await zion.homeserver!.storage.users.createUser({ userId: "@root:zion.test" as UserId, passwordHash: null, createdTs: now, admin: true }, { userId: "@root:zion.test" as UserId, deviceId: "ROOT", accessToken: "root-token", nowTs: now });
    adminToken = "root-token";
  });
  after(() => zion?.stop());
  const call = clientCaller(() => zion.clientUrl);
  const store = () => zion.homeserver!.storage;
  const validity = async (token: string) => (await call("GET", `/_matrix/client/v1/register/m.login.registration_token/validity?token=${encodeURIComponent(token)}`)).json()["valid"];
  const registerWith = (username: string, auth?: Record<string, unknown>) => call("POST", "/_matrix/client/v3/register", { username, password: PASSWORD, ...(auth ? { auth } : {}) });

  it("offers the m.login.registration_token stage, refuses a wrong or used-up token, and counts completed uses", async () => {
    assert.equal(await validity("welcome"), false);
    assert.equal((await call("POST", "/_synapse/admin/v1/registration_tokens/new", { token: "welcome", uses_allowed: 1 }, adminToken)).status, 200);
    assert.equal(await validity("welcome"), true);
    const start = await registerWith("newbie");
    assert.equal(start.status, 401, start.body);
    assert.deepEqual(start.json()["flows"], [{ stages: ["m.login.registration_token"] }]);
    const session = String(start.json()["session"]);
    expectMatrixError(await registerWith("newbie", { type: "m.login.dummy", session }), 400, "M_UNRECOGNIZED");
    const wrong = await registerWith("newbie", { type: "m.login.registration_token", token: "nope", session });
    assert.equal(wrong.status, 401, wrong.body);
    assert.equal(wrong.json()["errcode"], "M_FORBIDDEN");
    assert.equal(await store().users.getUser("@newbie:zion.test" as UserId), null);
    const ok = await registerWith("newbie", { type: "m.login.registration_token", token: "welcome", session });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.json()["user_id"], "@newbie:zion.test");
    assert.deepEqual(await store().admin.getRegistrationToken("welcome"), { token: "welcome", usesAllowed: 1, pending: 0, completed: 1, expiryTime: null });
    assert.equal(await validity("welcome"), false);
    const again = await registerWith("second", { type: "m.login.registration_token", token: "welcome" });
    assert.equal(again.status, 401, again.body);
    assert.equal(await store().users.getUser("@second:zion.test" as UserId), null);
  });

  it("gives the pending use back when the registration fails after the stage (name taken meanwhile)", async () => {
    await call("POST", "/_synapse/admin/v1/registration_tokens/new", { token: "retry", uses_allowed: 1 }, adminToken);
    const r = await registerWith("newbie", { type: "m.login.registration_token", token: "retry" });
    expectMatrixError(r, 400, "M_USER_IN_USE");
    const noPassword = await call("POST", "/_matrix/client/v3/register", { username: "nopass", auth: { type: "m.login.registration_token", token: "retry" } });
    expectMatrixError(noPassword, 400, "M_MISSING_PARAM");
    assert.deepEqual(await store().admin.getRegistrationToken("retry"), { token: "retry", usesAllowed: 1, pending: 0, completed: 0, expiryTime: null });
  });

  it("lets only uses_allowed of several concurrent registrations through", async () => {
    await call("POST", "/_synapse/admin/v1/registration_tokens/new", { token: "race", uses_allowed: 2 }, adminToken);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => registerWith(`racer${i}`, { type: "m.login.registration_token", token: "race" })));
    assert.equal(results.filter((r) => r.status === 200).length, 2, results.map((r) => r.status).join(","));
    assert.deepEqual(await store().admin.getRegistrationToken("race"), { token: "race", usesAllowed: 2, pending: 0, completed: 2, expiryTime: null });
    const made = (await store().admin.listUsers({ from: 0, limit: 100, name: "racer", deactivated: true, orderBy: "name", dir: "f" })).total;
    assert.equal(made, 2);
  });

  it("answers validity with 403 M_FORBIDDEN where tokens are off, and 400 M_INVALID_PARAM without a token", async () => {
    expectMatrixError(await call("GET", "/_matrix/client/v1/register/m.login.registration_token/validity"), 400, "M_INVALID_PARAM");
    const other = await startTestServer({ config });
    try {
      expectMatrixError(await clientCaller(() => other.clientUrl)("GET", "/_matrix/client/v1/register/m.login.registration_token/validity?token=x"), 403, "M_FORBIDDEN");
    } finally {
      await other.stop();
    }
  });
});
