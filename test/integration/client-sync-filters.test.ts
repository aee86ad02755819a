/**
 * GET /sync on a real Zion over loopback (SQLite), the parts of the spec's /sync the main suite
 * (client-sync.test.ts) does not reach: filters (`types` / `not_types` of every section, with `*` wildcards and
 * `not_*` winning; RoomFilter `rooms` / `not_rooms` and the inner filters' `not_rooms`), each given inline and as a
 * stored filter id, on initial and incremental syncs (a bad filter refused at upload); per-thread unread counts
 * (`unread_thread_notifications`) and threaded receipts; global and per-room account data; a local knock through its sections (knock, invite, leave);
 * a long-polling sync whose client disconnects; and the heroes' member events under lazy loading.
 * Rooms are set up through the server's own room pipeline (homeserver.rooms), the same path the room endpoints use;
 * what is under test goes over HTTP.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import { parseCreateRoomRequest } from "../../src/core/rooms/index.js";
import type { RoomId, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { clientCalls } from "../harness/client-calls.js";

const PASSWORD = "correct horse 1";
const generous = { per_second: 1000, burst_count: 1000 };
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- sync bodies are read field by field

const dir = mkdtempSync(join(tmpdir(), "zion-sync-filters-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const enc = encodeURIComponent;

describe("GET /sync filters, thread counts, account data, knocks, disconnects and heroes", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({
      config: { enable_registration: true, enable_registration_without_verification: true, rc_login: { address: generous, account: generous, failed_attempts: generous }, rc_registration: generous },
      storage: await openSqliteStorage({ path: join(dir, "homeserver.db") }),
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
  });
  after(() => zion?.stop());

  const { call, ok, expectError } = clientCalls(() => zion.clientUrl!);
  interface Session { userId: UserId; token: string }
  let n = 0;
  const run = Date.now() % 100_000;
  /** `name` sorts the user ids where a test needs an order (heroes); otherwise a fresh name. */
  const register = async (name = `f${++n}`): Promise<Session> => {
    const j = await ok(call("POST", "/_matrix/client/v3/register", { username: `${name}r${run}`, password: PASSWORD, auth: { type: "m.login.dummy" } }));
    return { userId: j["user_id"] as UserId, token: String(j["access_token"]) };
  };
  const hs = () => zion.homeserver!;
  const createRoom = (creator: UserId, body: Record<string, unknown> = {}): Promise<RoomId> =>
    hs().rooms.createRoom(creator, parseCreateRoomRequest({ preset: "public_chat", ...body }, creator, { defaultRoomVersion: "11" }));
  const say = (roomId: RoomId, sender: UserId, body: string, extra: Record<string, unknown> = {}) =>
    hs().rooms.send(roomId, { type: "m.room.message", sender, content: { msgtype: "m.text", body, ...extra } });
  const send = (roomId: RoomId, sender: UserId, type: string, content: JsonObject = {}, stateKey?: string) =>
    hs().rooms.send(roomId, { type, sender, content, ...(stateKey !== undefined ? { stateKey } : {}) });
  const sync = (s: Session, q = ""): Promise<J> => ok(call("GET", `/_matrix/client/v3/sync${q ? `?${q}` : ""}`, undefined, s.token));
  const untilWaiting = async (want: number, what: string): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (hs().notifier.waiting() !== want) {
      if (Date.now() > deadline) assert.fail(`${what}: ${hs().notifier.waiting()} syncs waiting, not ${want}, after a minute`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /**
   * A long poll that only something new can answer: it asks to wait the longest /sync waits (300 s), longer than the
   * call's own 90 s, so a poll nothing wakes fails here instead of answering at its timeout.
   */
  const longPoll = (s: Session, q: string): Promise<J> => ok(call("GET", `/_matrix/client/v3/sync?timeout=300000&set_presence=offline&${q}`, undefined, s.token, 90_000));
  /** The filter as both query forms /sync takes: inline JSON, and the id of the same filter stored for `s`. */
  const forms = async (s: Session, filter: J): Promise<{ name: string; q: string }[]> => {
    const stored = await ok(call("POST", `/_matrix/client/v3/user/${enc(s.userId)}/filter`, filter, s.token));
    return [{ name: "inline", q: `filter=${enc(JSON.stringify(filter))}` }, { name: `stored ${stored["filter_id"]}`, q: `filter=${enc(String(stored["filter_id"]))}` }];
  };
  const types = (events: J[] | undefined): string[] => (events ?? []).map((e) => String(e["type"]));
  const timelineTypes = (j: J, roomId: RoomId): string[] => types(j["rooms"]["join"][roomId]?.["timeline"]?.["events"]);

  describe("filters", () => {
    it("keeps the timeline events the types list matches (m.room.* a prefix wildcard) less not_types, inline and stored, initial and incremental", async () => {
      const a = await register();
      const roomId = await createRoom(a.userId);
      await say(roomId, a.userId, "one");
      await send(roomId, a.userId, "org.example.kept");
      await send(roomId, a.userId, "org.example.other");
      await send(roomId, a.userId, "m.roomy"); // not m.room.*: the wildcard does not eat the dot
      await send(roomId, a.userId, "m.room.topic", { topic: "t1" }, "");
      const filter = { room: { timeline: { limit: 50, types: ["m.room.*", "org.example.kept"], not_types: ["m.room.topic"] } } };
      const unfiltered = await sync(a, `filter=${enc(JSON.stringify({ room: { timeline: { limit: 50 } } }))}`);
      for (const t of ["m.room.message", "org.example.kept", "org.example.other", "m.roomy", "m.room.topic", "m.room.create"]) {
        assert.ok(timelineTypes(unfiltered, roomId).includes(t), `unfiltered has ${t}`);
      }
      for (const { name, q } of await forms(a, filter)) {
        const initial = await sync(a, q);
        const got = timelineTypes(initial, roomId);
        assert.ok(got.includes("m.room.create") && got.includes("m.room.member") && got.includes("m.room.message") && got.includes("org.example.kept"), `${name}: ${got}`);
        for (const t of ["org.example.other", "m.roomy", "m.room.topic"]) assert.ok(!got.includes(t), `${name}: ${t} filtered out: ${got}`);
        await say(roomId, a.userId, `two ${name}`);
        await send(roomId, a.userId, "m.room.topic", { topic: `t ${name}` }, "");
        await send(roomId, a.userId, "org.example.other");
        await send(roomId, a.userId, "org.example.kept");
        const inc = await sync(a, `${q}&since=${initial["next_batch"]}`);
        assert.deepEqual(timelineTypes(inc, roomId), ["m.room.message", "org.example.kept"], name);
      }
    });

    it("refuses a filter with a bad field at upload with 400 naming the field, and stores nothing", async () => {
      const a = await register();
      const upload = (f: J) => call("POST", `/_matrix/client/v3/user/${enc(a.userId)}/filter`, f, a.token);
      await expectError(upload({ room: { timeline: { limit: "ten" } } }), 400, "M_BAD_JSON", /room\.timeline\.limit/);
      await expectError(upload({ room: { state: { not_types: ["m.room.member", 7] } } }), 400, "M_BAD_JSON", /room\.state\.not_types\[1\]/);
      await expectError(upload({ room: { rooms: ["#alias:zion.test"] } }), 400, "M_INVALID_PARAM", /room\.rooms\[0\]/);
      await expectError(upload({ presence: { senders: ["nobody"] } }), 400, "M_INVALID_PARAM", /presence\.senders\[0\]/);
      const stored = await ok(upload({ room: { timeline: { limit: 5 } }, "org.example.unknown": true }));
      assert.equal(stored["filter_id"], "0", "the refused ones took no id");
      assert.deepEqual(await ok(call("GET", `/_matrix/client/v3/user/${enc(a.userId)}/filter/0`, undefined, a.token)), { room: { timeline: { limit: 5 } }, "org.example.unknown": true });
    });

    it("fills the timeline's limit with matching events when newer events do not match", async () => {
      const a = await register();
      const roomId = await createRoom(a.userId);
      const base = await sync(a);
      for (let i = 0; i < 3; i++) await say(roomId, a.userId, `m${i}`);
      for (let i = 0; i < 4; i++) await send(roomId, a.userId, "org.example.noise");
      for (const { name, q } of await forms(a, { room: { timeline: { limit: 2, types: ["m.room.message"] } } })) {
        const inc = await sync(a, `${q}&since=${base["next_batch"]}`);
        const timeline = inc["rooms"]["join"][roomId]["timeline"];
        assert.deepEqual(timeline["events"].map((e: J) => e["content"]["body"]), ["m1", "m2"], name);
        assert.equal(timeline["limited"], true, `${name}: m0 was left out`);
        const initial = await sync(a, q);
        assert.deepEqual(initial["rooms"]["join"][roomId]["timeline"]["events"].map((e: J) => e["content"]["body"]), ["m1", "m2"], `${name}, initial`);
      }
    });

    it("sends in state the state changes the timeline filter left out, though the timeline is not limited", async () => {
      const a = await register();
      const roomId = await createRoom(a.userId);
      for (const { name, q } of await forms(a, { room: { timeline: { types: ["m.room.message"] } } })) {
        const base = await sync(a, q);
        await send(roomId, a.userId, "m.room.topic", { topic: `hidden ${name}` }, "");
        await say(roomId, a.userId, `after ${name}`);
        const room = (await sync(a, `${q}&since=${base["next_batch"]}`))["rooms"]["join"][roomId];
        assert.deepEqual(room["timeline"]["events"].map((e: J) => e["content"]["body"]), [`after ${name}`]);
        assert.equal(room["timeline"]["limited"], false);
        assert.deepEqual(room["state"]["events"].map((e: J) => [e["type"], e["content"]["topic"]]), [["m.room.topic", `hidden ${name}`]], name);
      }
    });

    it("keeps the state events the state filter's types match less not_types, on an initial and a limited incremental sync", async () => {
      const a = await register();
      const b = await register();
      const roomId = await createRoom(a.userId);
      await hs().rooms.join(roomId, b.userId);
      await send(roomId, a.userId, "m.room.topic", { topic: "before" }, "");
      await send(roomId, a.userId, "org.example.state", { x: 1 }, "");
      await say(roomId, a.userId, "last");
      const filter = { room: { timeline: { limit: 1 }, state: { types: ["m.room.*"], not_types: ["m.room.member"] } } };
      const unfiltered = types((await sync(a, `filter=${enc(JSON.stringify({ room: { timeline: { limit: 1 } } }))}`))["rooms"]["join"][roomId]["state"]["events"]);
      assert.ok(unfiltered.includes("m.room.member") && unfiltered.includes("org.example.state"), `${unfiltered}`);
      for (const { name, q } of await forms(a, filter)) {
        const initial = await sync(a, q);
        const state = types(initial["rooms"]["join"][roomId]["state"]["events"]);
        assert.ok(state.includes("m.room.create") && state.includes("m.room.topic") && state.includes("m.room.power_levels"), `${name}: ${state}`);
        assert.ok(!state.includes("m.room.member") && !state.includes("org.example.state"), `${name}: ${state}`);
        const c = await register();
        await hs().rooms.join(roomId, c.userId);
        await send(roomId, a.userId, "m.room.topic", { topic: `during ${name}` }, "");
        await send(roomId, a.userId, "org.example.state", { x: 2 }, "");
        await say(roomId, a.userId, "m1");
        await say(roomId, a.userId, "m2");
        const inc = await sync(a, `${q}&since=${initial["next_batch"]}`);
        const room = inc["rooms"]["join"][roomId];
        assert.equal(room["timeline"]["limited"], true);
        assert.deepEqual(room["state"]["events"].map((e: J) => [e["type"], e["content"]["topic"]]), [["m.room.topic", `during ${name}`]], name);
      }
    });

    it("filters ephemeral events, per-room and global account data and presence by types and not_types, inline and stored, initial and incremental", async () => {
      const a = await register();
      const b = await register();
      const roomId = await createRoom(a.userId);
      await hs().rooms.join(roomId, b.userId);
      await sync(b); // b comes online: presence a is told of
      const ev = await say(roomId, b.userId, "read me");
      const typing = (on: boolean) => ok(call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(b.userId)}`, on ? { typing: true, timeout: 30000 } : { typing: false }, b.token));
      const setAll = async (v: number) => {
        await typing(v % 2 === 1);
        await ok(call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(ev.eventId)}`, {}, v === 1 ? b.token : a.token));
        for (const t of ["m.tag", "org.example.room"]) await ok(call("PUT", `/_matrix/client/v3/user/${enc(a.userId)}/rooms/${enc(roomId)}/account_data/${t}`, t === "m.tag" ? { tags: { [`u.${v}`]: {} } } : { v }, a.token));
        for (const t of ["org.example.shown", "org.example.hidden", "m.other"]) await ok(call("PUT", `/_matrix/client/v3/user/${enc(a.userId)}/account_data/${t}`, { v }, a.token));
        await ok(call("PUT", `/_matrix/client/v3/presence/${enc(b.userId)}/status`, { presence: "online", status_msg: `v${v}` }, b.token));
      };
      await setAll(1);
      const filter = {
        room: { ephemeral: { types: ["m.receipt"] }, account_data: { not_types: ["org.example.*"] } },
        account_data: { types: ["org.example.*"], not_types: ["org.example.hidden"] },
        presence: { not_types: ["m.presence"] },
      };
      const check = (j: J, what: string) => {
        const room = j["rooms"]["join"][roomId];
        assert.deepEqual(types(room["ephemeral"]["events"]), ["m.receipt"], what);
        assert.deepEqual(types(room["account_data"]["events"]), ["m.tag"], what);
        assert.deepEqual(types(j["account_data"]["events"]), ["org.example.shown"], what);
        assert.deepEqual(j["presence"]["events"], [], what);
      };
      const base = await sync(a, "set_presence=offline");
      const all = (j: J, what: string) => {
        const room = j["rooms"]["join"][roomId];
        assert.deepEqual(types(room["ephemeral"]["events"]).sort(), ["m.receipt", "m.typing"], what);
        assert.deepEqual(types(room["account_data"]["events"]).sort(), ["m.tag", "org.example.room"], what);
        assert.ok(["org.example.shown", "org.example.hidden", "m.other"].every((t) => types(j["account_data"]["events"]).includes(t)), what);
        assert.ok(j["presence"]["events"].some((e: J) => e["sender"] === b.userId), what);
      };
      all(base, "unfiltered initial");
      let v = 1;
      for (const { name, q } of await forms(a, filter)) {
        const initial = await sync(a, `${q}&set_presence=offline`);
        check(initial, `${name}, initial`);
        await setAll(++v);
        all(await sync(a, `since=${initial["next_batch"]}&set_presence=offline`), `${name}: unfiltered incremental`);
        check(await sync(a, `${q}&since=${initial["next_batch"]}&set_presence=offline`), `${name}, incremental`);
      }
      // The opposite lists: what was left out is now the only thing kept.
      const opposite = await sync(a, `filter=${enc(JSON.stringify({ room: { ephemeral: { not_types: ["m.receipt"] }, account_data: { types: ["org.example.*"] } }, account_data: { not_types: ["org.*"] }, presence: { types: ["m.*"] } }))}&set_presence=offline`);
      const room = opposite["rooms"]["join"][roomId];
      assert.deepEqual(types(room["ephemeral"]["events"]), ["m.typing"]);
      assert.deepEqual(types(room["account_data"]["events"]), ["org.example.room"]);
      assert.ok(types(opposite["account_data"]["events"]).includes("m.other") && !types(opposite["account_data"]["events"]).some((t) => t.startsWith("org.")));
      assert.ok(opposite["presence"]["events"].some((e: J) => e["sender"] === b.userId));
    });

    it("includes only the rooms of RoomFilter.rooms less not_rooms in every section, and applies the inner filters' not_rooms", async () => {
      const a = await register();
      const b = await register();
      const [r1, r2, r3, left, invitedTo] = [await createRoom(a.userId), await createRoom(b.userId), await createRoom(b.userId), await createRoom(b.userId), await createRoom(b.userId)];
      for (const r of [r2, r3, left]) await hs().rooms.join(r, a.userId);
      await hs().rooms.join(r1, b.userId);
      const filter = { room: { rooms: [r1, r2, left, invitedTo], not_rooms: [r2], include_leave: true } };
      const unfiltered = await sync(a);
      assert.ok([r1, r2, r3, left].every((r) => unfiltered["rooms"]["join"][r]));
      for (const { name, q } of await forms(a, filter)) {
        const initial = await sync(a, q);
        assert.deepEqual(Object.keys(initial["rooms"]["join"]).sort(), [r1, left].sort(), `${name}: only r1 and left; r2 is in not_rooms too, r3 not in rooms`);
        for (const r of [r1, r2, r3]) await say(r, b.userId, `hello ${name}`);
        const inc = await sync(a, `${q}&since=${initial["next_batch"]}`);
        assert.deepEqual(Object.keys(inc["rooms"]["join"]), [r1], name);
      }
      const before = await sync(a);
      await hs().rooms.setMembership(left, a.userId, a.userId, "leave");
      await hs().rooms.setMembership(r3, a.userId, a.userId, "leave");
      await hs().rooms.invite(invitedTo, b.userId, a.userId);
      await hs().rooms.invite(r2, b.userId, (await register()).userId);
      const all = await sync(a, `since=${before["next_batch"]}`);
      assert.ok(all["rooms"]["leave"][left] && all["rooms"]["leave"][r3] && all["rooms"]["invite"][invitedTo], "unfiltered: both leaves and the invite");
      for (const { name, q } of await forms(a, filter)) {
        const inc = await sync(a, `${q}&since=${before["next_batch"]}`);
        assert.deepEqual(Object.keys(inc["rooms"]["leave"]), [left], name);
        assert.deepEqual(Object.keys(inc["rooms"]["invite"]), [invitedTo], name);
        assert.deepEqual(Object.keys(inc["rooms"]["join"]), [], `${name}: r2's new member is in not_rooms`);
      }
      // The inner filters' not_rooms: r1's typing and account data are left out, r2's kept.
      const base = await sync(a);
      for (const r of [r1, r2]) {
        await ok(call("PUT", `/_matrix/client/v3/rooms/${enc(r)}/typing/${enc(b.userId)}`, { typing: true, timeout: 30000 }, b.token));
        await ok(call("PUT", `/_matrix/client/v3/user/${enc(a.userId)}/rooms/${enc(r)}/account_data/m.tag`, { tags: { "u.x": {} } }, a.token));
      }
      const inner = { room: { ephemeral: { not_rooms: [r1] }, account_data: { not_rooms: [r1] }, timeline: { not_rooms: [r1] } } };
      for (const { name, q } of await forms(a, inner)) {
        const inc = await sync(a, `${q}&since=${base["next_batch"]}`);
        assert.deepEqual(types(inc["rooms"]["join"][r2]?.["ephemeral"]["events"]), ["m.typing"], name);
        assert.deepEqual(types(inc["rooms"]["join"][r2]?.["account_data"]["events"]), ["m.tag"], name);
        assert.deepEqual(types(inc["rooms"]["join"][r1]?.["ephemeral"]["events"]), [], name);
        assert.deepEqual(types(inc["rooms"]["join"][r1]?.["account_data"]["events"]), [], name);
      }
    });

    it("leaves out of an incremental sync a room whose new events the filter all excludes, and keeps a long poll waiting through them", async () => {
      const a = await register();
      const roomId = await createRoom(a.userId);
      const filter = { room: { timeline: { not_types: ["org.example.noise"] } } };
      for (const { name, q } of await forms(a, filter)) {
        const base = await sync(a, `${q}&set_presence=offline`);
        await send(roomId, a.userId, "org.example.noise");
        const quiet = await sync(a, `${q}&since=${base["next_batch"]}&set_presence=offline`);
        assert.equal(quiet["rooms"]["join"][roomId], undefined, `${name}: ${JSON.stringify(quiet["rooms"]["join"][roomId])}`);
        const waiting = longPoll(a, `${q}&since=${quiet["next_batch"]}`);
        await untilWaiting(1, `${name}: the long poll`);
        await send(roomId, a.userId, "org.example.noise");
        await say(roomId, a.userId, `signal ${name}`);
        const j = await waiting;
        assert.deepEqual(timelineTypes(j, roomId), ["m.room.message"], name);
      }
    });
  });

  describe("unread_thread_notifications", () => {
    it("counts each thread apart with the flag, everything in the room's counts without it, and a threaded receipt clears only its thread", async () => {
      const a = await register();
      const b = await register();
      const roomId = await createRoom(a.userId);
      await hs().rooms.join(roomId, b.userId);
      await hs().rooms.join(roomId, (await register()).userId); // three members: messages notify through the default underride
      const root = await say(roomId, a.userId, "root");
      await say(roomId, a.userId, "main two");
      const inThread = (body: string, extra: Record<string, unknown> = {}) => say(roomId, a.userId, body, { "m.relates_to": { rel_type: "m.thread", event_id: root.eventId }, ...extra });
      const t1 = await inThread("t1");
      await inThread("t2", { "m.mentions": { user_ids: [b.userId] } });
      const perThread = `filter=${enc(JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } }))}`;
      const stored = await ok(call("POST", `/_matrix/client/v3/user/${enc(b.userId)}/filter`, { room: { timeline: { unread_thread_notifications: true } } }, b.token));
      const counts = async (q: string): Promise<J> => {
        const room = (await sync(b, q))["rooms"]["join"][roomId];
        return { room: room["unread_notifications"], threads: room["unread_thread_notifications"] };
      };
      assert.deepEqual(await counts(""), { room: { notification_count: 4, highlight_count: 1 }, threads: undefined }, "without the flag: thread events in the room's counts");
      for (const q of [perThread, `filter=${stored["filter_id"]}`]) {
        assert.deepEqual(await counts(q), { room: { notification_count: 2, highlight_count: 0 }, threads: { [root.eventId]: { notification_count: 2, highlight_count: 1 } } }, q);
      }
      await ok(call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(t1.eventId)}`, { thread_id: root.eventId }, b.token));
      assert.deepEqual(await counts(perThread), { room: { notification_count: 2, highlight_count: 0 }, threads: { [root.eventId]: { notification_count: 1, highlight_count: 1 } } }, "the threaded receipt cleared t1 only");
      assert.deepEqual(await counts(""), { room: { notification_count: 3, highlight_count: 1 }, threads: undefined }, "without the flag the thread's receipt clears t1 too");
      await ok(call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(root.eventId)}`, { thread_id: "main" }, b.token));
      assert.deepEqual(await counts(perThread), { room: { notification_count: 1, highlight_count: 0 }, threads: { [root.eventId]: { notification_count: 1, highlight_count: 1 } } }, "the main receipt leaves the thread alone");
      const t3 = await inThread("t3");
      const base = await sync(b, perThread);
      assert.deepEqual(base["rooms"]["join"][roomId]["unread_thread_notifications"], { [root.eventId]: { notification_count: 2, highlight_count: 1 } });
      await ok(call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(t3.eventId)}`, { thread_id: root.eventId }, b.token));
      const inc = await sync(b, `${perThread}&since=${base["next_batch"]}`);
      assert.deepEqual(inc["rooms"]["join"][roomId]["unread_thread_notifications"], {}, "an incremental sync after the thread's receipt: the thread has nothing unread");
      assert.deepEqual(inc["rooms"]["join"][roomId]["unread_notifications"], { notification_count: 1, highlight_count: 0 });
      // A main-timeline receipt on an event after a thread's newest reply leaves that reply unread.
      await inThread("t4");
      const main3 = await say(roomId, a.userId, "main three");
      await ok(call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(main3.eventId)}`, { thread_id: "main" }, b.token));
      assert.deepEqual(await counts(perThread), { room: { notification_count: 0, highlight_count: 0 }, threads: { [root.eventId]: { notification_count: 1, highlight_count: 0 } } });
      assert.deepEqual(await counts(""), { room: { notification_count: 1, highlight_count: 0 }, threads: undefined });
      // An unthreaded receipt reads everything up to its event, threads included.
      await ok(call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(main3.eventId)}`, {}, b.token));
      assert.deepEqual(await counts(perThread), { room: { notification_count: 0, highlight_count: 0 }, threads: {} });
    });
  });

  describe("account data", () => {
    it("sends global account data on initial and incremental syncs with the latest content, wakes a long poll, and per-room data in the room", async () => {
      const a = await register();
      const roomId = await createRoom(a.userId);
      const put = (type: string, content: J) => ok(call("PUT", `/_matrix/client/v3/user/${enc(a.userId)}/account_data/${type}`, content, a.token));
      const putRoom = (type: string, content: J) => ok(call("PUT", `/_matrix/client/v3/user/${enc(a.userId)}/rooms/${enc(roomId)}/account_data/${type}`, content, a.token));
      await put("org.example.one", { v: 1 });
      await put("org.example.one", { v: 2 });
      await putRoom("org.example.room", { r: 1 });
      const initial = await sync(a, "set_presence=offline");
      assert.deepEqual(initial["account_data"]["events"].filter((e: J) => e["type"] === "org.example.one"), [{ type: "org.example.one", content: { v: 2 } }], "once, the latest content");
      assert.deepEqual(initial["rooms"]["join"][roomId]["account_data"]["events"], [{ type: "org.example.room", content: { r: 1 } }]);
      const quiet = await sync(a, `since=${initial["next_batch"]}&set_presence=offline`);
      assert.deepEqual(quiet["account_data"]["events"], [], "nothing changed");
      const waiting = longPoll(a, `since=${quiet["next_batch"]}`);
      await untilWaiting(1, "a's long poll");
      await put("org.example.two", { v: 1 });
      const woken = await waiting;
      assert.deepEqual(woken["account_data"]["events"], [{ type: "org.example.two", content: { v: 1 } }]);
      await put("org.example.one", { v: 3 });
      await put("org.example.one", { v: 4 });
      await putRoom("org.example.room", { r: 2 });
      const inc = await sync(a, `since=${woken["next_batch"]}&set_presence=offline`);
      assert.deepEqual(inc["account_data"]["events"], [{ type: "org.example.one", content: { v: 4 } }]);
      assert.deepEqual(inc["rooms"]["join"][roomId]["account_data"]["events"], [{ type: "org.example.room", content: { r: 2 } }]);
      const roomWait = longPoll(a, `since=${inc["next_batch"]}`);
      await untilWaiting(1, "a's second long poll");
      await putRoom("m.tag", { tags: { "u.work": {} } });
      const roomWoken = await roomWait;
      assert.deepEqual(roomWoken["rooms"]["join"][roomId]["account_data"]["events"], [{ type: "m.tag", content: { tags: { "u.work": {} } } }]);
      assert.deepEqual(roomWoken["account_data"]["events"], []);
    });
  });

  describe("a local knock", () => {
    it("shows the knocker the room under knock with stripped state, then under invite once invited; the members see the knock", async () => {
      const host = await register();
      const knocker = await register();
      const roomId = await createRoom(host.userId, { preset: "private_chat", room_version: "10", name: "knock here", topic: "come in", initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }] });
      const hostBase = await sync(host);
      const base = await sync(knocker);
      assert.equal(base["rooms"]["knock"][roomId], undefined);
      const k = await ok(call("POST", `/_matrix/client/v3/knock/${enc(roomId)}`, { reason: "let me in" }, knocker.token));
      assert.equal(typeof k["room_id"], "string");
      const knocked = await sync(knocker, `since=${base["next_batch"]}`);
      const state: J[] = knocked["rooms"]["knock"][roomId]["knock_state"]["events"];
      assert.deepEqual(state.find((e) => e["type"] === "m.room.name")?.["content"], { name: "knock here" });
      assert.deepEqual(state.find((e) => e["type"] === "m.room.join_rules")?.["content"], { join_rule: "knock" });
      assert.ok(state.some((e) => e["type"] === "m.room.create"));
      const own = state.find((e) => e["type"] === "m.room.member" && e["state_key"] === knocker.userId);
      assert.equal(own?.["content"]["membership"], "knock");
      assert.equal(own?.["content"]["reason"], "let me in");
      assert.equal(knocked["rooms"]["join"][roomId], undefined);
      assert.deepEqual((await sync(knocker))["rooms"]["knock"][roomId]?.["knock_state"]["events"].length, state.length, "an initial sync lists the knock too");
      const seen = await sync(host, `since=${hostBase["next_batch"]}`);
      const knockEvent = seen["rooms"]["join"][roomId]["timeline"]["events"].find((e: J) => e["type"] === "m.room.member" && e["state_key"] === knocker.userId);
      assert.equal(knockEvent?.["content"]["membership"], "knock");
      await ok(call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: knocker.userId }, host.token));
      const invited = await sync(knocker, `since=${knocked["next_batch"]}`);
      assert.equal(invited["rooms"]["knock"][roomId], undefined);
      const inviteState: J[] = invited["rooms"]["invite"][roomId]["invite_state"]["events"];
      assert.equal(inviteState.find((e) => e["type"] === "m.room.member" && e["state_key"] === knocker.userId)?.["content"]["membership"], "invite");
      const initial = await sync(knocker);
      assert.equal(initial["rooms"]["knock"][roomId], undefined, "no longer a knock on an initial sync");
      assert.ok(initial["rooms"]["invite"][roomId]);
    });

    it("moves a refused knock (kick) and a withdrawn one (leave) to the leave section, and wakes the knocker's long poll", async () => {
      const host = await register();
      const roomId = await createRoom(host.userId, { preset: "private_chat", room_version: "10", initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }] });
      for (const how of ["kick", "leave"] as const) {
        const knocker = await register();
        await ok(call("POST", `/_matrix/client/v3/knock/${enc(roomId)}`, {}, knocker.token));
        const base = await sync(knocker, "set_presence=offline");
        assert.ok(base["rooms"]["knock"][roomId], how);
        const waiting = longPoll(knocker, `since=${base["next_batch"]}`);
        await untilWaiting(1, `${how}: the knocker's long poll`);
        if (how === "kick") await ok(call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: knocker.userId, reason: "no" }, host.token));
        else await ok(call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {}, knocker.token));
        const j = await waiting;
        assert.equal(j["rooms"]["knock"][roomId], undefined, how);
        const left = j["rooms"]["leave"][roomId];
        assert.ok(left, `${how}: ${JSON.stringify(j["rooms"])}`);
        // (Its timeline holds what the knocker may see: under `shared` history nothing of a room it never joined,
        // its own knock and leave included, as the history visibility rules read; Synapse shows them.)
        assert.equal((await sync(knocker))["rooms"]["knock"][roomId], undefined, `${how}: gone from an initial sync`);
      }
    });
  });

  describe("a client that disconnects", () => {
    it("releases a long-polling sync on the server as soon as its client closes the connection, and the next sync works", async () => {
      const a = await register();
      const roomId = await createRoom(a.userId);
      const base = await sync(a, "set_presence=offline");
      assert.equal(hs().notifier.waiting(), 0);
      const url = new URL(`${zion.clientUrl}/_matrix/client/v3/sync?timeout=300000&set_presence=offline&since=${enc(base["next_batch"])}`);
      const req = request({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers: { authorization: `Bearer ${a.token}` }, agent: false });
      const closed = new Promise<string>((resolve) => {
        req.on("error", (e) => resolve(e.message));
        req.on("response", () => resolve("answered"));
      });
      req.end();
      await untilWaiting(1, "the long poll");
      req.destroy(); // the client goes away
      // Released well before the 300 s it asked for: a waiter left behind would keep this at 1 for five minutes.
      await untilWaiting(0, "after the client closed its connection");
      assert.notEqual(await closed, "answered");
      await say(roomId, a.userId, "after");
      const next = await sync(a, `since=${base["next_batch"]}&set_presence=offline`);
      assert.deepEqual(timelineTypes(next, roomId), ["m.room.message"]);
      const waiting = longPoll(a, `since=${next["next_batch"]}`);
      await untilWaiting(1, "a new long poll");
      await say(roomId, a.userId, "wake");
      assert.deepEqual((await waiting)["rooms"]["join"][roomId]["timeline"]["events"].map((e: J) => e["content"]["body"]), ["wake"]);
    });
  });

  describe("heroes under lazy loading", () => {
    const LAZY = enc(JSON.stringify({ room: { state: { lazy_load_members: true } } }));
    const REDUNDANT = enc(JSON.stringify({ room: { state: { lazy_load_members: true, include_redundant_members: true } } }));
    const membersIn = (j: J, roomId: RoomId): string[] =>
      (j["rooms"]["join"][roomId]?.["state"]?.["events"] ?? []).filter((e: J) => e["type"] === "m.room.member").map((e: J) => String(e["state_key"])).sort();

    it("puts the heroes' member events in state on an initial lazy sync of a room with no name, though they sent nothing", async () => {
      const tag = `h${++n}`;
      const viewer = await register(`${tag}z`);
      const others = [];
      for (const c of ["a", "b", "c", "d", "e", "f"]) others.push(await register(`${tag}${c}`));
      const roomId = await createRoom(viewer.userId);
      for (const o of others) await hs().rooms.join(roomId, o.userId);
      for (let i = 0; i < 12; i++) await say(roomId, viewer.userId, `v${i}`); // the timeline holds only the viewer's messages
      const initial = await sync(viewer, `filter=${LAZY}`);
      const room = initial["rooms"]["join"][roomId];
      const heroes = others.slice(0, 5).map((o) => o.userId);
      assert.deepEqual(room["summary"]["m.heroes"], heroes);
      assert.deepEqual(types(room["timeline"]["events"]).filter((t) => t !== "m.room.message"), [], "no member events in the timeline");
      assert.deepEqual(membersIn(initial, roomId), [...heroes, viewer.userId].sort(), "the heroes and the viewer; not the sixth member");
      const stateAfter = await sync(viewer, `filter=${LAZY}&use_state_after=true`);
      const after = stateAfter["rooms"]["join"][roomId]["state_after"]["events"].filter((e: J) => e["type"] === "m.room.member").map((e: J) => e["state_key"]).sort();
      assert.deepEqual(after, [...heroes, viewer.userId].sort(), "the same under state_after");
      // A named room has no heroes (m.heroes is required only without a name or alias), so no members beyond the senders.
      await send(roomId, viewer.userId, "m.room.name", { name: "named now" }, "");
      for (let i = 0; i < 12; i++) await say(roomId, viewer.userId, `n${i}`);
      const named = await sync(viewer, `filter=${LAZY}`);
      assert.equal(named["rooms"]["join"][roomId]["summary"]["m.heroes"], undefined);
      assert.equal(named["rooms"]["join"][roomId]["summary"]["m.joined_member_count"], 7);
      assert.deepEqual(membersIn(named, roomId), [viewer.userId]);
    });

    it("names the members who left as heroes when no one else is joined or invited, with their leave under lazy loading", async () => {
      const tag = `h${++n}`;
      const viewer = await register(`${tag}z`);
      const [gone, banned] = [await register(`${tag}a`), await register(`${tag}b`)];
      const roomId = await createRoom(viewer.userId);
      for (const u of [gone, banned]) await hs().rooms.join(roomId, u.userId);
      await hs().rooms.setMembership(roomId, gone.userId, gone.userId, "leave");
      await hs().rooms.setMembership(roomId, viewer.userId, banned.userId, "ban");
      for (let i = 0; i < 12; i++) await say(roomId, viewer.userId, `v${i}`);
      const initial = await sync(viewer, `filter=${LAZY}`);
      const room = initial["rooms"]["join"][roomId];
      assert.deepEqual(room["summary"], { "m.heroes": [gone.userId, banned.userId], "m.joined_member_count": 1, "m.invited_member_count": 0 });
      const members = room["state"]["events"].filter((e: J) => e["type"] === "m.room.member").map((e: J) => [e["state_key"], e["content"]["membership"]]);
      assert.deepEqual(members.sort(), [[banned.userId, "ban"], [gone.userId, "leave"], [viewer.userId, "join"]].sort());
    });

    it("on an incremental sync that sends the summary, adds the member events of heroes the device was not sent, and with include_redundant_members all of them", async () => {
      const tag = `h${++n}`;
      const viewer = await register(`${tag}z`);
      const others = [];
      for (const c of ["b", "c", "d", "e", "f", "g"]) others.push(await register(`${tag}${c}`));
      const roomId = await createRoom(viewer.userId);
      for (const o of others) await hs().rooms.join(roomId, o.userId);
      for (let i = 0; i < 12; i++) await say(roomId, viewer.userId, `v${i}`);
      const initial = await sync(viewer, `filter=${LAZY}`);
      assert.deepEqual(initial["rooms"]["join"][roomId]["summary"]["m.heroes"], others.slice(0, 5).map((o) => o.userId));
      // The first hero leaves: the sixth member becomes a hero, and the summary is sent again (a member event in the timeline).
      await hs().rooms.setMembership(roomId, others[0]!.userId, others[0]!.userId, "leave");
      for (let i = 0; i < 12; i++) await say(roomId, viewer.userId, `w${i}`); // the leave falls out of a limited timeline
      const inc = await sync(viewer, `filter=${LAZY}&since=${initial["next_batch"]}`);
      const room = inc["rooms"]["join"][roomId];
      assert.equal(room["timeline"]["limited"], true);
      const newHeroes = others.slice(1, 6).map((o) => o.userId);
      assert.deepEqual(room["summary"]?.["m.heroes"], newHeroes, JSON.stringify(room["summary"]));
      const members = membersIn(inc, roomId);
      assert.ok(members.includes(others[5]!.userId), `the new hero's member event: ${members}`);
      for (const o of others.slice(1, 5)) assert.ok(!members.includes(o.userId), `hero ${o.userId} was sent already: ${members}`);
      const redundant = await sync(viewer, `filter=${REDUNDANT}&since=${initial["next_batch"]}`);
      const all = membersIn(redundant, roomId);
      for (const h of newHeroes) assert.ok(all.includes(h), `include_redundant_members sends hero ${h}: ${all}`);
    });
  });
});
