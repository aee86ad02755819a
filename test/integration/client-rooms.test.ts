/**
 * The room, event and directory endpoints of the client-server API on a real Zion over loopback, on SQLite and
 * PostgreSQL: room creation (every preset and version, bad input), membership (public, invite-only, knock,
 * restricted, invite, leave, forget, kick, ban, unban), sending with transaction ids, state, /messages, /context,
 * /event, /members, /joined_members, redaction, aliases, the public room directory, history visibility, rate
 * limits. Every refusal gets its status and errcode and writes nothing (checked in the server's own store).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../src/core/clock.js";
import type { RoomId } from "../../src/core/ids/index.js";
import { backendDatabases } from "../harness/postgres.js";
import type { TestServer } from "../harness/server.js";
import { expectMatrixError, type Reply } from "../harness/http-get.js";
import { okJson, startRoomsServer as startWith, type RoomsClient as Client } from "../harness/rooms-server.js";

let now = 1_764_000_000_000;
const clock: Clock = { now: () => now++, sleep: async () => {} };
const generous = { per_second: 1000, burst_count: 1000 };

const databases = backendDatabases("zion_rooms");
after(() => databases.stop());

const startRoomsServer = async (backend: "sqlite" | "postgres", limits: Record<string, unknown> = {}) => startWith(await databases.config(backend), clock, limits);

const expectError = expectMatrixError;
const ok = okJson;
const enc = encodeURIComponent;
const V3 = "/_matrix/client/v3";

for (const backend of ["sqlite", "postgres"] as const)
describe(`client API rooms (${backend})`, () => {
  let zion: TestServer;
  let call: Awaited<ReturnType<typeof startRoomsServer>>["call"];
  let alice: Client, bob: Client, carol: Client, dave: Client;
  before(async () => {
    const s = await startRoomsServer(backend);
    zion = s.zion;
    call = s.call;
    [alice, bob, carol, dave] = await Promise.all(["alice", "bob", "carol", "dave"].map((u) => s.register(u))) as [Client, Client, Client, Client];
  });
  after(() => zion?.stop());

  const storage = () => zion.homeserver!.storage;
  const as = (c: Client) => ({
    post: (path: string, body: unknown = {}) => call("POST", `${V3}${path}`, body, c.token),
    put: (path: string, body: unknown = {}) => call("PUT", `${V3}${path}`, body, c.token),
    get: (path: string) => call("GET", `${V3}${path}`, undefined, c.token),
    del: (path: string) => call("DELETE", `${V3}${path}`, undefined, c.token),
  });
  const createRoom = async (c: Client, body: Record<string, unknown> = {}): Promise<RoomId> => ok(await as(c).post("/createRoom", body))["room_id"] as RoomId;
  const membership = async (roomId: RoomId, user: Client) => {
    const id = await storage().rooms.getCurrentStateEventId(roomId, "m.room.member", user.userId);
    return id ? (await storage().events.getPdus([id])).get(id)?.content["membership"] : undefined;
  };
  const send = async (c: Client, roomId: RoomId, body: string, txn = `t${now++}`) => ok(await as(c).put(`/rooms/${enc(roomId)}/send/m.room.message/${txn}`, { msgtype: "m.text", body }))["event_id"] as string;
  const eventCount = () => storage().events.maxStreamOrdering();

  describe("POST /createRoom", () => {
    for (let v = 1; v <= 12; v++) {
      it(`creates a room of version ${v} with name, topic and the creator joined`, async () => {
        const roomId = await createRoom(alice, { room_version: String(v), name: `Room v${v}`, topic: "t" });
        assert.equal((await storage().rooms.getRoom(roomId))?.roomVersion, String(v));
        const name = ok(await as(alice).get(`/rooms/${enc(roomId)}/state/m.room.name/`));
        assert.deepEqual(name, { name: `Room v${v}` });
        const create = ok(await as(alice).get(`/rooms/${enc(roomId)}/state/m.room.create?format=event`));
        assert.equal((create["content"] as Record<string, unknown>)["room_version"], String(v));
        if (v === 12) assert.equal(roomId, `!${String(create["event_id"]).slice(1)}`, "v12: the room id is the create event's id");
        assert.deepEqual(ok(await as(alice).get("/joined_rooms"))["joined_rooms"], (await storage().rooms.getRoomsForUser(alice.userId, "join")).slice());
      });
    }

    it("defaults to default_room_version and answers under r0 too", async () => {
      const r = await call("POST", "/_matrix/client/r0/createRoom", {}, alice.token);
      const roomId = ok(r)["room_id"] as RoomId;
      assert.equal((await storage().rooms.getRoom(roomId))?.roomVersion, zion.config.default_room_version);
    });

    it("refuses bad input with its status and errcode and writes nothing", async () => {
      const before = await eventCount();
      expectError(await as(alice).post("/createRoom", { room_version: "99" }), 400, "M_UNSUPPORTED_ROOM_VERSION");
      expectError(await as(alice).post("/createRoom", { room_version: 11 }), 400, "M_BAD_JSON");
      expectError(await as(alice).post("/createRoom", { name: 5 }), 400, "M_BAD_JSON");
      expectError(await as(alice).post("/createRoom", { preset: "secret" }), 400, "M_INVALID_PARAM");
      expectError(await as(alice).post("/createRoom", { invite: "not-a-list" }), 400, "M_BAD_JSON");
      const long = expectError(await as(alice).post("/createRoom", { room_alias_name: "a".repeat(300) }), 400, "M_INVALID_PARAM");
      assert.match(String(long["error"]), /room_alias_name/);
      expectError(await call("POST", `${V3}/createRoom`, "{not json", alice.token), 400, "M_NOT_JSON");
      expectError(await call("POST", `${V3}/createRoom`, {}), 401, "M_MISSING_TOKEN");
      assert.equal(await eventCount(), before, "no event was written");
    });

    it("answers 502 M_UNKNOWN for an invitee whose server cannot be reached, as Synapse, with the room created and the invite left out", async () => {
      const joined = async () => (ok(await as(alice).get("/joined_rooms"))["joined_rooms"] as string[]);
      const before = await joined();
      expectError(await as(alice).post("/createRoom", { invite: ["@x:elsewhere.test"] }), 502, "M_UNKNOWN");
      const created = (await joined()).filter((r) => !before.includes(r));
      assert.equal(created.length, 1);
      assert.equal(await storage().rooms.getCurrentStateEventId(created[0] as RoomId, "m.room.member", "@x:elsewhere.test"), null);
    });

    it("writes nothing when a planned event fails the auth rules (the chain is built in memory, then stored in one call)", async () => {
      const before = await eventCount();
      const rooms = (await storage().rooms.getRoomsForUser(alice.userId, "join")).length;
      const r = await as(alice).post("/createRoom", {
        room_alias_name: "never",
        initial_state: [{ type: "m.room.member", state_key: bob.userId, content: { membership: "join" } }],
      });
      const j = expectError(r, 403, "M_FORBIDDEN");
      assert.match(String(j["error"]), /rule/);
      assert.equal(await eventCount(), before);
      assert.equal((await storage().rooms.getRoomsForUser(alice.userId, "join")).length, rooms);
      assert.equal(await storage().roomClient.getAlias("#never:zion.test" as never), null, "the alias was not kept");
    });

    it("reserves room_alias_name; a taken alias is 400 M_ROOM_IN_USE and creates no room", async () => {
      const roomId = await createRoom(alice, { room_alias_name: "lobby", preset: "public_chat" });
      assert.deepEqual(ok(await as(bob).get(`/directory/room/${enc("#lobby:zion.test")}`)), { room_id: roomId, servers: ["zion.test"] });
      const before = await eventCount();
      expectError(await as(bob).post("/createRoom", { room_alias_name: "lobby" }), 400, "M_ROOM_IN_USE");
      assert.equal(await eventCount(), before);
      const canonical = ok(await as(alice).get(`/rooms/${enc(roomId)}/state/m.room.canonical_alias`));
      assert.equal(canonical["alias"], "#lobby:zion.test");
    });

    it("invites the listed users and publishes a public room", async () => {
      const roomId = await createRoom(alice, { visibility: "public", invite: [bob.userId], is_direct: true });
      assert.equal(await membership(roomId, bob), "invite");
      assert.deepEqual(ok(await call("GET", `${V3}/directory/list/room/${enc(roomId)}`)), { visibility: "public" });
    });
  });

  describe("membership", () => {
    it("joins a public room by alias and by id; joined_members lists both with display names", async () => {
      const roomId = await createRoom(alice, { preset: "public_chat", room_alias_name: "square" });
      assert.deepEqual(ok(await as(bob).post(`/join/${enc("#square:zion.test")}`)), { room_id: roomId });
      assert.deepEqual(ok(await as(carol).post(`/rooms/${enc(roomId)}/join`)), { room_id: roomId });
      const joined = ok(await as(bob).get(`/rooms/${enc(roomId)}/joined_members`))["joined"] as Record<string, Record<string, unknown>>;
      assert.deepEqual(Object.keys(joined).sort(), [alice.userId, bob.userId, carol.userId].sort());
      assert.equal(joined[bob.userId]!["display_name"], "bob");
      // Joining again changes nothing.
      const before = await eventCount();
      ok(await as(bob).post(`/rooms/${enc(roomId)}/join`));
      assert.equal(await eventCount(), before);
    });

    it("invite-only: a join without an invite is 403 and writes nothing; after an invite it works", async () => {
      const roomId = await createRoom(alice, { preset: "private_chat" });
      const before = await eventCount();
      expectError(await as(carol).post(`/rooms/${enc(roomId)}/join`), 403, "M_FORBIDDEN");
      assert.equal(await eventCount(), before);
      ok(await as(alice).post(`/rooms/${enc(roomId)}/invite`, { user_id: carol.userId, reason: "welcome" }));
      assert.equal(await membership(roomId, carol), "invite");
      ok(await as(carol).post(`/rooms/${enc(roomId)}/join`));
      assert.equal(await membership(roomId, carol), "join");
    });

    it("invite: missing or wrong user_id, another server's user, a non-member inviter, unknown rooms", async () => {
      const roomId = await createRoom(alice, { preset: "private_chat" });
      const before = await eventCount();
      expectError(await as(alice).post(`/rooms/${enc(roomId)}/invite`, {}), 400, "M_BAD_JSON");
      expectError(await as(alice).post(`/rooms/${enc(roomId)}/invite`, { user_id: 7 }), 400, "M_BAD_JSON");
      expectError(await as(alice).post(`/rooms/${enc(roomId)}/invite`, { user_id: "bob" }), 400, "M_INVALID_PARAM");
      expectError(await as(alice).post(`/rooms/${enc(roomId)}/invite`, { user_id: "@x:elsewhere.test" }), 502, "M_UNKNOWN");
      expectError(await as(dave).post(`/rooms/${enc(roomId)}/invite`, { user_id: bob.userId }), 403, "M_FORBIDDEN");
      expectError(await as(alice).post(`/rooms/${enc("!nope:zion.test")}/invite`, { user_id: bob.userId }), 404, "M_NOT_FOUND");
      expectError(await as(alice).post(`/rooms/not-a-room/invite`, { user_id: bob.userId }), 400, "M_INVALID_PARAM");
      assert.equal(await eventCount(), before);
    });

    it("joining a remote or unknown room: 502 M_UNKNOWN for another server's room or alias, 404 for an unknown local one", async () => {
      expectError(await as(bob).post(`/join/${enc("!abc:elsewhere.test")}`), 502, "M_UNKNOWN");
      expectError(await as(bob).post(`/join/${enc("#room:elsewhere.test")}`), 502, "M_UNKNOWN");
      expectError(await as(bob).post(`/join/${enc("!abc:zion.test")}?via=elsewhere.test`), 502, "M_UNKNOWN");
      expectError(await as(bob).post(`/join/${enc("!abc:zion.test")}`), 404, "M_NOT_FOUND");
      expectError(await as(bob).post(`/join/${enc("#missing:zion.test")}`), 404, "M_NOT_FOUND");
      expectError(await as(bob).post(`/join/plain`), 400, "M_INVALID_PARAM");
    });

    it("knock: on a knock room (v7+) the knock is stored; an invite then a join completes it; a public room refuses knocks", async () => {
      const roomId = await createRoom(alice, { room_version: "10", initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }] });
      ok(await as(dave).post(`/knock/${enc(roomId)}`, { reason: "let me in" }));
      assert.equal(await membership(roomId, dave), "knock");
      ok(await as(alice).post(`/rooms/${enc(roomId)}/invite`, { user_id: dave.userId }));
      ok(await as(dave).post(`/rooms/${enc(roomId)}/join`));
      assert.equal(await membership(roomId, dave), "join");
      const pub = await createRoom(alice, { preset: "public_chat", room_version: "10" });
      expectError(await as(dave).post(`/knock/${enc(pub)}`), 403, "M_FORBIDDEN");
      const v6 = await createRoom(alice, { room_version: "6", initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }] });
      expectError(await as(dave).post(`/knock/${enc(v6)}`), 403, "M_FORBIDDEN");
    });

    it("restricted: a member of an allowed room joins (authorised by a local member); others get 403", async () => {
      const space = await createRoom(alice, { preset: "public_chat" });
      ok(await as(bob).post(`/rooms/${enc(space)}/join`));
      const roomId = await createRoom(alice, {
        room_version: "9",
        initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: space }] } }],
      });
      ok(await as(bob).post(`/rooms/${enc(roomId)}/join`));
      const join = ok(await as(bob).get(`/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`));
      assert.equal(join["join_authorised_via_users_server"], alice.userId);
      expectError(await as(carol).post(`/rooms/${enc(roomId)}/join`), 403, "M_FORBIDDEN");
    });

    it("kick and ban need power; unban only a banned user; a banned user cannot rejoin", async () => {
      const roomId = await createRoom(alice, { preset: "public_chat" });
      for (const c of [bob, carol]) ok(await as(c).post(`/rooms/${enc(roomId)}/join`));
      const before = await eventCount();
      expectError(await as(bob).post(`/rooms/${enc(roomId)}/kick`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
      expectError(await as(bob).post(`/rooms/${enc(roomId)}/ban`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
      expectError(await as(alice).post(`/rooms/${enc(roomId)}/kick`, {}), 400, "M_BAD_JSON");
      expectError(await as(alice).post(`/rooms/${enc(roomId)}/unban`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
      assert.equal(await eventCount(), before);
      ok(await as(alice).post(`/rooms/${enc(roomId)}/kick`, { user_id: carol.userId, reason: "spam" }));
      assert.equal(await membership(roomId, carol), "leave");
      ok(await as(alice).post(`/rooms/${enc(roomId)}/ban`, { user_id: bob.userId }));
      assert.equal(await membership(roomId, bob), "ban");
      expectError(await as(bob).post(`/rooms/${enc(roomId)}/join`), 403, "M_FORBIDDEN");
      ok(await as(alice).post(`/rooms/${enc(roomId)}/unban`, { user_id: bob.userId }));
      assert.equal(await membership(roomId, bob), "leave");
      ok(await as(bob).post(`/rooms/${enc(roomId)}/join`));
    });

    it("leave and forget: forgetting while joined is 400 M_UNKNOWN; after leaving it is recorded; a non-member cannot leave", async () => {
      const roomId = await createRoom(alice, { preset: "public_chat" });
      ok(await as(bob).post(`/rooms/${enc(roomId)}/join`));
      expectError(await as(bob).post(`/rooms/${enc(roomId)}/forget`), 400, "M_UNKNOWN");
      ok(await as(bob).post(`/rooms/${enc(roomId)}/leave`, { reason: "bye" }));
      assert.equal(await membership(roomId, bob), "leave");
      ok(await as(bob).post(`/rooms/${enc(roomId)}/forget`));
      assert.equal(await storage().roomClient.isForgotten(bob.userId, roomId), true);
      expectError(await as(dave).post(`/rooms/${enc(roomId)}/leave`), 403, "M_FORBIDDEN");
      expectError(await as(dave).post(`/rooms/${enc("!nope:zion.test")}/forget`), 404, "M_NOT_FOUND");
      ok(await as(bob).post(`/rooms/${enc(roomId)}/join`));
      assert.equal(await storage().roomClient.isForgotten(bob.userId, roomId), false, "joining again clears it");
    });
  });

  describe("events", () => {
    let roomId: RoomId;
    before(async () => {
      roomId = await createRoom(alice, { preset: "public_chat", name: "events" });
      ok(await as(bob).post(`/rooms/${enc(roomId)}/join`));
    });

    it("PUT /send is idempotent per device and txn id: the same event id, one event stored", async () => {
      const first = await send(alice, roomId, "once", "txn-1");
      const before = await eventCount();
      const again = await send(alice, roomId, "once", "txn-1");
      assert.equal(again, first);
      const racing = await Promise.all([0, 1, 2].map(() => send(alice, roomId, "race", "txn-race")));
      assert.equal(new Set(racing).size, 1);
      const stored = await storage().events.getRoomEventsBetween(roomId, 0, Number.MAX_SAFE_INTEGER, 10_000);
      assert.equal(stored.filter((e) => e.pdu.content["body"] === "race").length, 1, "the racing transaction stored one event");
      assert.equal(stored.filter((e) => e.pdu.content["body"] === "once").length, 1);
      void before;
      // Another user's same txn id is another event.
      assert.notEqual(await send(bob, roomId, "once", "txn-1"), first);
    });

    it("serialises one room's writes: 50 concurrent PUT /send get distinct depths and form one linear chain", async () => {
      const room = await createRoom(alice, { preset: "public_chat" });
      const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => send(alice, room, `burst ${i}`, `burst-${i}`)));
      const pdus = [...(await storage().events.getPdus(ids as never)).values()].sort((a, b) => a.depth - b.depth);
      assert.equal(pdus.length, 50);
      assert.equal(new Set(pdus.map((p) => p.depth)).size, 50, "distinct depths");
      for (let i = 1; i < pdus.length; i++) assert.deepEqual(pdus[i]!.prevEvents, [pdus[i - 1]!.eventId], "each cites the one before");
      assert.deepEqual(await storage().rooms.getForwardExtremities(room), [pdus[49]!.eventId]);
    });

    it("PUT /send refuses non-members, unknown rooms, bodies that are not objects, and over-large events", async () => {
      const before = await eventCount();
      expectError(await as(carol).put(`/rooms/${enc(roomId)}/send/m.room.message/x1`, { body: "hi" }), 403, "M_FORBIDDEN");
      expectError(await as(alice).put(`/rooms/${enc("!nope:zion.test")}/send/m.room.message/x2`, { body: "hi" }), 404, "M_NOT_FOUND");
      expectError(await as(alice).put(`/rooms/${enc(roomId)}/send/m.room.message/x3`, [1, 2]), 400, "M_BAD_JSON");
      expectError(await call("PUT", `${V3}/rooms/${enc(roomId)}/send/m.room.message/x4`, "nope", alice.token), 400, "M_NOT_JSON");
      const big = await as(alice).put(`/rooms/${enc(roomId)}/send/m.room.message/x5`, { body: "x".repeat(70_000) });
      expectError(big, 413, "M_TOO_LARGE");
      // Under the 64 KiB request limit, but over the 64 KiB PDU limit once signed and hashed.
      const nearly = await as(alice).put(`/rooms/${enc(roomId)}/send/m.room.message/x6`, { body: "x".repeat(65_300) });
      const nearlyErr = expectError(nearly, 413, "M_TOO_LARGE");
      assert.match(String(nearlyErr["error"]), /65536/);
      expectError(await as(alice).put(`/rooms/${enc(roomId)}/send/m.room.message/x7`, { n: 1.5 }), 400, "M_BAD_JSON");
      assert.equal(await eventCount(), before);
    });

    it("state GET/PUT: power decides, equal content writes nothing, format=event, 404 for absent state, 403 for non-members", async () => {
      const before = await eventCount();
      expectError(await as(bob).put(`/rooms/${enc(roomId)}/state/m.room.name/`, { name: "bob's" }), 403, "M_FORBIDDEN");
      assert.equal(await eventCount(), before);
      const id = ok(await as(alice).put(`/rooms/${enc(roomId)}/state/m.room.topic`, { topic: "news" }))["event_id"];
      assert.equal(ok(await as(alice).put(`/rooms/${enc(roomId)}/state/m.room.topic`, { topic: "news" }))["event_id"], id, "same content: the same event");
      assert.deepEqual(ok(await as(bob).get(`/rooms/${enc(roomId)}/state/m.room.topic/`)), { topic: "news" });
      const ev = ok(await as(bob).get(`/rooms/${enc(roomId)}/state/m.room.topic?format=event`));
      assert.equal(ev["event_id"], id);
      assert.equal(ev["state_key"], "");
      expectError(await as(bob).get(`/rooms/${enc(roomId)}/state/m.room.avatar/`), 404, "M_NOT_FOUND");
      expectError(await as(carol).get(`/rooms/${enc(roomId)}/state/m.room.topic/`), 403, "M_FORBIDDEN");
      expectError(await as(carol).get(`/rooms/${enc(roomId)}/state`), 403, "M_FORBIDDEN");
      for (const path of ["/state", "/state/m.room.name/", "/messages?dir=b", "/members", "/joined_members", "/aliases", `/event/${enc("$x")}`, `/context/${enc("$x")}`]) {
        expectError(await as(alice).get(`/rooms/${enc("!unknown:zion.test")}${path}`), 404, "M_NOT_FOUND");
      }
      const all = ok(await as(bob).get(`/rooms/${enc(roomId)}/state`)) as unknown as Array<Record<string, unknown>>;
      assert.ok(all.some((e) => e["type"] === "m.room.create") && all.some((e) => e["type"] === "m.room.topic"));
    });

    it("GET /messages pages both ways with from/to/limit and filters; bad parameters are 400", async () => {
      const room = await createRoom(alice, { preset: "public_chat" });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await send(alice, room, `m${i}`));
      const b1 = ok(await as(alice).get(`/rooms/${enc(room)}/messages?dir=b&limit=2`));
      const chunk1 = (b1["chunk"] as Array<Record<string, unknown>>).map((e) => e["event_id"]);
      assert.deepEqual(chunk1, [ids[4], ids[3]]);
      const b2 = ok(await as(alice).get(`/rooms/${enc(room)}/messages?dir=b&limit=2&from=${enc(String(b1["end"]))}`));
      assert.deepEqual((b2["chunk"] as Array<Record<string, unknown>>).map((e) => e["event_id"]), [ids[2], ids[1]]);
      // Forwards from the start: the creation events first, then the messages, in order.
      const f = ok(await as(alice).get(`/rooms/${enc(room)}/messages?dir=f&limit=100`));
      const fchunk = f["chunk"] as Array<Record<string, unknown>>;
      assert.equal(fchunk[0]!["type"], "m.room.create");
      assert.deepEqual(fchunk.slice(-5).map((e) => e["event_id"]), ids);
      assert.equal(f["end"], undefined, "no end token when the room has no more events");
      // to: stop before the event at that position (tokens are positions of events, both ends exclusive).
      const upTo = ok(await as(alice).get(`/rooms/${enc(room)}/messages?dir=b&from=${enc(String(b1["end"]))}&to=${enc(String(b2["end"]))}`));
      assert.deepEqual((upTo["chunk"] as Array<Record<string, unknown>>).map((e) => e["event_id"]), [ids[2]]);
      // filter: types and lazy-loaded members.
      const filter = enc(JSON.stringify({ types: ["m.room.message"], lazy_load_members: true }));
      const filtered = ok(await as(alice).get(`/rooms/${enc(room)}/messages?dir=b&limit=3&filter=${filter}`));
      assert.ok((filtered["chunk"] as Array<Record<string, unknown>>).every((e) => e["type"] === "m.room.message"));
      assert.deepEqual((filtered["state"] as Array<Record<string, unknown>>).map((e) => e["state_key"]), [alice.userId]);
      expectError(await as(alice).get(`/rooms/${enc(room)}/messages`), 400, "M_MISSING_PARAM");
      expectError(await as(alice).get(`/rooms/${enc(room)}/messages?dir=x`), 400, "M_INVALID_PARAM");
      expectError(await as(alice).get(`/rooms/${enc(room)}/messages?dir=b&from=garbage`), 400, "M_INVALID_PARAM");
      expectError(await as(alice).get(`/rooms/${enc(room)}/messages?dir=b&limit=-1`), 400, "M_INVALID_PARAM");
      expectError(await as(alice).get(`/rooms/${enc(room)}/messages?dir=b&filter=${enc("{bad")}`), 400, "M_NOT_JSON");
      expectError(await as(carol).get(`/rooms/${enc(room)}/messages?dir=b`), 403, "M_FORBIDDEN");
    });

    it("history visibility applies to every read: a joined-only room hides earlier messages from a later member", async () => {
      const room = await createRoom(alice, { preset: "public_chat", initial_state: [{ type: "m.room.history_visibility", state_key: "", content: { history_visibility: "joined" } }] });
      const early = await send(alice, room, "before dave");
      ok(await as(dave).post(`/rooms/${enc(room)}/join`));
      const late = await send(alice, room, "after dave");
      const seen = (ok(await as(dave).get(`/rooms/${enc(room)}/messages?dir=b&limit=50`))["chunk"] as Array<Record<string, unknown>>).map((e) => e["event_id"]);
      assert.ok(seen.includes(late) && !seen.includes(early), JSON.stringify(seen));
      expectError(await as(dave).get(`/rooms/${enc(room)}/event/${enc(early)}`), 404, "M_NOT_FOUND");
      assert.equal(ok(await as(dave).get(`/rooms/${enc(room)}/event/${enc(late)}`))["event_id"], late);
      expectError(await as(dave).get(`/rooms/${enc(room)}/context/${enc(early)}`), 404, "M_NOT_FOUND");
      // Shared (the default): a later member sees earlier history.
      const shared = await createRoom(alice, { preset: "public_chat" });
      const old = await send(alice, shared, "old news");
      ok(await as(dave).post(`/rooms/${enc(shared)}/join`));
      assert.equal(ok(await as(dave).get(`/rooms/${enc(shared)}/event/${enc(old)}`))["event_id"], old);
    });

    it("GET /context returns the event, its neighbours, tokens and the state", async () => {
      const room = await createRoom(alice, { preset: "public_chat" });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await send(alice, room, `c${i}`));
      const c = ok(await as(alice).get(`/rooms/${enc(room)}/context/${enc(ids[2]!)}?limit=4`));
      assert.equal((c["event"] as Record<string, unknown>)["event_id"], ids[2]);
      assert.deepEqual((c["events_before"] as Array<Record<string, unknown>>).map((e) => e["event_id"]), [ids[1], ids[0]]);
      assert.deepEqual((c["events_after"] as Array<Record<string, unknown>>).map((e) => e["event_id"]), [ids[3], ids[4]]);
      assert.equal(typeof c["start"], "string");
      assert.ok((c["state"] as Array<Record<string, unknown>>).some((e) => e["type"] === "m.room.create"));
      expectError(await as(alice).get(`/rooms/${enc(room)}/context/${enc("$unknown")}`), 404, "M_NOT_FOUND");
      expectError(await as(alice).get(`/rooms/${enc(room)}/context/${enc(ids[0]!)}?limit=x`), 400, "M_INVALID_PARAM");
    });

    it("GET /members with at (a /messages or a /sync token), membership and not_membership; former members see the state as they left", async () => {
      const beforeRoom = ok(await as(alice).get(`/sync`))["next_batch"] as string;
      const room = await createRoom(alice, { preset: "public_chat" });
      ok(await as(bob).post(`/rooms/${enc(room)}/join`));
      await send(alice, room, "between");
      // A token at the newest event: /members at it gives the state before that event (after bob's join).
      const at = ok(await as(alice).get(`/rooms/${enc(room)}/messages?dir=b&limit=1`))["end"] as string;
      // A sync token (matrix-js-sdk sends its own when it loads a lazy-loaded member list): the state then.
      const syncAt = ok(await as(alice).get(`/sync`))["next_batch"] as string;
      ok(await as(carol).post(`/rooms/${enc(room)}/join`));
      ok(await as(bob).post(`/rooms/${enc(room)}/leave`));
      const keys = (r: Reply) => (ok(r)["chunk"] as Array<Record<string, unknown>>).map((e) => e["state_key"]).sort();
      assert.deepEqual(keys(await as(alice).get(`/rooms/${enc(room)}/members`)), [alice.userId, bob.userId, carol.userId].sort());
      assert.deepEqual(keys(await as(alice).get(`/rooms/${enc(room)}/members?membership=join`)), [alice.userId, carol.userId].sort());
      assert.deepEqual(keys(await as(alice).get(`/rooms/${enc(room)}/members?not_membership=join`)), [bob.userId]);
      assert.deepEqual(keys(await as(alice).get(`/rooms/${enc(room)}/members?at=${enc(at)}&membership=join`)), [alice.userId, bob.userId].sort());
      assert.deepEqual(keys(await as(alice).get(`/rooms/${enc(room)}/members?at=${enc(syncAt)}&not_membership=leave`)), [alice.userId, bob.userId].sort());
      expectError(await as(alice).get(`/rooms/${enc(room)}/members?at=${enc(beforeRoom)}`), 400, "M_INVALID_PARAM");
      expectError(await as(alice).get(`/rooms/${enc(room)}/members?at=s1_q2`), 400, "M_INVALID_PARAM");
      // bob left: he sees the members as they were when he left.
      assert.ok(keys(await as(bob).get(`/rooms/${enc(room)}/members`)).includes(bob.userId));
      expectError(await as(dave).get(`/rooms/${enc(room)}/members`), 403, "M_FORBIDDEN");
      expectError(await as(alice).get(`/rooms/${enc(room)}/members?membership=maybe`), 400, "M_INVALID_PARAM");
      expectError(await as(alice).get(`/rooms/${enc(room)}/members?at=nope`), 400, "M_INVALID_PARAM");
      expectError(await as(bob).get(`/rooms/${enc(room)}/joined_members`), 403, "M_FORBIDDEN");
    });

    it("redaction: own events redacted (content emptied on read, redacted_because), others' need power, txn ids idempotent", async () => {
      const room = await createRoom(alice, { preset: "public_chat" });
      ok(await as(bob).post(`/rooms/${enc(room)}/join`));
      const mine = await send(bob, room, "oops");
      const theirs = await send(alice, room, "keep");
      const before = await eventCount();
      expectError(await as(bob).put(`/rooms/${enc(room)}/redact/${enc(theirs)}/r1`, { reason: "no" }), 403, "M_FORBIDDEN");
      expectError(await as(bob).put(`/rooms/${enc(room)}/redact/${enc("$missing")}/r2`), 404, "M_NOT_FOUND");
      expectError(await as(bob).put(`/rooms/${enc(room)}/redact/${enc(mine)}/r3`, { reason: 5 }), 400, "M_BAD_JSON");
      assert.equal(await eventCount(), before);
      const r = ok(await as(bob).put(`/rooms/${enc(room)}/redact/${enc(mine)}/r4`, { reason: "typo" }))["event_id"];
      assert.equal(ok(await as(bob).put(`/rooms/${enc(room)}/redact/${enc(mine)}/r4`, { reason: "typo" }))["event_id"], r);
      const ev = ok(await as(alice).get(`/rooms/${enc(room)}/event/${enc(mine)}`));
      assert.deepEqual(ev["content"], {});
      assert.equal(((ev["unsigned"] as Record<string, unknown>)["redacted_because"] as Record<string, unknown>)["event_id"], r);
      ok(await as(alice).put(`/rooms/${enc(room)}/redact/${enc(theirs)}/r5`));
    });
  });

  describe("directory", () => {
    it("PUT/GET/DELETE /directory/room/{alias}, /rooms/{id}/aliases; bad aliases and rights", async () => {
      const roomId = await createRoom(alice, { preset: "public_chat" });
      ok(await as(bob).post(`/rooms/${enc(roomId)}/join`));
      ok(await as(bob).put(`/directory/room/${enc("#bobs:zion.test")}`, { room_id: roomId }));
      assert.deepEqual(ok(await as(carol).get(`/directory/room/${enc("#bobs:zion.test")}`))["room_id"], roomId);
      assert.deepEqual(ok(await as(alice).get(`/rooms/${enc(roomId)}/aliases`))["aliases"], ["#bobs:zion.test"]);
      expectError(await as(carol).get(`/rooms/${enc(roomId)}/aliases`), 403, "M_FORBIDDEN");
      expectError(await as(carol).put(`/directory/room/${enc("#bobs:zion.test")}`, { room_id: roomId }), 409, "M_ROOM_IN_USE");
      expectError(await as(carol).put(`/directory/room/${enc("#x:elsewhere.test")}`, { room_id: roomId }), 400, "M_INVALID_PARAM");
      expectError(await as(carol).put(`/directory/room/${enc(`#${"a".repeat(260)}:zion.test`)}`, { room_id: roomId }), 400, "M_INVALID_PARAM");
      expectError(await as(carol).put(`/directory/room/${enc("#new:zion.test")}`, { room_id: "!nope:zion.test" }), 404, "M_NOT_FOUND");
      expectError(await as(carol).put(`/directory/room/${enc("#new:zion.test")}`, {}), 400, "M_BAD_JSON");
      expectError(await as(carol).del(`/directory/room/${enc("#bobs:zion.test")}`), 403, "M_FORBIDDEN");
      assert.ok(await storage().roomClient.getAlias("#bobs:zion.test" as never));
      ok(await as(alice).del(`/directory/room/${enc("#bobs:zion.test")}`)); // a moderator of the room
      expectError(await as(alice).get(`/directory/room/${enc("#bobs:zion.test")}`), 404, "M_NOT_FOUND");
      expectError(await as(alice).del(`/directory/room/${enc("#bobs:zion.test")}`), 404, "M_NOT_FOUND");
      expectError(await as(alice).get(`/directory/room/${enc("#x:elsewhere.test")}`), 502, "M_UNKNOWN");
    });

    it("the public room directory: publish and withdraw, GET and POST with search, limit and since", async () => {
      const a = await createRoom(alice, { preset: "public_chat", visibility: "public", name: "Gardening club", topic: "roses" });
      const b = await createRoom(alice, { preset: "public_chat", name: "Chess" });
      expectError(await as(bob).put(`/directory/list/room/${enc(b)}`, { visibility: "public" }), 403, "M_FORBIDDEN");
      expectError(await as(alice).put(`/directory/list/room/${enc(b)}`, { visibility: "secret" }), 400, "M_BAD_JSON");
      expectError(await as(alice).put(`/directory/list/room/${enc("!nope:zion.test")}`, { visibility: "public" }), 404, "M_NOT_FOUND");
      ok(await as(alice).put(`/directory/list/room/${enc(b)}`, { visibility: "public" }));
      ok(await as(bob).post(`/rooms/${enc(b)}/join`)); // Chess has more members: listed first
      const all = ok(await call("GET", `${V3}/publicRooms`));
      const listed = (all["chunk"] as Array<Record<string, unknown>>).map((c) => c["room_id"]);
      assert.ok(listed.indexOf(b) >= 0 && listed.indexOf(a) > listed.indexOf(b), JSON.stringify(listed));
      const chess = (all["chunk"] as Array<Record<string, unknown>>).find((c) => c["room_id"] === b)!;
      assert.equal(chess["name"], "Chess");
      assert.equal(chess["num_joined_members"], 2);
      assert.equal(chess["join_rule"], "public");
      const search = ok(await as(bob).post("/publicRooms", { filter: { generic_search_term: "ROSES" } }));
      assert.deepEqual((search["chunk"] as Array<Record<string, unknown>>).map((c) => c["room_id"]), [a]);
      const page1 = ok(await call("GET", `${V3}/publicRooms?limit=1`));
      assert.equal((page1["chunk"] as unknown[]).length, 1);
      const page2 = ok(await call("GET", `${V3}/publicRooms?limit=1&since=${enc(String(page1["next_batch"]))}`));
      assert.notDeepEqual(page2["chunk"], page1["chunk"]);
      expectError(await call("GET", `${V3}/publicRooms?since=bogus`), 400, "M_INVALID_PARAM");
      expectError(await call("GET", `${V3}/publicRooms?server=elsewhere.test`), 502, "M_UNKNOWN");
      expectError(await as(bob).post("/publicRooms", { limit: "ten" }), 400, "M_BAD_JSON");
      ok(await as(alice).put(`/directory/list/room/${enc(a)}`, { visibility: "private" }));
      assert.deepEqual(ok(await call("GET", `${V3}/directory/list/room/${enc(a)}`)), { visibility: "private" });
      expectError(await call("GET", `${V3}/directory/list/room/${enc("!nope:zion.test")}`), 404, "M_NOT_FOUND");
    });
  });
});

describe("client API rooms: rate limits (sqlite)", () => {
  let s: Awaited<ReturnType<typeof startRoomsServer>>;
  const tight = { per_second: 0.001, burst_count: 2 };
  before(async () => {
    s = await startRoomsServer("sqlite", { rc_message: tight, rc_joins: { local: tight, remote: tight }, rc_invites: { per_room: generous, per_user: tight, per_issuer: generous } });
  });
  after(() => s?.zion.stop());

  it("rc_message on send, rc_joins on joins, rc_invites on invites: 429 M_LIMIT_EXCEEDED with retry_after_ms, nothing written", async () => {
    const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((u) => s.register(u)));
    const roomId = ok(await s.call("POST", `${V3}/createRoom`, { preset: "public_chat" }, alice!.token))["room_id"] as string;
    const r1 = await s.call("POST", `${V3}/createRoom`, { preset: "private_chat" }, alice!.token);
    const priv = ok(r1)["room_id"] as string;
    for (let i = 0; i < 2; i++) ok(await s.call("PUT", `${V3}/rooms/${enc(roomId)}/send/m.room.message/m${i}`, { body: "x" }, alice!.token));
    const roomEvents = async () => (await s.zion.homeserver!.storage.events.getRoomEventsBetween(roomId as RoomId, 0, Number.MAX_SAFE_INTEGER, 1000)).length;
    const before = await roomEvents();
    const limited = expectError(await s.call("PUT", `${V3}/rooms/${enc(roomId)}/send/m.room.message/m9`, { body: "x" }, alice!.token), 429, "M_LIMIT_EXCEEDED");
    assert.ok(Number(limited["retry_after_ms"]) > 0);
    for (let i = 0; i < 2; i++) ok(await s.call("POST", `${V3}/rooms/${enc(roomId)}/join`, {}, bob!.token));
    expectError(await s.call("POST", `${V3}/rooms/${enc(roomId)}/join`, {}, bob!.token), 429, "M_LIMIT_EXCEEDED");
    assert.equal(await roomEvents(), before + 1, "only bob's first join wrote an event");
    ok(await s.call("POST", `${V3}/rooms/${enc(priv)}/invite`, { user_id: carol!.userId }, alice!.token));
    ok(await s.call("POST", `${V3}/rooms/${enc(roomId)}/invite`, { user_id: carol!.userId }, alice!.token));
    expectError(await s.call("POST", `${V3}/rooms/${enc(roomId)}/invite`, { user_id: carol!.userId }, alice!.token), 429, "M_LIMIT_EXCEEDED");
  });
});
