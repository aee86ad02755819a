/**
 * The read side of the federation API over real HTTPS: Zion "b" (in-process, its federation listener on 127.0.0.1
 * with a test-CA certificate, server name "127.0.0.1:PORT") holds rooms built from events signed with its key and
 * persisted through storage; requests come from FederationClients acting as a.test and c.test, whose X-Matrix
 * signatures b really verifies (its authenticator is given their public keys instead of fetching them).
 *
 * Rooms (room version 10), all created by @alice:b:
 *   joined  history_visibility joined; m1; @dan:a.test joins; m2 (a.test has a user; c.test none)
 *   shared  history_visibility shared; same shape
 *   world   history_visibility world_readable; m1 (no user of a.test or c.test)
 *   long    history_visibility shared, @dan:a.test joined, then 150 messages
 *   acl     shared, @dan:a.test joined, then an m.room.server_acl denying a.test
 *   old     room version 1 (server-minted event ids, [id, hashes] references), shaped like shared
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import { buildPdu } from "../../src/core/events/index.js";
import { stateKeyOf, type Pdu, type StateKey } from "../../src/core/events/pdu.js";
import type { EventId, KeyId, RoomAlias, RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { createAuthenticator } from "../../src/federation/transport/authenticate.js";
import { FederationError, type FederationClient } from "../../src/federation/transport/client.js";
import { ipLiteralFederationClient, testHttpsClient } from "../harness/federation-client.js";
import type { Storage } from "../../src/storage/ports.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { freePort } from "../harness/ports.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";

const V10 = roomVersion("10");
const V1 = roomVersion("1");

/** Builds a linear room of signed events and persists it, state before each event included. */
class RoomBuilder {
  readonly state = new Map<StateKey, Pdu>();
  readonly events: Pdu[] = [];
  constructor(readonly roomId: RoomId, private readonly server: string, private readonly key: SigningKey, readonly rules = V10) {}

  add(type: string, sender: string, content: JsonObject, stateKey?: string, ts?: number): Pdu {
    const get = (t: string, k: string) => this.state.get(stateKeyOf(t, k))?.eventId;
    const auth = new Set<EventId>();
    if (type !== "m.room.create") {
      for (const id of [get("m.room.create", ""), get("m.room.power_levels", ""), get("m.room.member", sender)]) if (id) auth.add(id);
      if (type === "m.room.member") for (const id of [get("m.room.join_rules", ""), get("m.room.member", stateKey!)]) if (id) auth.add(id);
    }
    const last = this.events.at(-1);
    const pdu = buildPdu(this.rules, {
      type, sender, content, roomId: this.roomId, ...(stateKey !== undefined ? { stateKey } : {}),
      ...(this.rules.eventId === "server-minted" ? { eventId: `$${this.events.length + 1}-${this.roomId.slice(1, this.roomId.indexOf(":"))}:${this.server}` } : {}),
      prevEvents: last ? [last.eventId] : [], authEvents: [...auth], depth: this.events.length + 1,
      originServerTs: ts ?? 1_000_000 + this.events.length * 1000,
    }, { serverName: this.server, key: this.key });
    this.events.push(pdu);
    if (stateKey !== undefined) this.state.set(stateKeyOf(type, stateKey), pdu);
    return pdu;
  }

  async persist(storage: Storage): Promise<void> {
    const current = new Map<StateKey, EventId>([...this.state].map(([k, p]) => [k, p.eventId]));
    await storage.events.persistEvents({
      events: this.events.map((pdu, i) => ({ pdu, stateBefore: i === 0 ? { state: new Map() } : { after: this.events[i - 1]!.eventId } })),
      rooms: [{ roomId: this.roomId, roomVersion: this.rules.id, creator: this.events[0]!.sender }],
      state: [{ roomId: this.roomId, set: current }],
      receivedTs: Date.now(),
    });
  }
}

