/**
 * The endpoints that let /versions list v1.1 to v1.13 honestly, on a real Zion over loopback, on SQLite and
 * PostgreSQL: event and room reports (stored for the admins), room tags, the third-party identifier family on a
 * server with no email, SMS or identity server, the space hierarchy (client and federation), /members?at with a
 * /sync token. Bad input gets its status and errcode and writes nothing.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../src/core/clock.js";
import type { RoomId, ServerName } from "../../src/core/ids/index.js";
import { backendDatabases } from "../harness/postgres.js";
import type { TestServer } from "../harness/server.js";
import { expectMatrixError as expectError, httpCall, trustCert } from "../harness/http-get.js";
import { okJson as ok, startRoomsServer, type RoomsClient as Client } from "../harness/rooms-server.js";

let now = 1_766_000_000_000;
const clock: Clock = { now: () => now++, sleep: async () => {} };
const databases = backendDatabases("zion_client_gaps");
after(() => databases.stop());

const enc = encodeURIComponent;
const V1 = "/_matrix/client/v1";
const V3 = "/_matrix/client/v3";
type Json = Record<string, unknown>;

for (const backend of ["sqlite", "postgres"] as const)
describe(`client API gaps of v1.1-v1.13 (${backend})`, () => {
  let zion: TestServer;
  let call: Awaited<ReturnType<typeof startRoomsServer>>["call"];
  let alice: Client, bob: Client, carol: Client;
  before(async () => {
    const s = await startRoomsServer(await databases.config(backend), clock, {}, {
      // The X-Matrix check is replaced by reading the origin from the header, so the test can speak as any server;
      // the route behind it is the real one.
      federationAuth: { authenticate: async (req) => ({ origin: (/origin="?([^",]+)/.exec(req.authorization[0] ?? "")?.[1] ?? "") as ServerName }) },
    });
    zion = s.zion;
    call = s.call;
    [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((u) => s.register(u))) as [Client, Client, Client];
  });
  after(() => zion?.stop());

  const storage = () => zion.homeserver!.storage;
  const get = (c: Client, path: string) => call("GET", path, undefined, c.token);
  const put = (c: Client, path: string, body: unknown) => call("PUT", path, body, c.token);
  const post = (c: Client, path: string, body: unknown = {}) => call("POST", path, body, c.token);
  const del = (c: Client, path: string) => call("DELETE", path, undefined, c.token);
  const createRoom = async (c: Client, body: Json = {}): Promise<RoomId> => ok(await post(c, `${V3}/createRoom`, body))["room_id"] as RoomId;
  const join = async (c: Client, roomId: RoomId) => ok(await post(c, `${V3}/join/${enc(roomId)}`));
  const say = async (c: Client, roomId: RoomId, body: string) => ok(await put(c, `${V3}/rooms/${enc(roomId)}/send/m.room.message/t${now++}`, { msgtype: "m.text", body }))["event_id"] as string;
  const eventReports = async () => (await storage().reports.listEventReports({ from: 0, limit: 100, dir: "f" })).reports;
  const roomReports = async () => (await storage().reports.listRoomReports({ from: 0, limit: 100, dir: "f" })).reports;

  describe("POST /rooms/{roomId}/report/{eventId}", () => {
    it("stores a joined member's report of an event of the room with its reason and score, and answers {}", async () => {
      const roomId = await createRoom(alice, { preset: "public_chat" });
      await join(bob, roomId);
      const eventId = await say(alice, roomId, "offensive");
      const before = (await eventReports()).length;
      assert.deepEqual(ok(await post(bob, `${V3}/rooms/${enc(roomId)}/report/${enc(eventId)}`, { reason: "rude", score: -80 })), {});
      assert.deepEqual(ok(await post(bob, `${V3}/rooms/${enc(roomId)}/report/${enc(eventId)}`, {})), {}, "reason and score may be omitted (v1.13)");
      const stored = (await eventReports()).slice(before);
      assert.deepEqual(stored.map((r) => [r.roomId, r.eventId, r.userId, r.reason, r.score]), [[roomId, eventId, bob.userId, "rude", -80], [roomId, eventId, bob.userId, null, null]]);
      assert.ok(stored[0]!.receivedTs > 0);
    });

    it("answers 404 M_NOT_FOUND alike to a non-member, for an unknown event and for an event of another room, and stores nothing", async () => {
      const roomId = await createRoom(alice);
      const other = await createRoom(alice);
      const eventId = await say(alice, roomId, "x");
      const otherEvent = await say(alice, other, "y");
      const before = (await eventReports()).length;
      const notMember = expectError(await post(carol, `${V3}/rooms/${enc(roomId)}/report/${enc(eventId)}`, { reason: "r" }), 404, "M_NOT_FOUND");
      const unknown = expectError(await post(alice, `${V3}/rooms/${enc(roomId)}/report/${enc("$nope:zion.test")}`, { reason: "r" }), 404, "M_NOT_FOUND");
      expectError(await post(alice, `${V3}/rooms/${enc(roomId)}/report/${enc(otherEvent)}`, {}), 404, "M_NOT_FOUND");
      assert.equal(String(notMember["error"]).replace(eventId, "$E"), String(unknown["error"]).replace("$nope:zion.test", "$E"), "one message: a non-member learns nothing");
      assert.equal((await eventReports()).length, before);
    });

    it("refuses a score outside -100..0 or not an integer, a reason that is not text, and a bad event id with 400, storing nothing", async () => {
      const roomId = await createRoom(alice);
      const eventId = await say(alice, roomId, "x");
      const before = (await eventReports()).length;
      const path = `${V3}/rooms/${enc(roomId)}/report/${enc(eventId)}`;
      for (const score of [1, -101, -5.5, "-5"]) assert.match(String(expectError(await post(alice, path, { score }), 400, "M_INVALID_PARAM")["error"]), /score/);
      expectError(await post(alice, path, { reason: 7 }), 400, "M_BAD_JSON");
      expectError(await post(alice, `${V3}/rooms/${enc(roomId)}/report/not-an-event`, {}), 400, "M_INVALID_PARAM");
      expectError(await call("POST", path, {}), 401, "M_MISSING_TOKEN");
      assert.equal((await eventReports()).length, before);
    });
  });

  describe("POST /rooms/{roomId}/report", () => {
    it("stores a report of a room the reporter is not in, and refuses an unknown room with 404 storing nothing", async () => {
      const roomId = await createRoom(alice);
      const before = (await roomReports()).length;
      assert.deepEqual(ok(await post(carol, `${V3}/rooms/${enc(roomId)}/report`, { reason: "spam room" })), {});
      expectError(await post(carol, `${V3}/rooms/${enc("!unknown:zion.test")}/report`, { reason: "x" }), 404, "M_NOT_FOUND");
      expectError(await post(carol, `${V3}/rooms/${enc(roomId)}/report`, { reason: ["x"] }), 400, "M_BAD_JSON");
      expectError(await post(carol, `${V3}/rooms/not-a-room/report`, {}), 400, "M_INVALID_PARAM");
      const stored = (await roomReports()).slice(before);
      assert.deepEqual(stored.map((r) => [r.roomId, r.userId, r.reason]), [[roomId, carol.userId, "spam room"]]);
    });
  });

  describe("/_synapse/admin/v1/event_reports", () => {
    it("lists reports to a server admin newest first with the room's name and the event's sender, pages, filters, shows one and deletes it", async () => {
      await storage().admin.setAdmin(carol.userId, true);
      const roomId = await createRoom(alice, { name: "Reported room" });
      ok(await post(alice, `${V3}/rooms/${enc(roomId)}/invite`, { user_id: bob.userId }));
      await join(bob, roomId);
      const eventId = await say(alice, roomId, "bad");
      ok(await post(bob, `${V3}/rooms/${enc(roomId)}/report/${enc(eventId)}`, { reason: "first", score: -10 }));
      ok(await post(alice, `${V3}/rooms/${enc(roomId)}/report/${enc(eventId)}`, { reason: "second" }));
      const list = ok(await get(carol, `/_synapse/admin/v1/event_reports?room_id=${enc(roomId)}`));
      const reports = list["event_reports"] as Json[];
      assert.equal(list["total"], 2);
      assert.deepEqual(reports.map((r) => r["reason"]), ["second", "first"]);
      assert.deepEqual([reports[1]!["name"], reports[1]!["sender"], reports[1]!["user_id"], reports[1]!["score"], reports[1]!["event_id"]], ["Reported room", alice.userId, bob.userId, -10, eventId]);
      const page = ok(await get(carol, `/_synapse/admin/v1/event_reports?room_id=${enc(roomId)}&limit=1&dir=f`));
      assert.deepEqual([(page["event_reports"] as Json[])[0]!["reason"], page["next_token"]], ["first", 1]);
      const byAlice = ok(await get(carol, `/_synapse/admin/v1/event_reports?room_id=${enc(roomId)}&user_id=${enc(alice.userId)}`));
      assert.deepEqual((byAlice["event_reports"] as Json[]).map((r) => r["reason"]), ["second"]);
      const id = reports[0]!["id"] as number;
      const one = ok(await get(carol, `/_synapse/admin/v1/event_reports/${id}`));
      assert.equal(one["event_id"], eventId);
      assert.equal(((one["event_json"] as Json)["content"] as Json)["body"], "bad");
      ok(await del(carol, `/_synapse/admin/v1/event_reports/${id}`));
      expectError(await get(carol, `/_synapse/admin/v1/event_reports/${id}`), 404, "M_NOT_FOUND");
      expectError(await del(carol, `/_synapse/admin/v1/event_reports/${id}`), 404, "M_NOT_FOUND");
      expectError(await get(carol, "/_synapse/admin/v1/event_reports/x"), 400, "M_INVALID_PARAM");
      expectError(await get(carol, "/_synapse/admin/v1/event_reports?limit=5000"), 400, "M_INVALID_PARAM");
      expectError(await get(carol, "/_synapse/admin/v1/event_reports?dir=up"), 400, "M_INVALID_PARAM");
      expectError(await get(bob, "/_synapse/admin/v1/event_reports"), 403, "M_FORBIDDEN");
      expectError(await del(bob, `/_synapse/admin/v1/event_reports/${reports[1]!["id"] as number}`), 403, "M_FORBIDDEN");
      assert.equal(ok(await get(carol, `/_synapse/admin/v1/event_reports?room_id=${enc(roomId)}`))["total"], 1, "the refused delete removed nothing");
    });
  });

  describe("GET /admin/whois and the third-party lookups", () => {
    it("answers whois to the user itself and to admins, 403 to anyone else", async () => {
      await storage().admin.setAdmin(carol.userId, true);
      const self = ok(await get(alice, `${V3}/admin/whois/${enc(alice.userId)}`));
      assert.equal(self["user_id"], alice.userId);
      assert.equal(typeof self["devices"], "object");
      assert.equal(ok(await get(carol, `${V3}/admin/whois/${enc(alice.userId)}`))["user_id"], alice.userId);
      expectError(await get(bob, `${V3}/admin/whois/${enc(alice.userId)}`), 403, "M_FORBIDDEN");
    });

    it("knows no third-party protocol (404 M_NOT_FOUND) and asks for the reverse lookups' parameter (400 M_MISSING_PARAM)", async () => {
      for (const kind of ["protocol", "location", "user"]) expectError(await get(alice, `${V3}/thirdparty/${kind}/irc`), 404, "M_NOT_FOUND");
      expectError(await get(alice, `${V3}/thirdparty/location?alias=${enc("#a:zion.test")}`), 404, "M_NOT_FOUND");
      expectError(await get(alice, `${V3}/thirdparty/user?userid=${enc("@a:zion.test")}`), 404, "M_NOT_FOUND");
      expectError(await get(alice, `${V3}/thirdparty/location`), 400, "M_MISSING_PARAM");
      expectError(await get(alice, `${V3}/thirdparty/user`), 400, "M_MISSING_PARAM");
      assert.deepEqual(ok(await get(alice, `${V3}/thirdparty/protocols`)), {});
    });
  });

  describe("room tags", () => {
    const tagsPath = (c: Client, roomId: RoomId, tag?: string) => `${V3}/user/${enc(c.userId)}/rooms/${enc(roomId)}/tags${tag === undefined ? "" : `/${enc(tag)}`}`;

    it("adds, replaces, lists and removes tags, which are the room's m.tag account data", async () => {
      const roomId = await createRoom(alice);
      assert.deepEqual(ok(await get(alice, tagsPath(alice, roomId))), { tags: {} });
      ok(await put(alice, tagsPath(alice, roomId, "m.favourite"), { order: 0.25 }));
      ok(await put(alice, tagsPath(alice, roomId, "u.work"), {}));
      ok(await put(alice, tagsPath(alice, roomId, "m.favourite"), { order: 0.5 }));
      assert.deepEqual(ok(await get(alice, tagsPath(alice, roomId))), { tags: { "m.favourite": { order: 0.5 }, "u.work": {} } });
      assert.deepEqual(ok(await get(alice, `${V3}/user/${enc(alice.userId)}/rooms/${enc(roomId)}/account_data/m.tag`)), { tags: { "m.favourite": { order: 0.5 }, "u.work": {} } });
      ok(await del(alice, tagsPath(alice, roomId, "m.favourite")));
      ok(await del(alice, tagsPath(alice, roomId, "never.set")));
      assert.deepEqual(ok(await get(alice, tagsPath(alice, roomId))), { tags: { "u.work": {} } });
    });

    it("keeps every tag of concurrent PUTs (none lost)", async () => {
      const roomId = await createRoom(alice);
      const names = Array.from({ length: 8 }, (_, i) => `u.c${i}`);
      await Promise.all(names.map(async (n) => ok(await put(alice, tagsPath(alice, roomId, n), {}))));
      assert.deepEqual(Object.keys(ok(await get(alice, tagsPath(alice, roomId)))["tags"] as Json).sort(), names);
    });

    it("refuses another user's tags (403), a tag over 255 bytes or an order that is not a number (400), writing nothing", async () => {
      const roomId = await createRoom(alice);
      ok(await put(alice, tagsPath(alice, roomId, "u.keep"), { order: 0.1 }));
      expectError(await put(bob, tagsPath(alice, roomId, "u.x"), {}), 403, "M_FORBIDDEN");
      expectError(await get(bob, tagsPath(alice, roomId)), 403, "M_FORBIDDEN");
      expectError(await del(bob, tagsPath(alice, roomId, "u.keep")), 403, "M_FORBIDDEN");
      assert.match(String(expectError(await put(alice, tagsPath(alice, roomId, "é".repeat(128)), {}), 400, "M_INVALID_PARAM")["error"]), /255 bytes/);
      assert.match(String(expectError(await put(alice, tagsPath(alice, roomId, "u.keep"), { order: "first" }), 400, "M_INVALID_PARAM")["error"]), /order/);
      expectError(await put(alice, `${V3}/user/${enc(alice.userId)}/rooms/not-a-room/tags/u.x`, {}), 400, "M_INVALID_PARAM");
      assert.deepEqual(ok(await get(alice, tagsPath(alice, roomId))), { tags: { "u.keep": { order: 0.1 } } });
    });
  });

  describe("third-party identifiers without email, SMS or an identity server", () => {
    const email = { client_secret: "s3cret", email: "a@example.org", send_attempt: 1 };
    const phone = { client_secret: "s3cret", country: "GB", phone_number: "07700900000", send_attempt: 1 };

    it("answers every requestToken endpoint 400 M_THREEPID_MEDIUM_NOT_SUPPORTED once the body is valid", async () => {
      for (const [path, body, token] of [
        [`${V3}/account/3pid/email/requestToken`, email, alice.token], [`${V3}/account/3pid/msisdn/requestToken`, phone, alice.token],
        [`${V3}/register/email/requestToken`, email, undefined], [`${V3}/register/msisdn/requestToken`, phone, undefined],
        [`${V3}/account/password/email/requestToken`, email, undefined], [`${V3}/account/password/msisdn/requestToken`, phone, undefined],
      ] as const) {
        assert.match(String(expectError(await call("POST", path, body, token), 400, "M_THREEPID_MEDIUM_NOT_SUPPORTED")["error"]), /does not validate/, path);
      }
    });

    it("checks the requestToken bodies first: missing or malformed fields are 400 naming them", async () => {
      expectError(await call("POST", `${V3}/register/email/requestToken`, { client_secret: "s", send_attempt: 1 }), 400, "M_BAD_JSON");
      expectError(await call("POST", `${V3}/register/email/requestToken`, { ...email, client_secret: "bad secret!" }), 400, "M_BAD_JSON");
      assert.match(String(expectError(await call("POST", `${V3}/register/email/requestToken`, { ...email, email: "not-an-address" }), 400, "M_INVALID_PARAM")["error"]), /email/);
      assert.match(String(expectError(await call("POST", `${V3}/register/msisdn/requestToken`, { ...phone, phone_number: "call me" }), 400, "M_INVALID_PARAM")["error"]), /phone_number/);
      expectError(await call("POST", `${V3}/account/3pid/email/requestToken`, email), 401, "M_MISSING_TOKEN");
    });

    it("refuses /3pid/add (no validated session), /3pid/bind and POST /3pid (no trusted identity server); delete and unbind report no-support", async () => {
      expectError(await post(alice, `${V3}/account/3pid/add`, { client_secret: "s", sid: "1" }), 400, "M_THREEPID_AUTH_FAILED");
      expectError(await post(alice, `${V3}/account/3pid/add`, { client_secret: "s" }), 400, "M_BAD_JSON");
      const creds = { client_secret: "s", id_server: "id.example.org", id_access_token: "t", sid: "1" };
      expectError(await post(alice, `${V3}/account/3pid/bind`, creds), 400, "M_SERVER_NOT_TRUSTED");
      expectError(await post(alice, `${V3}/account/3pid/bind`, { ...creds, sid: undefined }), 400, "M_BAD_JSON");
      expectError(await post(alice, `${V3}/account/3pid`, { three_pid_creds: creds }), 403, "M_THREEPID_AUTH_FAILED");
      assert.deepEqual(ok(await post(alice, `${V3}/account/3pid/delete`, { medium: "email", address: "a@example.org" })), { id_server_unbind_result: "no-support" });
      assert.deepEqual(ok(await post(alice, `${V3}/account/3pid/unbind`, { medium: "msisdn", address: "447700900000" })), { id_server_unbind_result: "no-support" });
      expectError(await post(alice, `${V3}/account/3pid/delete`, { medium: "fax", address: "1" }), 400, "M_BAD_JSON");
      assert.deepEqual(ok(await get(alice, `${V3}/account/3pid`)), { threepids: [] }, "nothing was added");
    });
  });

  describe("GET /hierarchy", () => {
    const child = (c: Client, space: RoomId, roomId: RoomId, content: Json = {}) =>
      put(c, `${V3}/rooms/${enc(space)}/state/m.space.child/${enc(roomId)}`, { via: ["zion.test"], ...content }).then(ok);
    const hierarchy = (c: Client, roomId: RoomId, q = "") => get(c, `${V1}/rooms/${enc(roomId)}/hierarchy${q}`);
    const ids = (j: Json) => (j["rooms"] as Json[]).map((r) => r["room_id"]);

    /** alice's space: public A (order "b"), restricted R (allowed: the space), invite-only P, subspace S (order "a") with public G. */
    const buildSpace = async () => {
      const space = await createRoom(alice, { preset: "public_chat", name: "Space", creation_content: { type: "m.space" } });
      const a = await createRoom(alice, { preset: "public_chat", name: "A", topic: "about A" });
      const r = await createRoom(alice, {
        preset: "private_chat", room_version: "10",
        initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: space }] } }],
      });
      const p = await createRoom(alice, { preset: "private_chat" });
      const sub = await createRoom(alice, { preset: "public_chat", creation_content: { type: "m.space" } });
      const g = await createRoom(alice, { preset: "public_chat" });
      await child(alice, space, a, { order: "b", suggested: true });
      await child(alice, space, r);
      await child(alice, space, p);
      await child(alice, space, sub, { order: "a" });
      await child(alice, sub, g, { suggested: true });
      await child(alice, sub, space); // a loop: each room appears once
      await put(alice, `${V3}/rooms/${enc(space)}/state/m.space.child/${enc("!broken:zion.test")}`, { via: [] }).then(ok); // no via: not a child
      return { space, a, r, p, sub, g };
    };

    it("walks depth first in the spec's child order, showing a user only the rooms it may see, with summaries and children_state", async () => {
      const t = await buildSpace();
      await join(bob, t.space);
      const forBob = ok(await hierarchy(bob, t.space));
      assert.deepEqual(ids(forBob), [t.space, t.sub, t.g, t.a, t.r], "ordered children first (a < b), then the rest by time; P (invite only) hidden; R shown: bob is in the space it allows");
      const rooms = forBob["rooms"] as Json[];
      assert.equal(rooms[0]!["room_type"], "m.space");
      assert.equal(rooms[0]!["name"], "Space");
      assert.equal(rooms[0]!["num_joined_members"], 2);
      assert.equal(rooms[0]!["join_rule"], "public");
      const childState = rooms[0]!["children_state"] as Json[];
      assert.deepEqual(childState.map((e) => e["state_key"]).sort(), [t.a, t.r, t.p, t.sub].sort(), "the child without via is not a child");
      assert.ok(childState.every((e) => e["type"] === "m.space.child" && e["sender"] === alice.userId && typeof e["origin_server_ts"] === "number" && e["event_id"] === undefined));
      const roomA = rooms.find((r) => r["room_id"] === t.a)!;
      assert.deepEqual([roomA["name"], roomA["topic"], roomA["children_state"]], ["A", "about A", []]);
      assert.equal(rooms.find((r) => r["room_id"] === t.r)!["join_rule"], "restricted");
      assert.equal(forBob["next_batch"], undefined);
      // carol is in no room of it: the restricted room is hidden too; alice sees the invite-only room she is in.
      assert.deepEqual(ids(ok(await hierarchy(carol, t.space))), [t.space, t.sub, t.g, t.a]);
      assert.deepEqual(ids(ok(await hierarchy(alice, t.space))), [t.space, t.sub, t.g, t.a, t.r, t.p]);
    });

    it("honours suggested_only and max_depth, and pages with limit and next_batch", async () => {
      const t = await buildSpace();
      assert.deepEqual(ids(ok(await hierarchy(alice, t.space, "?suggested_only=true"))), [t.space, t.a]);
      const suggested = ok(await hierarchy(alice, t.space, "?suggested_only=true"))["rooms"] as Json[];
      assert.deepEqual((suggested[0]!["children_state"] as Json[]).map((e) => e["state_key"]), [t.a], "children_state keeps the suggested ones only");
      assert.deepEqual(ids(ok(await hierarchy(alice, t.space, "?max_depth=0"))), [t.space]);
      assert.deepEqual(ids(ok(await hierarchy(alice, t.space, "?max_depth=1"))), [t.space, t.sub, t.a, t.r, t.p]);
      const seen: unknown[] = [];
      let from: string | undefined;
      let pages = 0;
      do {
        const page = ok(await hierarchy(alice, t.space, `?limit=2${from ? `&from=${enc(from)}` : ""}`));
        seen.push(...ids(page));
        assert.ok((page["rooms"] as Json[]).length <= 2);
        from = page["next_batch"] as string | undefined;
        pages++;
      } while (from !== undefined && pages < 10);
      assert.deepEqual(seen, [t.space, t.sub, t.g, t.a, t.r, t.p]);
      assert.equal(pages, 3);
    });

    it("refuses bad parameters and a token used with other parameters or another room (400 M_INVALID_PARAM)", async () => {
      const t = await buildSpace();
      for (const q of ["?limit=0", "?limit=x", "?max_depth=-1", "?suggested_only=yes", "?from=garbage", "?from=h%7B"]) {
        expectError(await hierarchy(alice, t.space, q), 400, "M_INVALID_PARAM");
      }
      const first = ok(await hierarchy(alice, t.space, "?limit=1&max_depth=3"));
      const token = enc(first["next_batch"] as string);
      assert.match(String(expectError(await hierarchy(alice, t.space, `?limit=1&from=${token}`), 400, "M_INVALID_PARAM")["error"]), /max_depth/);
      expectError(await hierarchy(alice, t.space, `?limit=1&max_depth=3&suggested_only=true&from=${token}`), 400, "M_INVALID_PARAM");
      expectError(await hierarchy(alice, t.sub, `?limit=1&max_depth=3&from=${token}`), 400, "M_INVALID_PARAM");
      assert.equal(ids(ok(await hierarchy(alice, t.space, `?limit=1&max_depth=3&from=${token}`)))[0], t.sub);
    });

    it("refuses a root the user may not see or this server does not know with 403 M_FORBIDDEN", async () => {
      const t = await buildSpace();
      expectError(await hierarchy(carol, t.p), 403, "M_FORBIDDEN");
      expectError(await hierarchy(carol, "!unknown:zion.test" as RoomId), 403, "M_FORBIDDEN");
      expectError(await hierarchy(carol, "not-a-room" as RoomId), 400, "M_INVALID_PARAM");
    });
  });

  describe("GET /_matrix/federation/v1/hierarchy/{roomId}", () => {
    const fed = async (origin: string, roomId: RoomId, q = "") => {
      const r = await httpCall(`${zion.federationUrl}/_matrix/federation/v1/hierarchy/${enc(roomId)}${q}`, {
        ...trustCert(zion.config.tls_certificate_path!, "zion.test"), headers: { authorization: `X-Matrix origin="${origin}",key="ed25519:x",sig="y"` },
      });
      return r;
    };

    it("describes a space and the children the requesting server may see, lists the others as inaccessible, and 404s the rest", async () => {
      const space = await createRoom(alice, { preset: "public_chat", name: "Fed space", creation_content: { type: "m.space" } });
      const open = await createRoom(alice, { preset: "public_chat", name: "Open" });
      const restricted = await createRoom(alice, {
        preset: "private_chat", room_version: "10",
        initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: space }] } }],
      });
      const closed = await createRoom(alice, { preset: "private_chat" });
      for (const [roomId, extra] of [[open, { suggested: true }], [restricted, {}], [closed, {}]] as const) {
        ok(await put(alice, `${V3}/rooms/${enc(space)}/state/m.space.child/${enc(roomId)}`, { via: ["zion.test"], ...extra }));
      }
      ok(await put(alice, `${V3}/rooms/${enc(space)}/state/m.space.child/${enc("!elsewhere:remote.test")}`, { via: ["remote.test"] }));
      const r = await fed("remote.test", space);
      assert.equal(r.status, 200, r.body);
      const j = r.json();
      const room = j["room"] as Json;
      assert.deepEqual([room["room_id"], room["name"], room["room_type"]], [space, "Fed space", "m.space"]);
      assert.equal((room["children_state"] as Json[]).length, 4);
      // remote.test has no user in the space, so it cannot satisfy the restricted rule: only the public child is accessible.
      assert.deepEqual((j["children"] as Json[]).map((c) => c["room_id"]), [open]);
      assert.deepEqual([...(j["inaccessible_children"] as string[])].sort(), [restricted, closed].sort(), "the unknown remote child is left out, not inaccessible");
      const suggested = (await fed("remote.test", space, "?suggested_only=true")).json();
      assert.deepEqual([(suggested["children"] as Json[]).map((c) => c["room_id"]), suggested["inaccessible_children"]], [[open], []]);
      // The server itself (a user of "zion.test" is joined everywhere): the restricted child is accessible, with its allowed rooms.
      const own = (await fed("zion.test", space)).json();
      const restrictedChunk = (own["children"] as Json[]).find((c) => c["room_id"] === restricted)!;
      assert.deepEqual(restrictedChunk["allowed_room_ids"], [space]);
      const notFound = await fed("remote.test", closed);
      assert.equal(notFound.status, 404);
      assert.equal(notFound.json()["errcode"], "M_NOT_FOUND");
      assert.equal((await fed("remote.test", "!unknown:zion.test" as RoomId)).status, 404);
      const bad = await fed("remote.test", space, "?suggested_only=1");
      assert.equal(bad.status, 400);
      assert.equal(bad.json()["errcode"], "M_INVALID_PARAM");
    });
  });

  describe("POST /user_directory/search", () => {
    it("finds users sharing a room or in a published room by id or display name, sharing ones first; not users in private rooms it is not in", async () => {
      const [erin, frank, gina] = await Promise.all(["erin_dir", "frank_dir", "gina_dir"].map(async (u) => {
        const r = await call("POST", `${V3}/register`, { username: u, password: "correct horse 1", auth: { type: "m.login.dummy" } });
        const j = r.json();
        return { userId: j["user_id"], token: j["access_token"] } as Client;
      })) as [Client, Client, Client];
      ok(await put(frank, `${V3}/profile/${enc(frank.userId)}/displayname`, { displayname: "Frank Dirwood" }));
      const shared = await createRoom(erin, { preset: "private_chat", invite: [frank.userId] });
      await join(frank, shared);
      const published = await createRoom(gina, { preset: "public_chat", visibility: "public", name: "dir-public" });
      const hidden = await createRoom(alice, { preset: "private_chat" });
      ok(await put(alice, `${V3}/rooms/${enc(hidden)}/state/m.room.name/`, { name: "hidden" }));
      const search = async (c: Client, term: string, limit?: number) => ok(await post(c, `${V3}/user_directory/search`, { search_term: term, ...(limit === undefined ? {} : { limit }) }));
      const found = await search(erin, "_dir");
      assert.deepEqual((found["results"] as Json[]).map((r) => r["user_id"]), [erin.userId, frank.userId, gina.userId], "sharing a room first (by name), then the published room's member");
      assert.equal(found["limited"], false);
      assert.deepEqual((await search(erin, "dirwood frank"))["results"], [{ user_id: frank.userId, display_name: "Frank Dirwood" }]);
      const one = await search(erin, "_dir", 1);
      assert.deepEqual([(one["results"] as Json[]).length, one["limited"]], [1, true]);
      assert.deepEqual((await search(erin, alice.userId))["results"], [], "alice shares no room with erin and is in no published room");
      assert.deepEqual((await search(erin, "   "))["results"], []);
      void published;
      expectError(await post(erin, `${V3}/user_directory/search`, {}), 400, "M_BAD_JSON");
      expectError(await post(erin, `${V3}/user_directory/search`, { search_term: "x", limit: -1 }), 400, "M_INVALID_PARAM");
      expectError(await post(erin, `${V3}/user_directory/search`, { search_term: "x".repeat(300) }), 400, "M_BAD_JSON");
      expectError(await call("POST", `${V3}/user_directory/search`, { search_term: "x" }), 401, "M_MISSING_TOKEN");
    });
  });

  describe("OpenID tokens", () => {
    const userinfo = (token?: string) => httpCall(`${zion.federationUrl}/_matrix/federation/v1/openid/userinfo${token === undefined ? "" : `?access_token=${enc(token)}`}`, trustCert(zion.config.tls_certificate_path!, "zion.test"));

    it("issues a token for oneself that the federation's /openid/userinfo resolves to the user, without a signature", async () => {
      const t = ok(await post(alice, `${V3}/user/${enc(alice.userId)}/openid/request_token`, {}));
      assert.deepEqual([t["token_type"], t["matrix_server_name"], t["expires_in"]], ["Bearer", "zion.test", 3600]);
      const r = await userinfo(t["access_token"] as string);
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json(), { sub: alice.userId });
    });

    it("refuses another user's tokens (403), and an unknown or missing token at /userinfo (401 M_UNKNOWN_TOKEN / 400 M_MISSING_PARAM)", async () => {
      expectError(await post(bob, `${V3}/user/${enc(alice.userId)}/openid/request_token`, {}), 403, "M_FORBIDDEN");
      expectError(await post(bob, `${V3}/user/${enc(alice.userId)}/openid/request_token`, []), 400, "M_BAD_JSON");
      const unknown = await userinfo("zot_nope");
      assert.deepEqual([unknown.status, unknown.json()["errcode"]], [401, "M_UNKNOWN_TOKEN"]);
      const missing = await userinfo();
      assert.deepEqual([missing.status, missing.json()["errcode"]], [400, "M_MISSING_PARAM"]);
      const accessToken = await userinfo(alice.token);
      assert.equal(accessToken.status, 401, "an access token is not an OpenID token");
    });
  });

  describe("POST /search", () => {
    const search = (c: Client, roomEvents: Json, next?: string) => post(c, `${V3}/search${next === undefined ? "" : `?next_batch=${enc(next)}`}`, { search_categories: { room_events: roomEvents } });
    const resultBodies = (j: Json) => ((j["search_categories"] as Json)["room_events"] as Json)["results"] as Json[];

    it("finds the user's visible room events by body, name or topic, newest first, in pages, and never another room's", async () => {
      const roomId = await createRoom(alice, { preset: "private_chat", invite: [bob.userId], name: "zebra room" });
      await join(bob, roomId);
      const other = await createRoom(carol, { preset: "private_chat" });
      await say(carol, other, "zebra elsewhere");
      const ids = [await say(alice, roomId, "a Zebra crossing"), await say(bob, roomId, "no match here"), await say(bob, roomId, "zebra again")];
      const first = ok(await search(bob, { search_term: "zebra", filter: { limit: 2 } }));
      const results = resultBodies(first);
      assert.deepEqual(results.map((r) => (r["result"] as Json)["event_id"]), [ids[2], ids[0]]);
      assert.equal(results[0]!["rank"], 1);
      const next = ((first["search_categories"] as Json)["room_events"] as Json)["next_batch"] as string;
      assert.match(next, /^q\d+$/);
      const second = resultBodies(ok(await search(bob, { search_term: "zebra", filter: { limit: 2 } }, next)));
      assert.deepEqual(second.map((r) => ((r["result"] as Json)["content"] as Json)["name"]), ["zebra room"], "the m.room.name event, older");
      assert.deepEqual(resultBodies(ok(await search(bob, { search_term: "zebra crossing", keys: ["content.body"] }))).map((r) => (r["result"] as Json)["event_id"]), [ids[0]]);
      assert.deepEqual(resultBodies(ok(await search(bob, { search_term: "zebra", keys: ["content.name"] }))).length, 1);
      assert.deepEqual(resultBodies(ok(await search(bob, { search_term: "zebra", filter: { not_rooms: [roomId] } }))), []);
      assert.deepEqual(resultBodies(ok(await search(carol, { search_term: "zebra" }))).map((r) => ((r["result"] as Json)["content"] as Json)["body"]), ["zebra elsewhere"]);
    });

    it("refuses a missing term, unknown keys, a bad room id or token (400), and answers {} without room_events", async () => {
      expectError(await search(alice, {}), 400, "M_BAD_JSON");
      expectError(await search(alice, { search_term: "x", keys: ["content.msgtype"] }), 400, "M_BAD_JSON");
      expectError(await search(alice, { search_term: "x", order_by: "best" }), 400, "M_BAD_JSON");
      expectError(await search(alice, { search_term: "x", filter: { rooms: ["nope"] } }), 400, "M_INVALID_PARAM");
      expectError(await search(alice, { search_term: "x" }, "garbage"), 400, "M_INVALID_PARAM");
      assert.deepEqual(ok(await post(alice, `${V3}/search`, { search_categories: {} })), { search_categories: {} });
      expectError(await post(alice, `${V3}/search`, {}), 400, "M_BAD_JSON");
    });
  });

  describe("GET /notifications", () => {
    it("lists what the user's push rules notify, newest first, highlights with only=highlight, read after a receipt, paged; never the user's own events", async () => {
      const roomId = await createRoom(alice, { preset: "private_chat", invite: [bob.userId] });
      await join(bob, roomId);
      const plain = await say(bob, roomId, "hi there");
      await say(alice, roomId, "my own message");
      const mention = ok(await put(bob, `${V3}/rooms/${enc(roomId)}/send/m.room.message/t${now++}`, { msgtype: "m.text", body: "alice look", "m.mentions": { user_ids: [alice.userId] } }))["event_id"] as string;
      const list = async (q = "") => ok(await get(alice, `${V3}/notifications${q}`));
      const mine = (j: Json) => (j["notifications"] as Json[]).filter((n) => n["room_id"] === roomId);
      const all = mine(await list("?limit=100"));
      assert.deepEqual(all.map((n) => (n["event"] as Json)["event_id"]), [mention, plain]);
      assert.deepEqual(all.map((n) => n["read"]), [false, false]);
      assert.ok((all[0]!["actions"] as unknown[]).some((a) => typeof a === "object" && (a as Json)["set_tweak"] === "highlight"));
      assert.equal(typeof all[1]!["ts"], "number");
      assert.deepEqual(mine(await list("?only=highlight&limit=100")).map((n) => (n["event"] as Json)["event_id"]), [mention]);
      ok(await post(alice, `${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc(mention)}`, {}));
      assert.deepEqual(mine(await list("?limit=100")).map((n) => n["read"]), [true, true]);
      const first = await list("?limit=1");
      assert.equal((first["notifications"] as Json[]).length, 1);
      const next = first["next_token"] as string;
      assert.match(next, /^n\d+$/);
      const second = await list(`?limit=1&from=${enc(next)}`);
      assert.notEqual(((second["notifications"] as Json[])[0]!["event"] as Json)["event_id"], ((first["notifications"] as Json[])[0]!["event"] as Json)["event_id"]);
      assert.deepEqual(mine(ok(await get(bob, `${V3}/notifications?limit=100`))).map((n) => (n["event"] as Json)["event_id"]).includes(plain), false, "bob's own message does not notify bob");
      for (const q of ["?only=all", "?limit=-1", "?from=x"]) expectError(await get(alice, `${V3}/notifications${q}`), 400, "M_INVALID_PARAM");
    });
  });

  describe("POST /publicRooms filter.room_types (v1.4)", () => {
    it("keeps the published rooms of the listed types, null meaning rooms without a type", async () => {
      const space = await createRoom(alice, { preset: "public_chat", visibility: "public", name: "typed-space", creation_content: { type: "m.space" } });
      const plain = await createRoom(alice, { preset: "public_chat", visibility: "public", name: "typed-plain" });
      const list = async (filter: Json) => (ok(await post(alice, `${V3}/publicRooms`, { filter: { generic_search_term: "typed-", ...filter } }))["chunk"] as Json[]).map((c) => c["room_id"]).sort();
      assert.deepEqual(await list({ room_types: ["m.space"] }), [space]);
      assert.deepEqual(await list({ room_types: [null] }), [plain]);
      assert.deepEqual(await list({ room_types: [null, "m.space"] }), [space, plain].sort());
      assert.deepEqual(await list({}), [space, plain].sort());
      expectError(await post(alice, `${V3}/publicRooms`, { filter: { room_types: "m.space" } }), 400, "M_BAD_JSON");
    });
  });

  describe("GET /members?at=", () => {
    it("accepts a /sync next_batch token: the members as of that point, not later joins", async () => {
      const roomId = await createRoom(alice, { preset: "public_chat" });
      await join(bob, roomId);
      const token = ok(await get(alice, `${V3}/sync?timeout=0`))["next_batch"] as string;
      assert.match(token, /^s\d+/);
      await join(carol, roomId);
      const members = async (q: string) => (ok(await get(alice, `${V3}/rooms/${enc(roomId)}/members${q}`))["chunk"] as Json[]).map((e) => e["state_key"]).sort();
      assert.deepEqual(await members(`?at=${enc(token)}`), [alice.userId, bob.userId].sort());
      assert.deepEqual(await members(""), [alice.userId, bob.userId, carol.userId].sort());
      assert.deepEqual(await members(`?at=${enc(token)}&membership=join`), [alice.userId, bob.userId].sort());
      const messages = ok(await get(alice, `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=1`));
      assert.deepEqual(await members(`?at=${enc(messages["start"] as string)}`), [alice.userId, bob.userId, carol.userId].sort(), "a /messages token still works");
      for (const bad of ["s", "sx1", "s1_s2", "q1", "t1"]) expectError(await get(alice, `${V3}/rooms/${enc(roomId)}/members?at=${enc(bad)}`), 400, "M_INVALID_PARAM");
      expectError(await get(alice, `${V3}/rooms/${enc(roomId)}/members?at=s0`), 400, "M_INVALID_PARAM");
    });
  });
});

describe("user-interactive auth sessions shared by two Zion processes on one PostgreSQL", () => {
  it("completes on the second process a session the first began, after the first stopped, and only once", async () => {
    const db = await databases.config("postgres");
    const a = await startRoomsServer(db, clock);
    const b = await startRoomsServer(db, clock);
    try {
      const dora = await a.register("dora");
      const change = { new_password: "another horse 2" };
      const first = await a.call("POST", `${V3}/account/password`, change, dora.token);
      assert.equal(first.status, 401, first.body);
      const session = first.json()["session"] as string;
      assert.equal(typeof session, "string");
      await a.zion.stop();
      const auth = { type: "m.login.password", session, identifier: { type: "m.id.user", user: dora.userId }, password: "correct horse 1" };
      const done = await b.call("POST", `${V3}/account/password`, { ...change, auth }, dora.token);
      assert.equal(done.status, 200, done.body);
      const again = await b.call("POST", `${V3}/account/password`, { ...change, auth: { ...auth, password: "another horse 2" } }, dora.token);
      expectError(again, 400, "M_UNKNOWN");
    } finally {
      await a.zion.stop();
      await b.zion.stop();
    }
  });
});
