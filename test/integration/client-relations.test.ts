/**
 * Relations, threads, bundled aggregations and /timestamp_to_event on a real Zion over loopback, on SQLite and
 * PostgreSQL: children by rel_type and event type in both directions with paging and recursion, thread lists
 * (all and participated), the m.thread and m.replace aggregations on served events, the event nearest a
 * timestamp; bad input gets its status and errcode and writes nothing, non-members are refused, and history
 * visibility applies to every event returned.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../src/core/clock.js";
import type { RoomId } from "../../src/core/ids/index.js";
import { backendDatabases } from "../harness/postgres.js";
import type { TestServer } from "../harness/server.js";
import { expectMatrixError as expectError } from "../harness/http-get.js";
import { okJson as ok, startRoomsServer, type RoomsClient as Client } from "../harness/rooms-server.js";

let now = 1_765_000_000_000;
const clock: Clock = { now: () => now++, sleep: async () => {} };
const databases = backendDatabases("zion_relations");
after(() => databases.stop());

const enc = encodeURIComponent;
const V1 = "/_matrix/client/v1";
const V3 = "/_matrix/client/v3";
type Json = Record<string, unknown>;

for (const backend of ["sqlite", "postgres"] as const)
describe(`client API relations, threads and timestamps (${backend})`, () => {
  let zion: TestServer;
  let call: Awaited<ReturnType<typeof startRoomsServer>>["call"];
  let alice: Client, bob: Client, carol: Client, dave: Client;
  before(async () => {
    const s = await startRoomsServer(await databases.config(backend), clock);
    zion = s.zion;
    call = s.call;
    [alice, bob, carol, dave] = await Promise.all(["alice", "bob", "carol", "dave"].map((u) => s.register(u))) as [Client, Client, Client, Client];
  });
  after(() => zion?.stop());

  const eventCount = () => zion.homeserver!.storage.events.maxStreamOrdering();
  const get = (c: Client, path: string) => call("GET", path, undefined, c.token);
  const put = (c: Client, path: string, body: unknown) => call("PUT", path, body, c.token);
  const post = (c: Client, path: string, body: unknown = {}) => call("POST", path, body, c.token);
  const sendEvent = async (c: Client, roomId: RoomId, type: string, content: Json) => ok(await put(c, `${V3}/rooms/${enc(roomId)}/send/${type}/t${now++}`, content))["event_id"] as string;
  const say = (c: Client, roomId: RoomId, body: string) => sendEvent(c, roomId, "m.room.message", { msgtype: "m.text", body });
  const inThread = (c: Client, roomId: RoomId, root: string, body: string) =>
    sendEvent(c, roomId, "m.room.message", { msgtype: "m.text", body, "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } } });
  const relations = (c: Client, roomId: RoomId, eventId: string, tail = "") => get(c, `${V1}/rooms/${enc(roomId)}/relations/${enc(eventId)}${tail}`);
  const idsOf = (j: Json) => (j["chunk"] as Json[]).map((e) => e["event_id"]);
  const relationsOf = (ev: Json) => ((ev["unsigned"] as Json | undefined)?.["m.relations"] as Json | undefined) ?? {};

  /** A room of alice's that bob has joined (and, with `public`, anyone may join). */
  const room = async (opts: { public?: boolean; visibility?: string } = {}): Promise<RoomId> => {
    const body: Json = { preset: opts.public ? "public_chat" : "private_chat", invite: opts.public ? [] : [bob.userId] };
    if (opts.visibility) body["initial_state"] = [{ type: "m.room.history_visibility", state_key: "", content: { history_visibility: opts.visibility } }];
    const roomId = ok(await post(alice, `${V3}/createRoom`, body))["room_id"] as RoomId;
    ok(await post(bob, `${V3}/rooms/${enc(roomId)}/join`));
    return roomId;
  };

  describe("GET /relations", () => {
    it("lists an event's children newest first, by rel_type and event type, pages with next_batch both ways, and recurses 3 deep on request", async () => {
      const roomId = await room();
      const root = await say(alice, roomId, "root");
      const t1 = await inThread(bob, roomId, root, "one");
      const reaction = await sendEvent(bob, roomId, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: root, key: "👍" } });
      const t2 = await inThread(alice, roomId, root, "two");
      const onT2 = await sendEvent(bob, roomId, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: t2, key: "🎉" } });
      await say(alice, roomId, "unrelated");

      const all = ok(await relations(bob, roomId, root));
      assert.deepEqual(idsOf(all), [t2, reaction, t1]);
      assert.equal(all["recursion_depth"], undefined, "no recursion_depth unless the client sent recurse");
      assert.equal(all["next_batch"], undefined);
      assert.deepEqual(idsOf(ok(await relations(bob, roomId, root, "/m.thread"))), [t2, t1]);
      assert.deepEqual(idsOf(ok(await relations(bob, roomId, root, "/m.annotation/m.reaction"))), [reaction]);
      assert.deepEqual(idsOf(ok(await relations(bob, roomId, root, "/m.annotation/m.room.message"))), []);
      const first = ok(await relations(bob, roomId, root, "?dir=f&limit=2"));
      assert.deepEqual(idsOf(first), [t1, reaction]);
      assert.equal(typeof first["next_batch"], "string");
      const second = ok(await relations(bob, roomId, root, `?dir=f&limit=2&from=${enc(first["next_batch"] as string)}`));
      assert.deepEqual(idsOf(second), [t2]);
      assert.equal(second["prev_batch"], first["next_batch"]);
      const deep = ok(await relations(bob, roomId, root, "?recurse=true"));
      assert.deepEqual(idsOf(deep), [onT2, t2, reaction, t1]);
      assert.equal(deep["recursion_depth"], 3);
      assert.equal(ok(await relations(bob, roomId, root, "?recurse=false"))["recursion_depth"], 1);
      assert.deepEqual(idsOf(ok(await relations(bob, roomId, root, "/m.annotation?recurse=true"))), [onT2, reaction]);
    });

    it("refuses bad input (400 naming the parameter), unknown events and rooms (404) and non-members (403), writing nothing", async () => {
      const roomId = await room();
      const root = await say(alice, roomId, "root");
      const before = await eventCount();
      for (const [q, field] of [["?dir=x", "dir"], ["?limit=-1", "limit"], ["?limit=ten", "limit"], ["?recurse=yes", "recurse"], ["?from=nope", "from"], ["?to=nope", "to"]] as const) {
        const e = expectError(await relations(bob, roomId, root, q), 400, "M_INVALID_PARAM");
        assert.match(String(e["error"]), new RegExp(field), `${q}: the message names ${field}`);
      }
      expectError(await relations(bob, roomId, "$unknown:zion.test"), 404, "M_NOT_FOUND");
      expectError(await relations(bob, roomId, "not-an-event-id"), 400, "M_INVALID_PARAM");
      expectError(await relations(bob, "!unknown:zion.test" as RoomId, root), 404, "M_NOT_FOUND");
      expectError(await relations(carol, roomId, root), 403, "M_FORBIDDEN");
      expectError(await call("GET", `${V1}/rooms/${enc(roomId)}/relations/${enc(root)}`), 401, "M_MISSING_TOKEN");
      assert.equal(await eventCount(), before);
    });

    it("applies history visibility to the parent and to every child returned", async () => {
      const roomId = await room({ public: true, visibility: "joined" });
      const early = await say(alice, roomId, "before dave");
      await inThread(alice, roomId, early, "also before dave");
      ok(await post(dave, `${V3}/rooms/${enc(roomId)}/join`));
      const root = await say(alice, roomId, "dave sees this");
      const seen = await inThread(alice, roomId, root, "dave sees this reply");
      ok(await post(dave, `${V3}/rooms/${enc(roomId)}/leave`));
      const hidden = await inThread(alice, roomId, root, "sent while dave was away");
      ok(await post(dave, `${V3}/rooms/${enc(roomId)}/join`));
      const back = await inThread(alice, roomId, root, "dave is back");
      expectError(await relations(dave, roomId, early), 404, "M_NOT_FOUND");
      assert.deepEqual(idsOf(ok(await relations(dave, roomId, root))), [back, seen]);
      assert.deepEqual(idsOf(ok(await relations(alice, roomId, root))), [back, hidden, seen]);
    });
  });

  describe("GET /threads and the m.thread aggregation", () => {
    it("lists thread roots most recently active first with their summaries, pages, and filters to threads the user took part in", async () => {
      const roomId = await room();
      const r1 = await say(alice, roomId, "thread one");
      const r2 = await say(bob, roomId, "thread two");
      await inThread(bob, roomId, r1, "r1 a");
      const r2a = await inThread(bob, roomId, r2, "r2 a");
      const r1b = await inThread(bob, roomId, r1, "r1 b");
      const page = ok(await get(alice, `${V1}/rooms/${enc(roomId)}/threads?limit=1`));
      assert.deepEqual(idsOf(page), [r1]);
      const summary = relationsOf((page["chunk"] as Json[])[0]!)["m.thread"] as Json;
      assert.equal(summary["count"], 2);
      assert.equal(summary["current_user_participated"], true, "alice started it");
      assert.equal((summary["latest_event"] as Json)["event_id"], r1b);
      const rest = ok(await get(alice, `${V1}/rooms/${enc(roomId)}/threads?limit=1&from=${enc(page["next_batch"] as string)}`));
      assert.deepEqual(idsOf(rest), [r2]);
      assert.equal((relationsOf((rest["chunk"] as Json[])[0]!)["m.thread"] as Json)["current_user_participated"], false);
      assert.equal(rest["next_batch"], undefined);
      assert.deepEqual(idsOf(ok(await get(alice, `${V1}/rooms/${enc(roomId)}/threads?include=participated`))), [r1]);
      assert.deepEqual(idsOf(ok(await get(bob, `${V1}/rooms/${enc(roomId)}/threads?include=participated`))), [r1, r2]);
      // The same aggregation on /event, /messages and /context.
      const viaEvent = ok(await get(bob, `${V3}/rooms/${enc(roomId)}/event/${enc(r2)}`));
      const viaEventThread = relationsOf(viaEvent)["m.thread"] as Json;
      assert.equal(viaEventThread["count"], 1);
      assert.equal(viaEventThread["current_user_participated"], true);
      assert.equal((viaEventThread["latest_event"] as Json)["event_id"], r2a);
      const messages = ok(await get(bob, `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=10`));
      const r1InMessages = (messages["chunk"] as Json[]).find((e) => e["event_id"] === r1)!;
      assert.equal((relationsOf(r1InMessages)["m.thread"] as Json)["count"], 2);
      const context = ok(await get(bob, `${V3}/rooms/${enc(roomId)}/context/${enc(r1)}`));
      assert.equal((relationsOf(context["event"] as Json)["m.thread"] as Json)["count"], 2);
    });

    it("refuses bad input and non-members, and shows a thread's latest event only when the user may see it", async () => {
      const roomId = await room({ public: true, visibility: "joined" });
      const before = await eventCount();
      expectError(await get(bob, `${V1}/rooms/${enc(roomId)}/threads?include=mine`), 400, "M_INVALID_PARAM");
      expectError(await get(bob, `${V1}/rooms/${enc(roomId)}/threads?limit=x`), 400, "M_INVALID_PARAM");
      expectError(await get(bob, `${V1}/rooms/${enc(roomId)}/threads?from=x`), 400, "M_INVALID_PARAM");
      expectError(await get(carol, `${V1}/rooms/${enc(roomId)}/threads`), 403, "M_FORBIDDEN");
      expectError(await get(carol, `${V1}/rooms/${enc("!nope:zion.test")}/threads`), 404, "M_NOT_FOUND");
      assert.equal(await eventCount(), before);
      const hiddenRoot = await say(alice, roomId, "before dave");
      ok(await post(dave, `${V3}/rooms/${enc(roomId)}/join`));
      const root = await say(alice, roomId, "root dave sees");
      const seen = await inThread(alice, roomId, root, "seen");
      ok(await post(dave, `${V3}/rooms/${enc(roomId)}/leave`));
      await inThread(alice, roomId, root, "hidden");
      await inThread(alice, roomId, hiddenRoot, "a reply dave cannot see either");
      ok(await post(dave, `${V3}/rooms/${enc(roomId)}/join`));
      const list = ok(await get(dave, `${V1}/rooms/${enc(roomId)}/threads`));
      assert.deepEqual(idsOf(list), [root], "the root dave cannot see is left out");
      assert.equal(((relationsOf((list["chunk"] as Json[])[0]!)["m.thread"] as Json)["latest_event"] as Json)["event_id"], seen);
    });
  });

  describe("the m.replace aggregation", () => {
    it("bundles the most recent valid edit, leaves the content alone, ignores other senders' edits, and drops a redacted edit", async () => {
      const roomId = await room();
      const original = await say(alice, roomId, "helo");
      const edit = (c: Client, body: string) => sendEvent(c, roomId, "m.room.message", { msgtype: "m.text", body: `* ${body}`, "m.new_content": { msgtype: "m.text", body }, "m.relates_to": { rel_type: "m.replace", event_id: original } });
      const e1 = await edit(alice, "hello");
      const e2 = await edit(alice, "hello!");
      await edit(bob, "bob's edit is not valid");
      await sendEvent(alice, roomId, "m.room.message", { body: "no new content", "m.relates_to": { rel_type: "m.replace", event_id: original } });
      const served = ok(await get(bob, `${V3}/rooms/${enc(roomId)}/event/${enc(original)}`));
      assert.equal((served["content"] as Json)["body"], "helo", "the server does not apply the edit");
      assert.equal((relationsOf(served)["m.replace"] as Json)["event_id"], e2);
      ok(await put(alice, `${V3}/rooms/${enc(roomId)}/redact/${enc(e2)}/r${now++}`, {}));
      const afterRedaction = ok(await get(bob, `${V3}/rooms/${enc(roomId)}/event/${enc(original)}`));
      assert.equal((relationsOf(afterRedaction)["m.replace"] as Json)["event_id"], e1, "the redacted edit no longer counts");
      ok(await put(alice, `${V3}/rooms/${enc(roomId)}/redact/${enc(original)}/r${now++}`, {}));
      assert.equal(relationsOf(ok(await get(bob, `${V3}/rooms/${enc(roomId)}/event/${enc(original)}`)))["m.replace"], undefined, "a redacted original bundles no edit");
    });
  });

  describe("GET /timestamp_to_event", () => {
    it("finds the event nearest a timestamp in either direction, among those the user may see", async () => {
      const roomId = await room({ public: true, visibility: "joined" });
      const early = await say(alice, roomId, "early");
      const earlyTs = ok(await get(alice, `${V3}/rooms/${enc(roomId)}/event/${enc(early)}`))["origin_server_ts"] as number;
      ok(await post(dave, `${V3}/rooms/${enc(roomId)}/join`));
      const later = await say(alice, roomId, "later");
      const laterTs = ok(await get(alice, `${V3}/rooms/${enc(roomId)}/event/${enc(later)}`))["origin_server_ts"] as number;
      const at = (c: Client, ts: number, dir: string) => get(c, `${V1}/rooms/${enc(roomId)}/timestamp_to_event?ts=${ts}&dir=${dir}`);
      assert.deepEqual(ok(await at(alice, earlyTs, "f")), { event_id: early, origin_server_ts: earlyTs });
      assert.deepEqual(ok(await at(alice, laterTs + 1, "b")), { event_id: later, origin_server_ts: laterTs });
      assert.ok((ok(await at(alice, earlyTs + 1, "f"))["origin_server_ts"] as number) > earlyTs);
      // dave joined after `early` (history visibility "joined"): he is given the nearest event he may see instead.
      const forDave = ok(await at(dave, earlyTs, "f"));
      assert.notEqual(forDave["event_id"], early);
      assert.ok((forDave["origin_server_ts"] as number) > earlyTs);
      const beforeForDave = ok(await at(dave, earlyTs, "b"));
      assert.notEqual(beforeForDave["event_id"], early);
      assert.ok((beforeForDave["origin_server_ts"] as number) < earlyTs, "an event from before the visibility setting (still shared then)");
      assert.equal(ok(await at(alice, earlyTs, "b"))["event_id"], early);
      expectError(await at(alice, laterTs + 1_000_000, "f"), 404, "M_NOT_FOUND");
    });

    it("refuses missing and bad parameters and non-members, writing nothing", async () => {
      const roomId = await room();
      const before = await eventCount();
      const q = (c: Client, query: string) => get(c, `${V1}/rooms/${enc(roomId)}/timestamp_to_event${query}`);
      assert.match(String(expectError(await q(bob, "?dir=f"), 400, "M_MISSING_PARAM")["error"]), /ts/);
      assert.match(String(expectError(await q(bob, "?ts=1"), 400, "M_MISSING_PARAM")["error"]), /dir/);
      assert.match(String(expectError(await q(bob, "?ts=soon&dir=f"), 400, "M_INVALID_PARAM")["error"]), /ts/);
      assert.match(String(expectError(await q(bob, "?ts=1&dir=up"), 400, "M_INVALID_PARAM")["error"]), /dir/);
      expectError(await q(carol, "?ts=1&dir=f"), 403, "M_FORBIDDEN");
      expectError(await get(bob, `${V1}/rooms/${enc("!nope:zion.test")}/timestamp_to_event?ts=1&dir=f`), 404, "M_NOT_FOUND");
      assert.equal(await eventCount(), before);
    });
  });

  describe("client transactions", () => {
    it("answers a repeated send with the first event id and stores one event (the txn record is written with the event)", async () => {
      const roomId = await room();
      const path = `${V3}/rooms/${enc(roomId)}/send/m.room.message/same-txn`;
      const [a, b] = await Promise.all([put(alice, path, { body: "once" }), put(alice, path, { body: "once" })]);
      assert.equal(ok(a)["event_id"], ok(b)["event_id"]);
      const stored = await zion.homeserver!.storage.roomClient.getClientTxn({ userId: alice.userId, deviceId: await deviceOf(alice), endpoint: "send", roomId, txnId: "same-txn" });
      assert.equal(stored, ok(a)["event_id"]);
      const events = await zion.homeserver!.storage.events.getRoomEventsBetween(roomId, 0, Number.MAX_SAFE_INTEGER, 1000);
      assert.equal(events.filter((e) => e.pdu.content["body"] === "once").length, 1);
    });
  });

  const deviceOf = async (c: Client) => ok(await get(c, `${V3}/account/whoami`))["device_id"] as string;
});