describe("federation room reads (event, state, state_ids, event_auth, backfill, get_missing_events, timestamp_to_event, directory)", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let b: TestServer;
  let B: ServerName;
  let https: HttpsClient;
  const keys = { "a.test": signingKeyFromSeed("a1", randomBytes(32)), "c.test": signingKeyFromSeed("c1", randomBytes(32)) };
  const bKey = signingKeyFromSeed("b1", randomBytes(32));
  const clients: Record<string, FederationClient> = {};
  const rooms: Record<"joined" | "shared" | "world" | "long" | "acl" | "old", RoomBuilder> = {} as never;
  const ev: Record<string, Pdu> = {};

  function clientFor(name: "a.test" | "c.test", extra: { federationEnabled?: boolean; domainWhitelist?: string[] } = {}): FederationClient {
    return ipLiteralFederationClient(https, name, keys[name], ["127.0.0.1/32"], extra);
  }

  function storageRoom(name: keyof typeof rooms, vis: string, opts: { danJoins: boolean; messages: number; rules?: typeof V10 }): RoomBuilder {
    const alice = `@alice:${B}`;
    const rules = opts.rules ?? V10;
    const r = new RoomBuilder(`!${name}:${B}` as RoomId, B, bKey, rules);
    r.add("m.room.create", alice, { room_version: rules.id, ...(rules.auth.creatorFromSender ? {} : { creator: alice }) }, "");
    r.add("m.room.member", alice, { membership: "join" }, alice);
    r.add("m.room.power_levels", alice, { users: { [alice]: 100 } }, "");
    r.add("m.room.join_rules", alice, { join_rule: "public" }, "");
    r.add("m.room.history_visibility", alice, { history_visibility: vis }, "");
    ev[`${name}.m1`] = r.add("m.room.message", alice, { msgtype: "m.text", body: `${name} before dan` });
    if (opts.danJoins) ev[`${name}.dan`] = r.add("m.room.member", "@dan:a.test", { membership: "join" }, "@dan:a.test");
    for (let i = 0; i < opts.messages; i++) ev[`${name}.m${i + 2}`] = r.add("m.room.message", alice, { msgtype: "m.text", body: `${name} ${i + 2}` });
    rooms[name] = r;
    return r;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-fedread-"));
    ca = await createTestCa(dir);
    const port = await freePort("127.0.0.1");
    B = `127.0.0.1:${port}` as ServerName;
    const leaf = await ca.issue({ ip: ["127.0.0.1"] });
    const storage = await openSqliteStorage({ path: join(dir, "b.db") });
    storageRoom("joined", "joined", { danJoins: true, messages: 1 });
    storageRoom("shared", "shared", { danJoins: true, messages: 1 });
    storageRoom("world", "world_readable", { danJoins: false, messages: 0 });
    storageRoom("long", "shared", { danJoins: true, messages: 150 });
    const acl = storageRoom("acl", "shared", { danJoins: true, messages: 1 });
    storageRoom("old", "shared", { danJoins: true, messages: 1, rules: V1 });
    ev["acl.acl"] = acl.add("m.room.server_acl", `@alice:${B}`, { allow: ["*"], deny: ["a.test"] }, "");
    for (const r of Object.values(rooms)) await r.persist(storage);
    await storage.roomClient.createAlias({ alias: `#shared:${B}` as RoomAlias, roomId: rooms.shared.roomId, creator: `@alice:${B}` as UserId }, Date.now());
    await storage.roomClient.setPublished(rooms.shared.roomId, true, Date.now());
    const auth = createAuthenticator({
      serverName: B,
      keyRing: {
        async getKeyForRequest(server: ServerName, keyId: KeyId) {
          const k = (keys as Record<string, SigningKey>)[server];
          return k && k.keyId === keyId ? { ok: true as const, key: { publicKey: k.publicKey, usableUntil: Date.now() + 3_600_000 } } : { ok: false as const, reason: "unknown key" };
        },
      },
    });
    b = await startTestServer({
      serverName: B, signingKey: bKey, storage,
      tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
      config: {
        listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", tls: true, resources: [{ names: ["federation"] }] }],
        allow_public_rooms_over_federation: true,
      },
      startOptions: { federationAuth: { authenticate: (req) => auth({ ...req, authorization: req.authorization }) } },
    });
    https = testHttpsClient(ca.caCertPem, { requestTimeoutMs: 10_000 });
    clients["a.test"] = clientFor("a.test");
    clients["c.test"] = clientFor("c.test");
  });
  after(async () => {
    await https?.close();
    await b?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const a = () => clients["a.test"]!;
  const c = () => clients["c.test"]!;
  async function refused(p: Promise<unknown>, status: number, errcode: string, pattern?: RegExp): Promise<void> {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof FederationError, String(e));
      assert.equal(e.status, status, e.message);
      assert.equal(e.errcode, errcode, e.message);
      if (pattern) assert.match(e.message, pattern);
      return true;
    });
  }
  const raw = (client: FederationClient, method: "GET" | "POST", path: string, extra: { rawQuery?: string; body?: JsonObject } = {}) =>
    client.request({ destination: B, method, path, ...extra });

  describe("GET /event/{eventId}", () => {
    it("gives a server with a joined user the event in wire form, signed by b, without unsigned", async () => {
      const got = await a().getEvent(B, ev["joined.m2"]!.eventId, V10);
      assert.equal(got.eventId, ev["joined.m2"]!.eventId);
      assert.deepEqual(got.content, { msgtype: "m.text", body: "joined 2" });
      assert.ok((got.raw["signatures"] as JsonObject)[B]);
      assert.equal(got.raw["unsigned"], undefined);
    });
    it("redacts, in a joined-visibility room, an event from before the server's user joined", async () => {
      const got = await a().getEvent(B, ev["joined.m1"]!.eventId, V10);
      assert.deepEqual(got.content, {}, "the content is redacted");
      assert.equal(got.type, "m.room.message");
    });
    it("shows the same event in a shared room", async () => {
      const got = await a().getEvent(B, ev["shared.m1"]!.eventId, V10);
      assert.deepEqual(got.content, { msgtype: "m.text", body: "shared before dan" });
    });
    it("refuses a server with no user in a joined-visibility room (403 M_FORBIDDEN)", async () => {
      await refused(c().getEvent(B, ev["joined.m2"]!.eventId, V10), 403, "M_FORBIDDEN", /has no user/);
    });
    it("refuses a server with no user in a shared room too: shared history is for servers in the room", async () => {
      await refused(c().getEvent(B, ev["shared.m1"]!.eventId, V10), 403, "M_FORBIDDEN");
    });
    it("shows a world_readable room's events to a server with no user in it", async () => {
      const got = await c().getEvent(B, ev["world.m1"]!.eventId, V10);
      assert.deepEqual(got.content, { msgtype: "m.text", body: "world before dan" });
    });
    it("answers 404 M_NOT_FOUND for an unknown event and 400 M_INVALID_PARAM for an id without '$'", async () => {
      await refused(a().getEvent(B, "$nope" as EventId, V10), 404, "M_NOT_FOUND");
      await refused(raw(a(), "GET", "/_matrix/federation/v1/event/nope"), 400, "M_INVALID_PARAM", /eventId/);
    });
  });

  describe("room version 1 wire format", () => {
    it("serves stored v1 PDUs as they are (event_id field, [id, hashes] references), which the client parses as v1", async () => {
      const r = rooms.old;
      const m2 = ev["old.m2"]!;
      const got = await a().getEvent(B, m2.eventId, V1);
      assert.equal(got.raw["event_id"], m2.eventId);
      assert.deepEqual(got.raw["prev_events"], m2.raw["prev_events"]);
      assert.ok(Array.isArray((got.raw["prev_events"] as unknown[])[0]), "v1 references are [id, hashes] pairs");
      const back = await a().backfill(B, r.roomId, [m2.eventId], 50, V1);
      assert.deepEqual(back.map((p) => p.eventId), [...r.events].reverse().map((p) => p.eventId));
      const ids = await a().getStateIds(B, r.roomId, m2.eventId);
      assert.deepEqual(ids.pduIds, [...r.state.values()].map((p) => p.eventId).sort());
    });
  });

  describe("m.room.server_acl", () => {
    it("refuses every room read to a server the room's ACL denies, though it has a joined user", async () => {
      const r = rooms.acl;
      const m2 = ev["acl.m2"]!;
      const denied = /denied by the server ACL/;
      await refused(a().getEvent(B, m2.eventId, V10), 403, "M_FORBIDDEN", denied);
      await refused(a().getStateIds(B, r.roomId, m2.eventId), 403, "M_FORBIDDEN", denied);
      await refused(a().getState(B, r.roomId, m2.eventId, V10), 403, "M_FORBIDDEN", denied);
      await refused(a().getEventAuth(B, r.roomId, m2.eventId, V10), 403, "M_FORBIDDEN", denied);
      await refused(a().backfill(B, r.roomId, [m2.eventId], 5, V10), 403, "M_FORBIDDEN", denied);
      await refused(a().getMissingEvents(B, r.roomId, { earliestEvents: [], latestEvents: [m2.eventId], limit: 5 }, V10), 403, "M_FORBIDDEN", denied);
      await refused(a().timestampToEvent(B, r.roomId, m2.originServerTs, "b"), 403, "M_FORBIDDEN", denied);
    });
  });

  describe("GET /state_ids and /state", () => {
    it("answers the state before the event and its auth chain, from which the client can check every id", async () => {
      const r = rooms.shared;
      const m2 = ev["shared.m2"]!;
      const got = await a().getStateIds(B, r.roomId, m2.eventId);
      const expected = [...r.state.values()].map((p) => p.eventId).sort();
      assert.deepEqual(got.pduIds, expected, "every state event, the join of dan included");
      assert.deepEqual(got.authChainIds, [], "the state is closed under auth, so nothing outside it");
      const state = await a().getState(B, r.roomId, m2.eventId, V10);
      assert.deepEqual(state.pdus.map((p) => p.eventId), expected);
      assert.equal(state.authChain.length, 0);
    });
    it("excludes a state event from the state before it, and lists what its auth chain adds", async () => {
      const r = rooms.joined;
      const hv = r.state.get(stateKeyOf("m.room.history_visibility", ""))!;
      const got = await a().getStateIds(B, r.roomId, ev["joined.m2"]!.eventId);
      assert.ok(got.pduIds.includes(hv.eventId));
      const atDan = await a().getStateIds(B, r.roomId, ev["joined.dan"]!.eventId);
      assert.ok(!atDan.pduIds.includes(ev["joined.dan"]!.eventId), "the state before the join does not hold the join");
    });
    it("refuses the state at an event the server may not see (joined visibility, before its user joined)", async () => {
      await refused(a().getStateIds(B, rooms.joined.roomId, ev["joined.m1"]!.eventId), 403, "M_FORBIDDEN", /history visibility/);
    });
    it("refuses a server with no user in the room, and gives a world_readable room's state to anyone", async () => {
      await refused(c().getStateIds(B, rooms.joined.roomId, ev["joined.m2"]!.eventId), 403, "M_FORBIDDEN");
      const got = await c().getStateIds(B, rooms.world.roomId, ev["world.m1"]!.eventId);
      assert.equal(got.pduIds.length, 5);
    });
    it("names the missing event_id (400 M_MISSING_PARAM) and answers 404 for an unknown room or event", async () => {
      await refused(raw(a(), "GET", `/_matrix/federation/v1/state_ids/${encodeURIComponent(rooms.shared.roomId)}`), 400, "M_MISSING_PARAM", /event_id/);
      await refused(a().getStateIds(B, `!nope:${B}` as RoomId, ev["shared.m2"]!.eventId), 404, "M_NOT_FOUND");
      await refused(a().getStateIds(B, rooms.shared.roomId, "$nope" as EventId), 404, "M_NOT_FOUND");
      await refused(a().getStateIds(B, rooms.shared.roomId, ev["joined.m2"]!.eventId), 404, "M_NOT_FOUND", /in !shared/);
    });
  });

  describe("GET /event_auth/{roomId}/{eventId}", () => {
    it("answers the event's full auth chain as PDUs", async () => {
      const r = rooms.shared;
      const dan = ev["shared.dan"]!;
      const chain = await a().getEventAuth(B, r.roomId, dan.eventId, V10);
      const ids = new Set(chain.map((p) => p.eventId));
      const create = r.state.get(stateKeyOf("m.room.create", ""))!.eventId;
      const pl = r.state.get(stateKeyOf("m.room.power_levels", ""))!.eventId;
      const jr = r.state.get(stateKeyOf("m.room.join_rules", ""))!.eventId;
      const aliceJoin = r.state.get(stateKeyOf("m.room.member", `@alice:${B}`))!.eventId;
      assert.deepEqual([...ids].sort(), [create, pl, jr, aliceJoin].sort());
    });
    it("refuses a server with no user in the room and answers 404 for an unknown event", async () => {
      await refused(c().getEventAuth(B, rooms.shared.roomId, ev["shared.dan"]!.eventId, V10), 403, "M_FORBIDDEN");
      await refused(a().getEventAuth(B, rooms.shared.roomId, "$nope" as EventId, V10), 404, "M_NOT_FOUND");
    });
  });

  describe("GET /backfill/{roomId}", () => {
    it("walks back from v, deepest first, v included, at most limit events", async () => {
      const r = rooms.long;
      const last = r.events.at(-1)!;
      const got = await a().backfill(B, r.roomId, [last.eventId], 5, V10);
      assert.deepEqual(got.map((p) => p.eventId), r.events.slice(-5).reverse().map((p) => p.eventId));
    });
    it("caps the limit at 100 whatever is asked", async () => {
      const r = rooms.long;
      const res = await raw(a(), "GET", `/_matrix/federation/v1/backfill/${encodeURIComponent(r.roomId)}`, { rawQuery: `v=${encodeURIComponent(r.events.at(-1)!.eventId)}&limit=100000` });
      assert.equal((res.body as { pdus: unknown[] }).pdus.length, 100);
    });
    it("redacts what the server may not see, keeping the DAG linked", async () => {
      const r = rooms.joined;
      const got = await a().backfill(B, r.roomId, [ev["joined.m2"]!.eventId], 10, V10);
      assert.equal(got.length, r.events.length);
      const m1 = got.find((p) => p.eventId === ev["joined.m1"]!.eventId)!;
      assert.deepEqual(m1.content, {});
      assert.deepEqual(got.find((p) => p.eventId === ev["joined.m2"]!.eventId)!.content, { msgtype: "m.text", body: "joined 2" });
    });
    it("refuses bad parameters naming them, and a server with no user in the room", async () => {
      const path = `/_matrix/federation/v1/backfill/${encodeURIComponent(rooms.long.roomId)}`;
      await refused(raw(a(), "GET", path, { rawQuery: "limit=5" }), 400, "M_MISSING_PARAM", /\bv\b/);
      await refused(raw(a(), "GET", path, { rawQuery: `v=${encodeURIComponent(ev["long.m2"]!.eventId)}` }), 400, "M_MISSING_PARAM", /limit/);
      await refused(raw(a(), "GET", path, { rawQuery: `v=${encodeURIComponent(ev["long.m2"]!.eventId)}&limit=-3` }), 400, "M_INVALID_PARAM", /limit/);
      await refused(c().backfill(B, rooms.long.roomId, [ev["long.m2"]!.eventId], 5, V10), 403, "M_FORBIDDEN");
      await refused(a().backfill(B, `!nope:${B}` as RoomId, [ev["long.m2"]!.eventId], 5, V10), 404, "M_NOT_FOUND");
    });
  });

  describe("POST /get_missing_events/{roomId}", () => {
    it("answers the events between earliest and latest, oldest first, latest excluded", async () => {
      const r = rooms.long;
      const evs = r.events;
      const got = await a().getMissingEvents(B, r.roomId, { earliestEvents: [evs.at(-6)!.eventId], latestEvents: [evs.at(-1)!.eventId], limit: 10 }, V10);
      assert.deepEqual(got.map((p) => p.eventId), evs.slice(-5, -1).map((p) => p.eventId));
    });
    it("is bounded: limit capped at 20, min_depth honoured", async () => {
      const r = rooms.long;
      const res = await raw(a(), "POST", `/_matrix/federation/v1/get_missing_events/${encodeURIComponent(r.roomId)}`, { body: { latest_events: [r.events.at(-1)!.eventId], earliest_events: [], limit: 5000 } });
      assert.equal((res.body as { events: unknown[] }).events.length, 20);
      const deep = r.events.at(-1)!.depth;
      const got = await a().getMissingEvents(B, r.roomId, { earliestEvents: [], latestEvents: [r.events.at(-1)!.eventId], limit: 20, minDepth: deep - 3 }, V10);
      assert.deepEqual(got.map((p) => p.depth), [deep - 3, deep - 2, deep - 1]);
    });
    it("refuses a body without latest_events (M_MISSING_PARAM) and a bad limit (M_INVALID_PARAM)", async () => {
      const path = `/_matrix/federation/v1/get_missing_events/${encodeURIComponent(rooms.long.roomId)}`;
      await refused(raw(a(), "POST", path, { body: { earliest_events: [] } }), 400, "M_MISSING_PARAM", /latest_events/);
      await refused(raw(a(), "POST", path, { body: { latest_events: [ev["long.m2"]!.eventId], limit: -1 } }), 400, "M_INVALID_PARAM", /limit/);
      await refused(raw(a(), "POST", path, { body: { latest_events: Array.from({ length: 101 }, (_, i) => `$x${i}`) } }), 400, "M_INVALID_PARAM", /latest_events/);
    });
    it("refuses a server with no user in the room", async () => {
      await refused(c().getMissingEvents(B, rooms.long.roomId, { earliestEvents: [], latestEvents: [ev["long.m9"]!.eventId], limit: 3 }, V10), 403, "M_FORBIDDEN");
    });
  });

  describe("GET /timestamp_to_event/{roomId}", () => {
    it("finds the closest event in each direction", async () => {
      const r = rooms.long;
      const m10 = ev["long.m10"]!;
      assert.deepEqual(await a().timestampToEvent(B, r.roomId, m10.originServerTs + 500, "b"), { eventId: m10.eventId, originServerTs: m10.originServerTs });
      const m11 = ev["long.m11"]!;
      assert.deepEqual(await a().timestampToEvent(B, r.roomId, m10.originServerTs + 500, "f"), { eventId: m11.eventId, originServerTs: m11.originServerTs });
    });
    it("answers 404 when there is no event that way, or only one the server may not see", async () => {
      await refused(a().timestampToEvent(B, rooms.long.roomId, 1, "b"), 404, "M_NOT_FOUND");
      await refused(a().timestampToEvent(B, rooms.joined.roomId, ev["joined.m1"]!.originServerTs, "b"), 404, "M_NOT_FOUND", /visible/);
    });
    it("names bad or missing ts and dir", async () => {
      const path = `/_matrix/federation/v1/timestamp_to_event/${encodeURIComponent(rooms.long.roomId)}`;
      await refused(raw(a(), "GET", path, { rawQuery: "dir=f" }), 400, "M_MISSING_PARAM", /ts/);
      await refused(raw(a(), "GET", path, { rawQuery: "ts=abc&dir=f" }), 400, "M_INVALID_PARAM", /ts/);
      await refused(raw(a(), "GET", path, { rawQuery: "ts=5" }), 400, "M_MISSING_PARAM", /dir/);
      await refused(raw(a(), "GET", path, { rawQuery: "ts=5&dir=x" }), 400, "M_INVALID_PARAM", /dir/);
      await refused(c().timestampToEvent(B, rooms.long.roomId, 5, "f"), 403, "M_FORBIDDEN");
    });
  });

  describe("directory", () => {
    it("GET /query/directory answers a local alias with the servers of the room's joined members, this server first", async () => {
      assert.deepEqual(await a().queryDirectory(B, `#shared:${B}` as RoomAlias), { roomId: rooms.shared.roomId, servers: [B, "a.test"] });
    });
    it("GET /query/directory: 404 for an alias Zion does not hold, 400 for another server's alias, 400 naming a missing room_alias", async () => {
      await refused(a().queryDirectory(B, `#nope:${B}` as RoomAlias), 404, "M_NOT_FOUND");
      await refused(a().queryDirectory(B, "#x:elsewhere.test" as RoomAlias), 400, "M_INVALID_PARAM", /room_alias/);
      await refused(raw(a(), "GET", "/_matrix/federation/v1/query/directory"), 400, "M_MISSING_PARAM", /room_alias/);
    });
    it("GET and POST /publicRooms answer the published rooms when allow_public_rooms_over_federation is true", async () => {
      const page = await a().publicRooms(B, { limit: 10 });
      assert.deepEqual(page.chunk.map((c) => [c["room_id"], c["num_joined_members"], c["canonical_alias"] ?? null]), [[rooms.shared.roomId, 2, null]]);
      assert.equal(page.totalRoomCountEstimate, 1);
      assert.deepEqual(await a().publicRooms(B, { genericSearchTerm: "no such room" }), { chunk: [], totalRoomCountEstimate: 0 });
      assert.deepEqual(await a().publicRooms(B, { thirdPartyInstanceId: "irc" }), { chunk: [], totalRoomCountEstimate: 0 }, "Zion bridges no networks");
      await refused(raw(a(), "GET", "/_matrix/federation/v1/publicRooms", { rawQuery: "since=bogus" }), 400, "M_INVALID_PARAM", /since/);
      await refused(raw(a(), "GET", "/_matrix/federation/v1/publicRooms", { rawQuery: "limit=0" }), 400, "M_INVALID_PARAM", /limit/);
    });
  });

  describe("federation_enabled and federation_domain_whitelist", () => {
    it("a server with federation_enabled: false mounts none of these routes, and its client sends nothing", async () => {
      const port = await freePort("127.0.0.1");
      const name = `127.0.0.1:${port}`;
      const leaf = await ca.issue({ ip: ["127.0.0.1"] });
      const off = await startTestServer({
        serverName: name, tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
        config: { listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", tls: true, resources: [{ names: ["federation"] }] }], federation_enabled: false },
      });
      try {
        const res = await a().request({ destination: name, method: "GET", path: `/_matrix/federation/v1/event/${encodeURIComponent(ev["world.m1"]!.eventId)}` }).catch((e: unknown) => e);
        assert.ok(res instanceof FederationError && res.status === 404, String(res));
      } finally {
        await off.stop();
      }
      const disabled = clientFor("a.test", { federationEnabled: false });
      await assert.rejects(disabled.getStateIds(B, rooms.shared.roomId, ev["shared.m2"]!.eventId), (e: unknown) => e instanceof FederationError && e.kind === "disabled");
    });
    it("a server with federation_domain_whitelist refuses other origins on every room read (403), and its client does not call them", async () => {
      const port = await freePort("127.0.0.1");
      const name = `127.0.0.1:${port}`;
      const leaf = await ca.issue({ ip: ["127.0.0.1"] });
      const listed = await startTestServer({
        serverName: name, tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
        config: { listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", tls: true, resources: [{ names: ["federation"] }] }], federation_domain_whitelist: ["c.test"] },
        startOptions: {
          federationAuth: {
            authenticate: createAuthenticator({
              serverName: name as ServerName,
              keyRing: { getKeyForRequest: async (s: ServerName) => ({ ok: true as const, key: { publicKey: (keys as Record<string, SigningKey>)[s]!.publicKey, usableUntil: Date.now() + 60_000 } }) },
            }),
          },
        },
      });
      try {
        const paths = [
          `/_matrix/federation/v1/event/$x`, `/_matrix/federation/v1/state_ids/!r:${name}?event_id=$x`, `/_matrix/federation/v1/state/!r:${name}?event_id=$x`,
          `/_matrix/federation/v1/event_auth/!r:${name}/$x`, `/_matrix/federation/v1/backfill/!r:${name}?v=$x&limit=1`,
          `/_matrix/federation/v1/timestamp_to_event/!r:${name}?ts=1&dir=f`, `/_matrix/federation/v1/query/directory?room_alias=%23a:${name}`, `/_matrix/federation/v1/publicRooms`,
        ];
        for (const p of paths) {
          const [path, rawQuery] = p.split("?") as [string, string | undefined];
          await refused(a().request({ destination: name, method: "GET", path, rawQuery: rawQuery ?? "" }), 403, "M_FORBIDDEN", /whitelist/);
          // c.test is listed: it passes the whitelist and meets the route's own answer instead.
          const other = await c().request({ destination: name, method: "GET", path, rawQuery: rawQuery ?? "" }).catch((e: unknown) => e as FederationError);
          assert.ok(!(other instanceof FederationError) || other.status !== 403 || !/whitelist/.test(other.message), `${p}: ${String(other)}`);
        }
        await refused(a().request({ destination: name, method: "POST", path: `/_matrix/federation/v1/get_missing_events/!r:${name}`, body: { latest_events: ["$x"] } }), 403, "M_FORBIDDEN", /whitelist/);
        // allow_public_rooms_over_federation is false by default: a listed server is refused the directory.
        await refused(c().publicRooms(name as ServerName), 403, "M_FORBIDDEN", /allow_public_rooms_over_federation/);
        await refused(c().request({ destination: name, method: "POST", path: "/_matrix/federation/v1/publicRooms", body: {} }), 403, "M_FORBIDDEN", /allow_public_rooms_over_federation/);
      } finally {
        await listed.stop();
      }
      const limited = clientFor("a.test", { domainWhitelist: ["elsewhere.test"] });
      await assert.rejects(limited.backfill(B, rooms.long.roomId, [ev["long.m2"]!.eventId], 1, V10), (e: unknown) => e instanceof FederationError && e.kind === "not-whitelisted");
    });
  });
});
