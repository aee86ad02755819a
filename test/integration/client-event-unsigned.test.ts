/**
 * What Zion adds to `unsigned` of the events it serves, on a real Zion over loopback, on SQLite and PostgreSQL
 * (migration 0024 indexes client transactions by event):
 *
 * - `transaction_id` (https://spec.matrix.org/v1.16/client-server-api/#transaction-identifiers): an event sent with
 *   PUT /send (or /redact) carries its txn id when served to the device that sent it, in /sync, sliding sync,
 *   /messages, /event and /context; another device of the same user and other users never see it.
 * - `replaces_state`, `prev_content` and `prev_sender` on a state event that replaced an earlier entry of its
 *   (type, state_key) (what Element words a display-name change from); none on a first join. A replaced event
 *   that was redacted gives its redacted content.
 * - /sync timelines serve redacted events in their redacted form with `redacted_because`.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../src/core/clock.js";
import type { RoomId } from "../../src/core/ids/index.js";
import { backendDatabases } from "../harness/postgres.js";
import type { TestServer } from "../harness/server.js";
import { okJson as ok, startRoomsServer, type RoomsClient as Client } from "../harness/rooms-server.js";

let now = 1_767_000_000_000;
const clock: Clock = { now: () => now++, sleep: async () => {} };
const databases = backendDatabases("zion_event_unsigned");
after(() => databases.stop());

const enc = encodeURIComponent;
const V3 = "/_matrix/client/v3";
const SSS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are read field by field

for (const backend of ["sqlite", "postgres"] as const)
describe(`unsigned fields of served events (${backend})`, () => {
  let zion: TestServer;
  let call: Awaited<ReturnType<typeof startRoomsServer>>["call"];
  /** alice's first device, alice's second device, bob. */
  let alice: Client, alice2: Client, bob: Client;
  before(async () => {
    const s = await startRoomsServer(await databases.config(backend), clock);
    zion = s.zion;
    call = s.call;
    [alice, bob] = await Promise.all(["alice", "bob"].map((u) => s.register(u))) as [Client, Client];
    const login = ok(await call("POST", `${V3}/login`, { type: "m.login.password", identifier: { type: "m.id.user", user: "alice" }, password: "correct horse 1" }));
    alice2 = { userId: alice.userId, token: String(login["access_token"]) };
  });
  after(() => zion?.stop());

  const get = (c: Client, path: string): Promise<J> => call("GET", path, undefined, c.token).then(ok);
  const put = (c: Client, path: string, body: unknown): Promise<J> => call("PUT", path, body, c.token).then(ok);
  const post = (c: Client, path: string, body: unknown = {}): Promise<J> => call("POST", path, body, c.token).then(ok);
  const createRoom = async (c: Client): Promise<RoomId> => (await post(c, `${V3}/createRoom`, { preset: "public_chat" }))["room_id"] as RoomId;
  const send = async (c: Client, roomId: RoomId, txnId: string, body: string): Promise<string> =>
    (await put(c, `${V3}/rooms/${enc(roomId)}/send/m.room.message/${enc(txnId)}`, { msgtype: "m.text", body }))["event_id"];
  const wide = enc(JSON.stringify({ room: { timeline: { limit: 50 } } }));
  const sync = (c: Client, since?: string): Promise<J> => get(c, `${V3}/sync?timeout=0&filter=${wide}${since ? `&since=${enc(since)}` : ""}`);
  const timeline = (body: J, roomId: RoomId): J[] => body["rooms"]["join"][roomId]?.["timeline"]["events"] ?? [];
  const messages = async (c: Client, roomId: RoomId): Promise<J[]> => (await get(c, `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=50`))["chunk"];
  const event = (c: Client, roomId: RoomId, id: string): Promise<J> => get(c, `${V3}/rooms/${enc(roomId)}/event/${enc(id)}`);
  const context = async (c: Client, roomId: RoomId, id: string): Promise<J> => (await get(c, `${V3}/rooms/${enc(roomId)}/context/${enc(id)}?limit=4`))["event"];
  const sliding = async (c: Client, roomId: RoomId): Promise<J[]> =>
    (await post(c, SSS, { lists: { all: { ranges: [[0, 9]], timeline_limit: 20, required_state: [] } } }))["rooms"][roomId]["timeline"] ?? [];
  const byId = (events: J[], id: string): J => {
    const e = events.find((x) => x["event_id"] === id);
    assert.ok(e, `${id} among ${events.map((x) => x["event_id"]).join(", ")}`);
    return e;
  };
  /** The event as each read serves it to `c`: /sync (initial), sliding sync, /messages, /event, /context. */
  const everywhere = async (c: Client, roomId: RoomId, id: string): Promise<[string, J][]> => [
    ["/sync", byId(timeline(await sync(c), roomId), id)],
    ["sliding sync", byId(await sliding(c, roomId), id)],
    ["/messages", byId(await messages(c, roomId), id)],
    ["/event", await event(c, roomId, id)],
    ["/context", await context(c, roomId, id)],
  ];

  it("shows transaction_id to the device that sent the event, in every read, and to no other device or user", async () => {
    const roomId = await createRoom(alice);
    await post(bob, `${V3}/join/${enc(roomId)}`);
    const sent = await send(alice, roomId, "txn-alice-1", "from the first device");
    for (const [where, e] of await everywhere(alice, roomId, sent)) assert.equal(e["unsigned"]?.["transaction_id"], "txn-alice-1", `${where}: ${JSON.stringify(e)}`);
    for (const [who, c] of [["alice's other device", alice2], ["bob", bob]] as const) {
      for (const [where, e] of await everywhere(c, roomId, sent)) assert.equal(e["unsigned"]?.["transaction_id"], undefined, `${who}, ${where}: ${JSON.stringify(e)}`);
    }
    // The second device's own send is its own; the first device sees no txn id on it.
    const second = await send(alice2, roomId, "txn-alice-2", "from the second device");
    assert.equal((await event(alice2, roomId, second))["unsigned"]["transaction_id"], "txn-alice-2");
    assert.equal((await event(alice, roomId, second))["unsigned"]["transaction_id"], undefined);
  });

  it("shows transaction_id in an incremental /sync and on a redaction sent with PUT /redact", async () => {
    const roomId = await createRoom(alice);
    const start = await sync(alice);
    const target = await send(alice, roomId, "txn-target", "to be redacted");
    const redaction = (await put(alice, `${V3}/rooms/${enc(roomId)}/redact/${enc(target)}/txn-redact`, { reason: "oops" }))["event_id"];
    const next = timeline(await sync(alice, start["next_batch"]), roomId);
    assert.equal(byId(next, target)["unsigned"]["transaction_id"], "txn-target");
    assert.equal(byId(next, redaction)["unsigned"]["transaction_id"], "txn-redact");
    const other = timeline(await sync(alice2, start["next_batch"]), roomId);
    assert.equal(byId(other, redaction)["unsigned"]["transaction_id"], undefined);
  });

  it("serves a redacted event in /sync in its redacted form with redacted_because", async () => {
    const roomId = await createRoom(alice);
    const target = await send(alice, roomId, "txn-secret", "a secret");
    const redaction = (await put(alice, `${V3}/rooms/${enc(roomId)}/redact/${enc(target)}/txn-redact-secret`, {}))["event_id"];
    for (const c of [alice, bob]) {
      if (c === bob) await post(bob, `${V3}/join/${enc(roomId)}`);
      const e = byId(timeline(await sync(c), roomId), target);
      assert.deepEqual(e["content"], {}, JSON.stringify(e));
      assert.equal(e["unsigned"]["redacted_because"]["event_id"], redaction);
    }
    const slid = byId(await sliding(bob, roomId), target);
    assert.deepEqual(slid["content"], {});
    assert.equal(slid["unsigned"]["redacted_because"]["event_id"], redaction);
  });

  it("gives a display-name change replaces_state, prev_content (the join) and prev_sender, and a first join none", async () => {
    const roomId = await createRoom(alice);
    const start = await sync(alice);
    await post(bob, `${V3}/join/${enc(roomId)}`);
    const members = (await get(alice, `${V3}/rooms/${enc(roomId)}/state`)).filter((e: J) => e["type"] === "m.room.member" && e["state_key"] === bob.userId);
    const joinId = members[0]["event_id"] as string;
    const join = await event(alice, roomId, joinId);
    const rename = (await put(bob, `${V3}/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`, { membership: "join", displayname: "Robert" }))["event_id"] as string;

    for (const [where, e] of await everywhere(alice, roomId, joinId)) {
      for (const k of ["prev_content", "replaces_state", "prev_sender"]) assert.equal(e["unsigned"][k], undefined, `${where}: a first join has no ${k}: ${JSON.stringify(e)}`);
    }
    const incremental = byId(timeline(await sync(alice, start["next_batch"]), roomId), rename);
    for (const [where, e] of [["incremental /sync", incremental] as [string, J], ...(await everywhere(alice, roomId, rename))]) {
      assert.equal(e["content"]["displayname"], "Robert");
      assert.deepEqual(e["unsigned"]["prev_content"], join["content"], `${where}: ${JSON.stringify(e)}`);
      assert.equal(e["unsigned"]["prev_content"]["membership"], "join");
      assert.equal(e["unsigned"]["replaces_state"], joinId, where);
      assert.equal(e["unsigned"]["prev_sender"], bob.userId, where);
    }
    // The member event of alice's own join (the room's creation) stays without them too: nothing came before it.
    const created = (await messages(alice, roomId)).find((e) => e["type"] === "m.room.member" && e["state_key"] === alice.userId)!;
    assert.equal(created["unsigned"]["replaces_state"], undefined);
  });

  it("gives the redacted content as prev_content when the replaced state event was redacted", async () => {
    const roomId = await createRoom(alice);
    const first = (await put(alice, `${V3}/rooms/${enc(roomId)}/state/m.room.topic`, { topic: "first topic" }))["event_id"] as string;
    await put(alice, `${V3}/rooms/${enc(roomId)}/redact/${enc(first)}/txn-redact-topic`, {});
    const second = (await put(alice, `${V3}/rooms/${enc(roomId)}/state/m.room.topic`, { topic: "second topic" }))["event_id"] as string;
    const e = await event(alice, roomId, second);
    assert.equal(e["unsigned"]["replaces_state"], first);
    assert.deepEqual(e["unsigned"]["prev_content"], {}, "m.room.topic keeps no content when redacted");
    assert.equal(e["unsigned"]["prev_sender"], alice.userId);
  });
});
