/**
 * POST /rooms/{roomId}/upgrade on a real Zion over loopback, on SQLite and PostgreSQL: the replacement room's
 * create (new version, predecessor), the copied state and bans, the tombstone and restricted power levels in the
 * old room, aliases and the directory entry moved, v12 creators; bad input, too little power and non-members get
 * their status and errcode and write nothing.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../src/core/clock.js";
import type { RoomId } from "../../src/core/ids/index.js";
import { backendDatabases } from "../harness/postgres.js";
import type { TestServer } from "../harness/server.js";
import { expectMatrixError as expectError } from "../harness/http-get.js";
import { okJson as ok, startRoomsServer, type RoomsClient as Client } from "../harness/rooms-server.js";

let now = 1_766_000_000_000;
const clock: Clock = { now: () => now++, sleep: async () => {} };
const databases = backendDatabases("zion_upgrade");
after(() => databases.stop());

const enc = encodeURIComponent;
const V3 = "/_matrix/client/v3";
type Json = Record<string, unknown>;

for (const backend of ["sqlite", "postgres"] as const)
describe(`client API room upgrades (${backend})`, () => {
  let zion: TestServer;
  let call: Awaited<ReturnType<typeof startRoomsServer>>["call"];
  let alice: Client, bob: Client, carol: Client;
  before(async () => {
    const s = await startRoomsServer(await databases.config(backend), clock);
    zion = s.zion;
    call = s.call;
    [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((u) => s.register(u))) as [Client, Client, Client];
  });
  after(() => zion?.stop());

  const eventCount = () => zion.homeserver!.storage.events.maxStreamOrdering();
  const get = (c: Client, path: string) => call("GET", `${V3}${path}`, undefined, c.token);
  const post = (c: Client, path: string, body: unknown = {}) => call("POST", `${V3}${path}`, body, c.token);
  const put = (c: Client, path: string, body: unknown) => call("PUT", `${V3}${path}`, body, c.token);
  const state = async (c: Client, roomId: string, type: string, key = "") => ok(await get(c, `/rooms/${enc(roomId)}/state/${type}/${enc(key)}`));
  const upgrade = (c: Client, roomId: string, body: unknown) => post(c, `/rooms/${enc(roomId)}/upgrade`, body);

  it("replaces a room: create with predecessor, state and bans copied, aliases and directory entry moved, tombstone and restricted power levels in the old room", async () => {
    const old = ok(await post(alice, "/createRoom", { room_version: "10", preset: "public_chat", visibility: "public", name: "Lobby", topic: "chat", room_alias_name: "lobby-up" }))["room_id"] as RoomId;
    ok(await post(bob, `/rooms/${enc(old)}/join`));
    ok(await post(carol, `/rooms/${enc(old)}/join`));
    ok(await post(alice, `/rooms/${enc(old)}/ban`, { user_id: carol.userId, reason: "spam" }));
    ok(await put(alice, `/rooms/${enc(old)}/state/m.room.history_visibility/`, { history_visibility: "joined" }));
    const oldPl = await state(alice, old, "m.room.power_levels");

    const replacement = ok(await upgrade(alice, old, { new_version: "11" }))["replacement_room"] as string;
    assert.match(replacement, /^!.+:zion\.test$/);
    const create = ok(await get(alice, `/rooms/${enc(replacement)}/state/m.room.create/?format=event`));
    assert.equal((create["content"] as Json)["room_version"], "11");
    assert.equal(((create["content"] as Json)["predecessor"] as Json)["room_id"], old);
    assert.equal(create["sender"], alice.userId);
    assert.deepEqual(await state(alice, replacement, "m.room.name"), { name: "Lobby" });
    assert.equal((await state(alice, replacement, "m.room.topic"))["topic"], "chat");
    assert.deepEqual(await state(alice, replacement, "m.room.join_rules"), { join_rule: "public" });
    assert.deepEqual(await state(alice, replacement, "m.room.history_visibility"), { history_visibility: "joined" });
    assert.deepEqual(await state(alice, replacement, "m.room.power_levels"), oldPl);
    assert.equal((await state(alice, replacement, "m.room.member", carol.userId))["membership"], "ban", "bans are copied");
    assert.equal((await state(alice, replacement, "m.room.member", carol.userId))["reason"], "spam");
    expectError(await get(alice, `/rooms/${enc(replacement)}/state/m.room.member/${enc(bob.userId)}`), 404, "M_NOT_FOUND");
    assert.equal(ok(await get(alice, `/directory/room/${enc("#lobby-up:zion.test")}`))["room_id"], replacement, "the alias points at the new room");
    assert.deepEqual(ok(await get(alice, `/rooms/${enc(replacement)}/aliases`))["aliases"], ["#lobby-up:zion.test"]);
    assert.equal(ok(await get(alice, `/directory/list/room/${enc(replacement)}`))["visibility"], "public");
    assert.equal(ok(await get(alice, `/directory/list/room/${enc(old)}`))["visibility"], "private");
    assert.deepEqual(await state(alice, old, "m.room.tombstone"), { body: "This room has been replaced", replacement_room: replacement });
    const restricted = await state(alice, old, "m.room.power_levels");
    assert.equal(restricted["events_default"], 50);
    assert.equal(restricted["invite"], 50);
    expectError(await put(bob, `/rooms/${enc(old)}/send/m.room.message/after-upgrade`, { body: "x" }), 403, "M_FORBIDDEN");
    ok(await post(bob, `/rooms/${enc(replacement)}/join`));
    ok(await put(bob, `/rooms/${enc(replacement)}/send/m.room.message/in-new`, { body: "hello" }));
  });

  it("to v12: the room id comes from the create event, creators are not listed in power levels, additional_creators kept", async () => {
    const old = ok(await post(alice, "/createRoom", { room_version: "11", preset: "private_chat", invite: [bob.userId] }))["room_id"] as RoomId;
    const replacement = ok(await upgrade(alice, old, { new_version: "12", additional_creators: [bob.userId] }))["replacement_room"] as string;
    const create = ok(await get(alice, `/rooms/${enc(replacement)}/state/m.room.create/?format=event`));
    assert.equal(replacement, `!${String(create["event_id"]).slice(1)}`);
    assert.deepEqual((create["content"] as Json)["additional_creators"], [bob.userId]);
    const pl = await state(alice, replacement, "m.room.power_levels");
    assert.equal((pl["users"] as Json)[alice.userId], undefined);
    assert.equal((pl["users"] as Json)[bob.userId], undefined);
    assert.ok(((pl["events"] as Json)["m.room.tombstone"] as number) > ((pl["state_default"] as number | undefined) ?? 50), "v12: tombstone above state_default");
  });

  it("lets a user with just the tombstone's level upgrade: raised in the new room only while copying, the old power levels left alone", async () => {
    const old = ok(await post(alice, "/createRoom", {
      room_version: "10",
      preset: "public_chat",
      power_level_content_override: { events: { "m.room.tombstone": 50, "m.room.power_levels": 100, "m.room.history_visibility": 100, "m.room.name": 50 } },
    }))["room_id"] as RoomId;
    ok(await post(bob, `/rooms/${enc(old)}/join`));
    const pl = await state(alice, old, "m.room.power_levels");
    ok(await put(alice, `/rooms/${enc(old)}/state/m.room.power_levels/`, { ...pl, users: { ...(pl["users"] as Json), [bob.userId]: 50 } }));
    const oldPl = await state(alice, old, "m.room.power_levels");
    const replacement = ok(await upgrade(bob, old, { new_version: "11" }))["replacement_room"] as string;
    assert.deepEqual(await state(bob, replacement, "m.room.power_levels"), oldPl, "the final power levels are the old room's");
    assert.deepEqual(await state(bob, old, "m.room.power_levels"), oldPl, "bob may not change the old room's power levels");
    assert.equal((await state(bob, old, "m.room.tombstone"))["replacement_room"], replacement);
  });

  it("refuses bad input, unknown versions, too little power, non-members and unknown rooms, writing nothing", async () => {
    const old = ok(await post(alice, "/createRoom", { preset: "public_chat" }))["room_id"] as RoomId;
    ok(await post(bob, `/rooms/${enc(old)}/join`));
    const before = await eventCount();
    assert.match(String(expectError(await upgrade(alice, old, {}), 400, "M_MISSING_PARAM")["error"]), /new_version/);
    assert.match(String(expectError(await upgrade(alice, old, { new_version: 11 }), 400, "M_BAD_JSON")["error"]), /new_version/);
    assert.match(String(expectError(await upgrade(alice, old, { new_version: "99" }), 400, "M_UNSUPPORTED_ROOM_VERSION")["error"]), /99/);
    expectError(await upgrade(alice, old, { new_version: "12", additional_creators: "bob" }), 400, "M_BAD_JSON");
    expectError(await upgrade(alice, old, { new_version: "12", additional_creators: ["not a user"] }), 400, "M_INVALID_PARAM");
    assert.match(String(expectError(await upgrade(bob, old, { new_version: "11" }), 403, "M_FORBIDDEN")["error"]), /tombstone/);
    expectError(await upgrade(carol, old, { new_version: "11" }), 403, "M_FORBIDDEN");
    expectError(await upgrade(alice, "!unknown:zion.test", { new_version: "11" }), 404, "M_NOT_FOUND");
    expectError(await call("POST", `${V3}/rooms/${enc(old)}/upgrade`, { new_version: "11" }), 401, "M_MISSING_TOKEN");
    assert.equal(await eventCount(), before, "no refusal wrote an event");
    assert.equal((await get(alice, `/rooms/${enc(old)}/state/m.room.tombstone/`)).status, 404);
  });
});
