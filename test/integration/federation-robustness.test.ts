/**
 * What a misbehaving or slow peer cannot do to an in-process Zion (docs/federation.md, "Receiving"; docs/rooms.md,
 * "Remote events"), over real HTTPS with IP-literal names on 127.0.0.1 (test CA): a test double (fed-double.ts)
 * whose user @r joined two of alice's rooms over make_join / send_join, and which signs its /send transactions.
 *
 * - a /send of 101 EDUs is refused (400, the limit of 100 named) and none of them applies; 100 are accepted;
 * - a gap whose state lacks more than GAP_STATE_FETCH_LIMIT events is filled with one /state, not /event per event;
 * - PDUs signed by a third server whose key server accepts connections and never answers get their errors within
 *   the key-fetch timeout, the rest of the transaction is accepted, and the next transaction does not ask the
 *   hanging server again while its back-off lasts (its requests counted);
 * - while alice joins a room of the double's whose send_join it holds open, and then while a /messages backfill
 *   waits on its held /backfill, a /send for another room is processed and reaches alice's /sync (the test sees
 *   that event before letting the double answer, so a Zion that blocked would time out here).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signingKeyFromSeed } from "../../src/core/crypto/index.js";
import { buildPdu, hashAndSignEvent, parsePdu, stateKeyOf, type Pdu } from "../../src/core/events/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import { GAP_STATE_FETCH_LIMIT } from "../../src/rooms/remote-event.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { FederationError } from "../../src/federation/transport/client.js";
import { DoubleRoom, startFedDouble, startZionForDoubles, wire, type FedDouble } from "../harness/fed-double.js";
import { clientCaller } from "../harness/http-get.js";
import type { TestServer } from "../harness/server.js";
import { createTestCa, serveHttps, type TestCa, type TestHttpsServer } from "../harness/test-ca.js";
import { waitUntil } from "../harness/three-servers.js";

const V11 = roomVersion("11");
const KEY_FETCH_TIMEOUT_MS = 1500;
const enc = encodeURIComponent;
type Body = Record<string, unknown>;

describe("federation robustness (Zion and a test double over real HTTPS)", { timeout: 180_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let zion: TestServer;
  let ZION: ServerName;
  let https: HttpsClient;
  let d: FedDouble;
  let R: UserId;
  let alice: { userId: UserId; token: string };
  const rooms: Record<string, RoomId> = {};
  const doubleRooms: DoubleRoom[] = [];
  let txn = 0;
  const call = clientCaller(() => zion.clientUrl);
  const storage = () => zion.homeserver!.storage;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-fedrob-"));
    ca = await createTestCa(dir);
    const z = await startZionForDoubles(ca, {
      startOptions: { keyFetchTimeoutMs: KEY_FETCH_TIMEOUT_MS },
      config: { rc_federation: { window_size: 1000, sleep_limit: 1000, sleep_delay: 1, reject_limit: 1000, concurrent: 100 } },
    });
    ({ zion, https } = z);
    ZION = z.serverName;
    const zionKey = z.key;
    d = await startFedDouble(ca, https, { serverName: ZION, key: zionKey });
    R = `@r:${d.name}` as UserId;
    const reg = await call("POST", "/_matrix/client/v3/register", { username: "alice", password: "alice password 1", auth: { type: "m.login.dummy" } });
    assert.equal(reg.status, 200, reg.body);
    alice = { userId: reg.json()["user_id"] as UserId, token: reg.json()["access_token"] as string };
    for (const name of ["one", "two"]) {
      const r = await call("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name }, alice.token);
      assert.equal(r.status, 200, r.body);
      rooms[name] = r.json()["room_id"] as RoomId;
      await joinAsDouble(rooms[name]!);
    }
  });
  after(async () => {
    await https?.close();
    await zion?.stop();
    await d?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** @r joins `roomId` through make_join / send_join signed as the double. */
  async function joinAsDouble(roomId: RoomId): Promise<Pdu> {
    const tpl = await d.client.makeJoin(ZION, roomId, R, ["11"]);
    const signed = hashAndSignEvent({ ...tpl.event, origin_server_ts: Date.now(), content: { membership: "join" } }, V11, { serverName: d.name, key: d.key });
    const joinPdu = parsePdu(signed, V11);
    await d.client.sendJoin(ZION, roomId, joinPdu.eventId, joinPdu.raw, V11);
    return joinPdu;
  }

  /** A message in `roomId` by `sender` (default @r) after the room's newest event, signed by `signer` (default the double). */
  async function message(roomId: RoomId, body: string, o: { sender?: string; signer?: { name: string; key: ReturnType<typeof signingKeyFromSeed> }; prev?: Pdu } = {}): Promise<Pdu> {
    const sender = o.sender ?? R;
    const s = storage();
    const [create, pl, member] = await Promise.all([
      s.rooms.getCurrentStateEventId(roomId, "m.room.create", ""), s.rooms.getCurrentStateEventId(roomId, "m.room.power_levels", ""),
      s.rooms.getCurrentStateEventId(roomId, "m.room.member", sender),
    ]);
    let prev = o.prev;
    if (!prev) {
      const [x] = await s.rooms.getForwardExtremities(roomId);
      prev = (await s.events.getPdus([x!])).get(x!)!;
    }
    return buildPdu(V11, {
      type: "m.room.message", sender, roomId, content: { msgtype: "m.text", body },
      prevEvents: [prev.eventId], authEvents: [create!, pl!, ...(member ? [member] : [])], depth: prev.depth + 1, originServerTs: Date.now(),
    }, o.signer ? { serverName: o.signer.name, key: o.signer.key } : { serverName: d.name, key: d.key });
  }

  /** PUT /send signed as the double; the answer's `pdus`. */
  async function send(pdus: readonly Pdu[], edus: readonly JsonObject[] = []): Promise<Record<string, { error?: string }>> {
    const res = await d.client.request({
      destination: ZION, method: "PUT", path: `/_matrix/federation/v1/send/rob${++txn}`,
      body: { origin: d.name, origin_server_ts: Date.now(), pdus: pdus.map((p) => p.raw), ...(edus.length ? { edus: [...edus] } : {}) },
    });
    return (res.body as { pdus: Record<string, { error?: string }> }).pdus;
  }

  /** alice's initial /sync (no waiting). */
  async function syncNow(): Promise<Body> {
    const r = await call("GET", "/_matrix/client/v3/sync?timeout=0", undefined, alice.token);
    assert.equal(r.status, 200, r.body);
    return r.json();
  }
  const ephemeral = (b: Body, roomId: RoomId, type: string): JsonObject[] => {
    const joined = ((b["rooms"] as Body | undefined)?.["join"] ?? {}) as Record<string, { ephemeral?: { events?: { type: string; content: JsonObject }[] } }>;
    return (joined[roomId]?.ephemeral?.events ?? []).filter((e) => e.type === type).map((e) => e.content);
  };
  const timelineIds = (b: Body, roomId: RoomId): string[] => {
    const joined = ((b["rooms"] as Body | undefined)?.["join"] ?? {}) as Record<string, { timeline?: { events?: { event_id: string }[] } }>;
    return (joined[roomId]?.timeline?.events ?? []).map((e) => e.event_id);
  };
  const typingIn = (b: Body, roomId: RoomId) => ephemeral(b, roomId, "m.typing").flatMap((c) => c["user_ids"] as string[]);
  const typingEdu = (roomId: RoomId): JsonObject => ({ edu_type: "m.typing", content: { room_id: roomId, user_id: R, typing: true } });
  const receiptEdu = (roomId: RoomId, eventId: EventId): JsonObject => ({ edu_type: "m.receipt", content: { [roomId]: { "m.read": { [R]: { event_ids: [eventId], data: { ts: Date.now() } } } } } });
  const readBy = (b: Body, roomId: RoomId, eventId: EventId) => ephemeral(b, roomId, "m.receipt").some((c) => ((c[eventId] as Body | undefined)?.["m.read"] as Body | undefined)?.[R] !== undefined);

  it("refuses a /send of 101 EDUs (400 M_BAD_JSON naming the limit of 100) and applies none of them; exactly 100 are accepted and applied", async () => {
    const roomId = rooms["one"]!;
    const m = await message(roomId, "read me");
    assert.deepEqual(await send([m]), { [m.eventId]: {} });
    const edus = [receiptEdu(roomId, m.eventId), ...Array.from({ length: 100 }, () => typingEdu(roomId))];
    assert.equal(edus.length, 101);
    await assert.rejects(send([], edus), (e: unknown) => e instanceof FederationError && e.status === 400 && e.errcode === "M_BAD_JSON" && /at most 100 EDUs/.test(e.message));
    const before = await syncNow();
    assert.deepEqual(typingIn(before, roomId), [], "no typing EDU of the refused transaction applied");
    assert.equal(readBy(before, roomId, m.eventId), false, "nor its receipt");
    assert.deepEqual(await send([], edus.slice(0, 100)), {});
    const after = await syncNow();
    assert.deepEqual(typingIn(after, roomId), [R], "the typing EDUs of 100 applied");
    assert.equal(readBy(after, roomId, m.eventId), true, "and the receipt");
  });

  it("answers PDUs signed by a server whose key server never answers with their errors within the key-fetch timeout, accepts the rest, and does not ask that server again while its back-off lasts", async () => {
    // T accepts TCP and TLS, reads the request, and never answers it.
    const hang: TestHttpsServer = await serveHttps("127.0.0.1", 0, await ca.issue({ ip: ["127.0.0.1"] }), () => undefined);
    try {
      const T = `127.0.0.1:${hang.port}`;
      const tKey = signingKeyFromSeed("t1", randomBytes(32));
      const fromT = await message(rooms["one"]!, "signed by T", { sender: `@t:${T}`, signer: { name: T, key: tKey } });
      const mine = await message(rooms["one"]!, "beside T's event");
      const other = await message(rooms["two"]!, "in the other room");
      // The double's client gives up after 20 s: far less than the federation client's own 60 s a request.
      const got = await send([fromT, mine, other]);
      assert.match(got[fromT.eventId]?.error ?? "", /signature/);
      assert.deepEqual(got[mine.eventId], {});
      assert.deepEqual(got[other.eventId], {});
      assert.equal(hang.requests.length, 1, "T's key server was asked once");
      assert.equal(hang.requests[0]?.url, "/_matrix/key/v2/server");
      assert.equal((await storage().events.haveEvents([fromT.eventId])).size, 0, "T's event is not stored");
      // The next transaction, within T's back-off: its PDU of T fails at once, without a new request to T.
      const again = await message(rooms["one"]!, "T again", { sender: `@t:${T}`, signer: { name: T, key: tKey } });
      const next = await message(rooms["one"]!, "after T again", { prev: mine });
      const got2 = await send([again, next]);
      assert.match(got2[again.eventId]?.error ?? "", /signature/);
      assert.deepEqual(got2[next.eventId], {});
      assert.equal(hang.requests.length, 1, "T's key server was not asked again");
      assert.equal(hang.connections(), 1, "nor connected to again");
    } finally {
      await hang.close();
    }
  });

  it(`fills a gap whose state lacks more than GAP_STATE_FETCH_LIMIT (${GAP_STATE_FETCH_LIMIT}) events with one /state instead of /event per event, and accepts the PDU with that state`, async () => {
    const r = await call("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "gap" }, alice.token);
    assert.equal(r.status, 200, r.body);
    const roomId = r.json()["room_id"] as RoomId;
    await joinAsDouble(roomId);
    const s = storage();
    const current = await s.rooms.getCurrentState(roomId);
    const id = (t: string) => current.get(stateKeyOf(t, ""))!;
    const [create, pl, jr] = [id("m.room.create"), id("m.room.power_levels"), id("m.room.join_rules")];
    // The double's history Zion never saw: more joins than the limit, then gapPrev; Zion is sent only `p` after it.
    let prev = (await s.events.getPdus([(await s.rooms.getForwardExtremities(roomId))[0]!])).values().next().value as Pdu;
    const joins: Pdu[] = [];
    for (let i = 0; i < GAP_STATE_FETCH_LIMIT + 10; i++) {
      const u = `@u${i}:${d.name}`;
      prev = buildPdu(V11, {
        type: "m.room.member", stateKey: u, sender: u, roomId, content: { membership: "join" },
        prevEvents: [prev.eventId], authEvents: [create, pl, jr], depth: prev.depth + 1, originServerTs: Date.now(),
      }, { serverName: d.name, key: d.key });
      joins.push(prev);
    }
    const gapPrev = await message(roomId, "the gap's prev event", { prev });
    const p = await message(roomId, "after the gap", { prev: gapPrev });
    const knownIds = [...current.values()];
    const known = await s.events.getPdus(knownIds);
    const stateIds = [...knownIds, ...joins.map((j) => j.eventId)];
    const chainIds = [...(await s.events.getAuthChainIds(knownIds))];
    const chain = await s.events.getPdus(chainIds);
    const onlyIn = (path: string) => decodeURIComponent(path.split("/")[5] ?? "") === roomId;
    d.on("POST", /^\/_matrix\/federation\/v1\/get_missing_events\//, "get_missing_events", (_q, _m, res) => d.json(res, 200, { events: [] }));
    d.on("GET", /^\/_matrix\/federation\/v1\/state_ids\//, "state_ids", (q, _m, res) => {
      assert.ok(onlyIn(q.url.split("?")[0]!) && q.url.includes(`event_id=${enc(gapPrev.eventId)}`));
      d.json(res, 200, { pdu_ids: stateIds, auth_chain_ids: chainIds });
    });
    d.on("GET", /^\/_matrix\/federation\/v1\/state\//, "state", (q, _m, res) => {
      assert.ok(onlyIn(q.url.split("?")[0]!) && q.url.includes(`event_id=${enc(gapPrev.eventId)}`));
      d.json(res, 200, { pdus: [...[...known.values()].map(wire), ...joins.map(wire)], auth_chain: [...chain.values()].map(wire) });
    });
    d.on("GET", /^\/_matrix\/federation\/v1\/event\/([^/?]+)/, "event", (_q, m, res) => {
      const want = decodeURIComponent(m[1]!);
      if (want === gapPrev.eventId) d.json(res, 200, { origin: d.name, origin_server_ts: Date.now(), pdus: [wire(gapPrev)] });
      else d.json(res, 404, { errcode: "M_NOT_FOUND", error: `no ${want} here` });
    });
    assert.deepEqual(await send([p]), { [p.eventId]: {} });
    assert.equal(d.count("state_ids"), 1);
    assert.equal(d.count("state"), 1, "one /state for the whole state");
    assert.equal(d.count("event"), 1, "/event only for the gap's prev event itself, none per state event");
    for (const j of [joins[0]!, joins.at(-1)!]) {
      assert.equal(await s.state.getStateEventAt(p.eventId, "m.room.member", j.stateKey!, "before"), j.eventId, `${j.stateKey} is in the state before the PDU`);
    }
    assert.equal(await s.state.getStateEventAt(p.eventId, "m.room.member", alice.userId, "before"), current.get(stateKeyOf("m.room.member", alice.userId)));
    const stored = (await s.events.getEvents([p.eventId])).get(p.eventId);
    assert.equal(stored?.outlier, false);
    assert.equal(stored?.rejectionReason, null);
    assert.equal((await s.events.getEvents([gapPrev.eventId])).get(gapPrev.eventId)?.outlier, true, "the prev event is stored as an outlier");
  });

  it("processes a /send for another room, whose event reaches alice's /sync, while a join's send_join is held open by the resident; the join then completes", async () => {
    const dr = new DoubleRoom({ name: d.name, key: d.key });
    dr.add("m.room.message", dr.creator, { msgtype: "m.text", body: "history before the join" });
    doubleRooms.push(dr);
    let sendJoinSeen!: () => void;
    const seen = new Promise<void>((r) => (sendJoinSeen = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    d.on("GET", /^\/_matrix\/federation\/v1\/make_join\//, "make_join", (_q, _m, res) => d.json(res, 200, { room_version: "11", event: dr.joinTemplate(alice.userId) }));
    d.on("PUT", /^\/_matrix\/federation\/v2\/send_join\//, "send_join", async (q, _m, res) => {
      const state = dr.stateWire();
      sendJoinSeen();
      await released;
      const joinPdu = parsePdu(JSON.parse(q.body) as JsonObject, V11);
      dr.events.push(joinPdu);
      dr.state.set(stateKeyOf("m.room.member", alice.userId), joinPdu);
      d.json(res, 200, { origin: d.name, state, auth_chain: state, members_omitted: false, servers_in_room: [d.name] });
    });
    let joinDone = false;
    const joining = call("POST", `/_matrix/client/v3/join/${enc(dr.roomId)}?server_name=${enc(d.name)}`, {}, alice.token, 90_000).finally(() => (joinDone = true));
    await seen;
    const m = await message(rooms["one"]!, "while the join waits");
    assert.deepEqual(await send([m]), { [m.eventId]: {} });
    await waitUntil("alice's /sync shows the other room's message", async () => (timelineIds(await syncNow(), rooms["one"]!).includes(m.eventId) ? true : undefined));
    assert.equal(joinDone, false, "the join is still waiting for send_join");
    assert.equal(d.count("send_join"), 1);
    release();
    const joined = await joining;
    assert.equal(joined.status, 200, joined.body);
    assert.equal(joined.json()["room_id"], dr.roomId);
    assert.equal(await storage().rooms.getCurrentStateEventId(dr.roomId, "m.room.member", alice.userId), dr.events.at(-1)!.eventId);
  });

  it("processes a /send for another room while a backfill of the joined room waits on the double's held /backfill; the page then has the history", async () => {
    const dr = doubleRooms[0]!;
    let backfillSeen!: () => void;
    const seen = new Promise<void>((r) => (backfillSeen = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    d.on("GET", /^\/_matrix\/federation\/v1\/backfill\//, "backfill", async (q, _m, res) => {
      backfillSeen();
      await released;
      const limit = Number(new URLSearchParams(q.url.split("?")[1] ?? "").get("limit") ?? "10");
      // Everything before alice's join, newest first.
      const before = dr.events.slice(0, -1).reverse().slice(0, limit).map(wire);
      d.json(res, 200, { origin: d.name, origin_server_ts: Date.now(), pdus: before });
    });
    let pageDone = false;
    const paging = call("GET", `/_matrix/client/v3/rooms/${enc(dr.roomId)}/messages?dir=b&limit=20`, undefined, alice.token, 90_000).finally(() => (pageDone = true));
    await seen;
    const m = await message(rooms["one"]!, "while the backfill waits");
    assert.deepEqual(await send([m]), { [m.eventId]: {} });
    await waitUntil("alice's /sync shows the other room's message", async () => (timelineIds(await syncNow(), rooms["one"]!).includes(m.eventId) ? true : undefined));
    assert.equal(pageDone, false, "the page is still waiting for /backfill");
    assert.equal(d.count("backfill"), 1);
    release();
    const page = await paging;
    assert.equal(page.status, 200, page.body);
    const bodies = (page.json()["chunk"] as { content?: { body?: string } }[]).map((e) => e.content?.body);
    assert.ok(bodies.includes("history before the join"), `the backfilled message is in the page: ${page.body}`);
  });
});
