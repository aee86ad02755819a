/**
 * Inbound PUT /send between two in-process Zions over real HTTPS (test CA, IP-literal names on 127.0.0.1, X-Matrix
 * verified with keys B fetches from A's listener), plus a test double "c.test" (a FederationClient signing as c.test,
 * whose key B holds in its key cache because c.test has no address).
 *
 * The room !room:B (v10) is built by the test, each event signed by its sender's server, and stored on B and A:
 *   1 create (alice@B)  2 alice joins  3 power levels (alice 100)  4 join rules public  5 history shared
 *   6 dan@A joins  7 mallory@A joins  8 carol@c.test joins  9 m1 (alice)  10 alice bans mallory
 *   11 server ACL denying c.test
 * A also holds g1, g2, g3 (dan's messages after 11) that B has never seen: A sends g3, and g1, g2 are the gap; then
 * h1 (a topic by dan after g3), the prev event of an h2 that A never stored, so /get_missing_events cannot help.
 *
 * alice is also a real account on B, and a matrix-js-sdk 37.5 client of hers runs its own sync loop for the whole
 * file: the last test has A send a good sentinel message and, once her client holds it, checks that none of the
 * events B refused, rejected or soft-failed ever reached the client, and that the one whose content hash did not
 * match reached it redacted (empty content).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Direction, Filter, RoomEvent, createClient, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";
import { Agent, fetch as undiciFetch } from "undici";
import type { Clock } from "../../src/core/clock.js";
import { publicKeyBase64, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import { buildPdu } from "../../src/core/events/index.js";
import { stateKeyOf, type Pdu, type StateKey } from "../../src/core/events/pdu.js";
import type { EventId, KeyId, RoomId, ServerName } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import { createFederation, type FederationServices } from "../../src/app/federation.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { FederationError, type FederationClient } from "../../src/federation/transport/client.js";
import type { Storage } from "../../src/storage/ports.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { scryptHasher } from "../../src/api/index.js";
import { ipLiteralFederationClient, testHttpsClient } from "../harness/federation-client.js";
import { freePort } from "../harness/ports.js";
import { OPEN_REGISTRATION } from "../harness/rooms-server.js";
import { quietLogger } from "../harness/sdk-logger.js";
import { waitUntil } from "../harness/three-servers.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { createTestCa } from "../harness/test-ca.js";

const clock: Clock = { now: () => Date.now(), sleep: async (ms) => new Promise((r) => setTimeout(r, ms)) };
const V10 = roomVersion("10");

describe("inbound /send through the room pipeline (two Zions and a test double, real HTTPS)", { timeout: 120_000 }, () => {
  let dir: string;
  let a: TestServer;
  let b: TestServer;
  let fedA: FederationServices;
  let https: HttpsClient;
  let c: FederationClient;
  let A: string;
  let B: ServerName;
  const keys: Record<string, SigningKey> = {};
  const events: Pdu[] = [];
  const state = new Map<StateKey, Pdu>();
  const byName: Record<string, Pdu> = {};
  const roomId = () => `!room:${B}` as RoomId;
  let txn = 0;
  /** alice's client on B, its sync loop running, and every room event it was handed (live or paginated), by id. */
  let sdk: MatrixClient;
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  const atClient = new Map<string, MatrixEvent>();
  /** The events B must never hand a client: refused, dropped, rejected or soft-failed (each test adds its own). */
  const neverShown: Array<{ what: string; pdu: Pdu }> = [];

  /** An event of the room (prev: the last event, or `prev`), signed by the sender's server. */
  function make(type: string, sender: string, content: JsonObject, o: { stateKey?: string; prev?: Pdu[]; authState?: Map<StateKey, Pdu>; push?: boolean; ts?: number } = {}): Pdu {
    const st = o.authState ?? state;
    const get = (t: string, k: string) => st.get(stateKeyOf(t, k))?.eventId;
    const auth = [get("m.room.create", ""), get("m.room.power_levels", ""), get("m.room.member", sender)];
    if (type === "m.room.member") auth.push(get("m.room.join_rules", ""), o.stateKey !== sender ? get("m.room.member", o.stateKey!) : undefined);
    const prev = o.prev ?? (events.length ? [events.at(-1)!] : []);
    const server = sender.slice(sender.indexOf(":") + 1);
    const p = buildPdu(V10, {
      type, sender, content, roomId: roomId(), ...(o.stateKey !== undefined ? { stateKey: o.stateKey } : {}),
      prevEvents: prev.map((e) => e.eventId),
      authEvents: type === "m.room.create" ? [] : [...new Set(auth.filter((x): x is EventId => x !== undefined))],
      depth: Math.max(0, ...prev.map((e) => e.depth)) + 1, originServerTs: o.ts ?? 1_000 + events.length,
    }, { serverName: server, key: keys[server]! });
    if (o.push !== false) {
      events.push(p);
      if (o.stateKey !== undefined) state.set(stateKeyOf(type, o.stateKey), p);
    }
    return p;
  }

  async function persistRoom(storage: Storage, list: readonly Pdu[]): Promise<void> {
    const st = new Map<StateKey, EventId>();
    for (const p of list) if (p.stateKey !== undefined) st.set(stateKeyOf(p.type, p.stateKey), p.eventId);
    await storage.events.persistEvents({
      events: list.map((pdu, i) => ({ pdu, stateBefore: i === 0 ? { state: new Map() } : { after: list[i - 1]!.eventId } })),
      rooms: [{ roomId: roomId(), roomVersion: "10", creator: list[0]!.sender }],
      state: [{ roomId: roomId(), set: st }],
      receivedTs: Date.now(),
    });
  }

  /** PUT /send from A (through A's own FederationClient) or from the c.test double. */
  async function send(from: "A" | "c", pdus: unknown[], opts: { txnId?: string; origin?: string; edus?: unknown[] } = {}): Promise<Record<string, { error?: string }>> {
    const client = from === "A" ? fedA.client : c;
    const origin = opts.origin ?? (from === "A" ? A : "c.test");
    const res = await client.request({
      destination: B, method: "PUT", path: `/_matrix/federation/v1/send/${opts.txnId ?? `t${++txn}`}`,
      body: { origin, origin_server_ts: Date.now(), pdus: pdus as JsonObject[], ...(opts.edus ? { edus: opts.edus as JsonObject[] } : {}) },
    });
    return (res.body as { pdus: Record<string, { error?: string }> }).pdus;
  }

  const bStorage = () => b.homeserver!.storage;
  /** The visible timeline of the room on B, as /messages reads it (newest first). */
  async function timeline(): Promise<Pdu[]> {
    const page = await bStorage().events.getRoomEventsTopological(roomId(), { from: { depth: Number.MAX_SAFE_INTEGER, stream: Number.MAX_SAFE_INTEGER }, direction: "b", limit: 1000 });
    return page.events.map((e) => e.pdu);
  }
  const visible = async (id: EventId) => (await timeline()).some((p) => p.eventId === id);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-fedin-"));
    const ca = await createTestCa(dir);
    const [pa, pb] = [await freePort("127.0.0.1"), await freePort("127.0.0.1")];
    A = `127.0.0.1:${pa}`;
    B = `127.0.0.1:${pb}` as ServerName;
    keys[A] = signingKeyFromSeed("a1", randomBytes(32));
    keys[B] = signingKeyFromSeed("b1", randomBytes(32));
    keys["c.test"] = signingKeyFromSeed("c1", randomBytes(32));
    const common = { ip_range_whitelist: ["127.0.0.1/32"], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [] };
    const listener = (port: number) => [{ port, bind_addresses: ["127.0.0.1"], type: "http", tls: true, resources: [{ names: ["federation", "keys"] }] }];
    const leaf = await ca.issue({ ip: ["127.0.0.1"] });
    const tls = { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath };

    const alice = `@alice:${B}`;
    byName["create"] = make("m.room.create", alice, { room_version: "10" }, { stateKey: "" });
    make("m.room.member", alice, { membership: "join" }, { stateKey: alice });
    make("m.room.power_levels", alice, { users: { [alice]: 100 } }, { stateKey: "" });
    make("m.room.join_rules", alice, { join_rule: "public" }, { stateKey: "" });
    make("m.room.history_visibility", alice, { history_visibility: "shared" }, { stateKey: "" });
    byName["dan"] = make("m.room.member", `@dan:${A}`, { membership: "join" }, { stateKey: `@dan:${A}` });
    byName["mallory"] = make("m.room.member", `@mallory:${A}`, { membership: "join" }, { stateKey: `@mallory:${A}` });
    byName["carol"] = make("m.room.member", "@carol:c.test", { membership: "join" }, { stateKey: "@carol:c.test" });
    byName["m1"] = make("m.room.message", alice, { msgtype: "m.text", body: "m1" });
    byName["stateAtM1"] = byName["m1"]; // the state after m1 still has mallory joined
    byName["ban"] = make("m.room.member", alice, { membership: "ban" }, { stateKey: `@mallory:${A}` });
    byName["acl"] = make("m.room.server_acl", alice, { allow: ["*"], deny: ["c.test"] }, { stateKey: "" });
    const onB = [...events];
    byName["g1"] = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "g1" });
    byName["g2"] = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "g2" });
    byName["g3"] = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "g3" });
    byName["h1"] = make("m.room.topic", `@dan:${A}`, { topic: "h1" }, { stateKey: "" });
    // k1: a message of dan's after g3 that only A holds, the prev event of k2 and k3, which A never stored.
    byName["k1"] = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "k1" }, { prev: [byName["g3"]!], push: false });
    const onA = [...events, byName["k1"]!];

    const sb = await openSqliteStorage({ path: join(dir, "b.db") });
    const sa = await openSqliteStorage({ path: join(dir, "a.db") });
    await persistRoom(sb, onB);
    await persistRoom(sa, onA);
    // c.test has no address: B knows its key already (as if fetched through a notary).
    await sb.keys.upsertServerKeys([{
      serverName: "c.test" as ServerName, keyId: keys["c.test"]!.keyId as KeyId, publicKey: publicKeyBase64(keys["c.test"]!),
      validUntilTs: Date.now() + 86_400_000, expiredTs: null, fetchedTs: Date.now(), fetchedFrom: "c.test" as ServerName, keyJson: {},
    }]);
    const clientListener = { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] };
    [a, b] = await Promise.all([
      startTestServer({ serverName: A, tls, signingKey: keys[A]!, storage: sa, config: { listeners: listener(pa), ...common } }),
      startTestServer({
        serverName: B, tls, signingKey: keys[B]!, storage: sb, config: { listeners: [...listener(pb), clientListener], ...common, ...OPEN_REGISTRATION },
        startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
      }),
    ]);
    fedA = createFederation(a.config, { keys: a.homeserver!.storage.keys, signingKeys: a.homeserver!.signingKeys, clock });
    https = testHttpsClient(ca.caCertPem, { requestTimeoutMs: 10_000 });
    c = ipLiteralFederationClient(https, "c.test", keys["c.test"]!, ["127.0.0.1/32"]);

    // alice, the room's creator, signs up on B and syncs: the room built above is hers, joined.
    const r = await createClient({ baseUrl: b.clientUrl!, logger: quietLogger }).registerRequest({ username: "alice", password: "alice password 1", auth: { type: "m.login.dummy" } });
    assert.equal(r.user_id, alice);
    // Its own undici Agent, destroyed at the end: the socket of the /sync that stopClient aborts stays open otherwise,
    // and B's graceful stop would wait its whole 30 s grace for it (as test/harness/crypto-client.ts does).
    const fetchFn = ((input: string | URL, init?: RequestInit) => undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch;
    sdk = createClient({ baseUrl: b.clientUrl!, accessToken: r.access_token!, userId: r.user_id, deviceId: r.device_id!, logger: quietLogger, fetchFn });
    sdk.on(RoomEvent.Timeline, (e: MatrixEvent) => {
      if (e.getRoomId() === roomId()) atClient.set(e.getId()!, e);
    });
    const filter = new Filter(alice);
    filter.setTimelineLimit(100); // every sync carries all that arrived, so nothing could hide in a gap
    await sdk.startClient({ initialSyncLimit: 50, filter });
    await waitUntil("alice's client holds the room, joined", async () => (sdk.getRoom(roomId())?.getMyMembership() === "join" ? true : undefined));
    assert.ok(atClient.has(byName["m1"]!.eventId), "the room's history is in alice's client");
  });
  after(async () => {
    sdk?.stopClient();
    await agent.destroy();
    await fedA?.close();
    await https?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts a message from a joined remote user: {} in pdus, and it is in B's timeline", async () => {
    const m = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "hello from A" }, { prev: [byName["acl"]!], push: false });
    const got = await send("A", [m.raw]);
    assert.deepEqual(got, { [m.eventId]: {} });
    assert.ok(await visible(m.eventId));
    assert.deepEqual((await bStorage().rooms.getForwardExtremities(roomId())), [m.eventId]);
    byName["hello"] = m;
  });

  it("answers a repeated transaction id with the first answer and stores nothing new", async () => {
    const m = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "once" }, { prev: [byName["hello"]!], push: false });
    const first = await send("A", [m.raw], { txnId: "same" });
    const other = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "other" }, { prev: [m], push: false });
    neverShown.push({ what: "the other body of a repeated transaction id", pdu: other });
    const second = await send("A", [other.raw], { txnId: "same" });
    assert.deepEqual(second, first);
    assert.equal((await bStorage().events.haveEvents([other.eventId])).size, 0);
    byName["once"] = m;
  });

  it("refuses a body whose origin is not the signing server (403 M_FORBIDDEN)", async () => {
    await assert.rejects(send("A", [], { origin: "evil.test" }), (e: unknown) => e instanceof FederationError && e.status === 403 && e.errcode === "M_FORBIDDEN");
  });

  it("refuses a /send with 51 PDUs (400 M_BAD_JSON naming the limit of 50) and stores none of them", async () => {
    const pdus = Array.from({ length: 51 }, (_, i) => make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: `bulk ${i}` }, { prev: [byName["once"]!], push: false }));
    neverShown.push(...pdus.map((pdu, i) => ({ what: `PDU ${i + 1} of the 51`, pdu })));
    await assert.rejects(send("A", pdus.map((p) => p.raw)), (e: unknown) => e instanceof FederationError && e.status === 400 && e.errcode === "M_BAD_JSON" && /at most 50 PDUs/.test(e.message));
    assert.equal((await bStorage().events.haveEvents(pdus.map((p) => p.eventId))).size, 0);
  });

  it("drops a forged event (signed with another key under A's key id): an error for it, nothing stored", async () => {
    const forger = signingKeyFromSeed("a1", randomBytes(32));
    const real = keys[A]!;
    keys[A] = forger;
    const m = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "forged" }, { prev: [byName["once"]!], push: false });
    neverShown.push({ what: "the forged event", pdu: m });
    keys[A] = real;
    const got = await send("A", [m.raw]);
    assert.match(got[m.eventId]?.error ?? "", /signatures/);
    assert.equal((await bStorage().events.haveEvents([m.eventId])).size, 0);
  });

  it("stores an event whose content hash does not match redacted: clients see empty content", async () => {
    const m = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "original" }, { prev: [byName["once"]!], push: false });
    const tampered = { ...m.raw, content: { msgtype: "m.text", body: "tampered" } };
    const got = await send("A", [tampered]);
    assert.deepEqual(got, { [m.eventId]: {} });
    const stored = (await timeline()).find((p) => p.eventId === m.eventId);
    assert.ok(stored, "the redacted event is in the timeline");
    assert.deepEqual(stored.content, {});
    byName["redacted"] = m;
  });

  it("rejects an event that fails authorization (a user who never joined): an error naming the rule, stored rejected, not shown", async () => {
    const m = make("m.room.message", `@eve:${A}`, { msgtype: "m.text", body: "not a member" }, { prev: [byName["redacted"]!], push: false });
    neverShown.push({ what: "the event that fails authorization", pdu: m });
    const got = await send("A", [m.raw]);
    assert.match(got[m.eventId]?.error ?? "", /auth rule/);
    const stored = (await bStorage().events.getEvents([m.eventId])).get(m.eventId);
    assert.ok(stored?.rejectionReason);
    assert.equal(await visible(m.eventId), false);
  });

  it("drops an event from a server the room's m.room.server_acl denies: nothing stored", async () => {
    const m = make("m.room.message", "@carol:c.test", { msgtype: "m.text", body: "from c" }, { prev: [byName["redacted"]!], push: false });
    neverShown.push({ what: "the event from the server the ACL denies", pdu: m });
    const got = await send("c", [m.raw]);
    assert.match(got[m.eventId]?.error ?? "", /server_acl denies c\.test/);
    assert.equal((await bStorage().events.haveEvents([m.eventId])).size, 0);
  });

  it("soft-fails a message from a banned user whose prev event's state still lets them speak: stored, not shown, not an extremity", async () => {
    const stateAtM1 = new Map([...state].filter(([k]) => k !== stateKeyOf("m.room.server_acl", "")));
    stateAtM1.set(stateKeyOf("m.room.member", `@mallory:${A}`), byName["mallory"]!);
    const m = make("m.room.message", `@mallory:${A}`, { msgtype: "m.text", body: "still here?" }, { prev: [byName["m1"]!], authState: stateAtM1, push: false });
    neverShown.push({ what: "the soft-failed event", pdu: m });
    const got = await send("A", [m.raw]);
    assert.deepEqual(got, { [m.eventId]: {} });
    const stored = (await bStorage().events.getEvents([m.eventId])).get(m.eventId);
    assert.equal(stored?.softFailed, true);
    assert.equal(stored?.rejectionReason, null);
    assert.equal(await visible(m.eventId), false);
    assert.ok(!(await bStorage().rooms.getForwardExtremities(roomId())).includes(m.eventId));
  });

  it("fills a prev-event gap with /get_missing_events from A: g1 and g2 are fetched and shown before g3", async () => {
    const g3 = byName["g3"]!;
    const got = await send("A", [g3.raw]);
    assert.deepEqual(got, { [g3.eventId]: {} });
    const ids = (await timeline()).map((p) => p.eventId);
    for (const e of [byName["g1"]!, byName["g2"]!, g3]) assert.ok(ids.includes(e.eventId), `${e.content["body"]} is in the timeline`);
    assert.ok(ids.indexOf(g3.eventId) < ids.indexOf(byName["g2"]!.eventId), "newest first: g3 before g2");
  });

  it("fills a gap /get_missing_events cannot with /state_ids and /event: h1 stored as an outlier, h2 accepted with the state at h1 (h1 itself, rejected, left out)", async () => {
    const h1 = byName["h1"]!;
    neverShown.push({ what: "h1, rejected", pdu: h1 });
    const h2 = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "h2" }, { prev: [h1], push: false });
    const got = await send("A", [h2.raw]);
    assert.deepEqual(got, { [h2.eventId]: {} });
    assert.ok(await visible(h2.eventId));
    const stored = (await bStorage().events.getEvents([h1.eventId])).get(h1.eventId);
    assert.equal(stored?.outlier, true);
    // h1 is a topic by dan, whose level 0 is under the 50 m.room.topic needs: rejected against its auth events, so
    // it changes no state, and the state before h2 is the state at h1 without it.
    assert.match((await bStorage().events.getEvents([h1.eventId])).get(h1.eventId)?.rejectionReason ?? "", /m\.room\.topic needs level 50/);
    assert.equal(await bStorage().state.getStateEventAt(h2.eventId, "m.room.topic", "", "before"), null, "a rejected event is not in the gap's state");
    assert.equal(await bStorage().state.getStateEventAt(h2.eventId, "m.room.member", `@dan:${A}`, "before"), byName["dan"]!.eventId, "the rest of the state at h1 is");
  });

  it("k2, whose prev event k1 only A holds, stores k1 as an outlier; k3, citing that outlier, takes the state at it from /state_ids", async () => {
    const k1 = byName["k1"]!;
    const k2 = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "k2" }, { prev: [k1], push: false });
    assert.deepEqual(await send("A", [k2.raw]), { [k2.eventId]: {} });
    assert.equal((await bStorage().events.getEvents([k1.eventId])).get(k1.eventId)?.outlier, true);
    // An outlier has no state after it: k3 must not be judged on an empty state (it would be rejected: no create event).
    const k3 = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "k3" }, { prev: [k1], push: false });
    assert.deepEqual(await send("A", [k3.raw]), { [k3.eventId]: {} });
    assert.ok(await visible(k3.eventId));
    assert.equal(await bStorage().state.getStateEventAt(k3.eventId, "m.room.create", "", "before"), byName["create"]!.eventId);
    assert.equal(await bStorage().state.getStateEventAt(k3.eventId, "m.room.member", `@dan:${A}`, "before"), byName["dan"]!.eventId);
  });

  it("an outlier that later arrives in a /send (k1, first seen at a gap) joins the timeline instead of being ignored as known", async () => {
    const k1 = byName["k1"]!;
    assert.equal(await visible(k1.eventId), false);
    assert.deepEqual(await send("A", [k1.raw]), { [k1.eventId]: {} });
    assert.equal((await bStorage().events.getEvents([k1.eventId])).get(k1.eventId)?.outlier, false);
    assert.ok(await visible(k1.eventId), "k1 is in the timeline now");
  });

  it("a PDU whose prev event nobody can supply gets an error, and the transaction's other PDU is accepted", async () => {
    const orphan = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "orphan" }, { prev: [{ ...byName["redacted"]!, eventId: "$nowhere" as EventId }], push: false });
    neverShown.push({ what: "the orphan", pdu: orphan });
    const fine = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "beside the orphan" }, { prev: [byName["redacted"]!], push: false });
    const got = await send("A", [orphan.raw, fine.raw]);
    assert.match(got[orphan.eventId]?.error ?? "", /cannot fetch the state at prev event \$nowhere/);
    assert.deepEqual(got[fine.eventId], {});
    assert.equal((await bStorage().events.haveEvents([orphan.eventId])).size, 0);
    assert.ok(await visible(fine.eventId));
  });

  it("processes one room's failing PDU without failing the others of the transaction", async () => {
    const ok = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "fine" }, { prev: [byName["redacted"]!], push: false });
    const unsigned = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "unsigned" }, { prev: [byName["redacted"]!], push: false });
    neverShown.push({ what: "the unsigned event", pdu: unsigned });
    const bad = { ...unsigned.raw, signatures: {} };
    const unknownRoom = { ...ok.raw, room_id: `!nowhere:${B}`, event_id: "$x" };
    const got = await send("A", [bad, ok.raw, unknownRoom]);
    assert.deepEqual(got[ok.eventId], {});
    assert.match(got[unsigned.eventId]?.error ?? "", /signatures/);
    assert.ok(await visible(ok.eventId));
    assert.equal((await bStorage().events.haveEvents([unsigned.eventId])).size, 0);
  });

  it("alice's matrix-js-sdk client on B never receives an event B refused, dropped, rejected or soft-failed, and gets the one with a bad content hash only redacted", async () => {
    assert.equal(neverShown.length, 59, "the earlier tests named the 59 bad events");
    const sentinel = make("m.room.message", `@dan:${A}`, { msgtype: "m.text", body: "sentinel after the bad events" }, { prev: [byName["redacted"]!], push: false });
    assert.deepEqual(await send("A", [sentinel.raw]), { [sentinel.eventId]: {} });
    await waitUntil("alice's client holds the sentinel", async () => (atClient.has(sentinel.eventId) ? true : undefined));
    // Also page back through the whole room with the client's own /messages (each page adds to atClient).
    const room = sdk.getRoom(roomId())!;
    for (let i = 0; i < 20 && room.getLiveTimeline().getPaginationToken(Direction.Backward) !== null; i++) await sdk.scrollback(room, 100);
    assert.ok(atClient.has(byName["create"]!.eventId), "the client paged back to the room's creation");
    // The good events of the file reached the client, so a missing bad one is not a missing sync.
    for (const good of ["hello", "once", "g1", "g2", "g3", "k1"]) assert.ok(atClient.has(byName[good]!.eventId), `${good} is at the client`);

    const bodies = new Set([...atClient.values()].map((e) => e.getContent()["body"]).filter((x) => x !== undefined));
    for (const { what, pdu } of neverShown) {
      assert.equal(atClient.has(pdu.eventId), false, `${what} (${pdu.eventId}) reached the client`);
      const body = pdu.content["body"];
      if (typeof body === "string") assert.equal(bodies.has(body), false, `the body of ${what} ("${body}") reached the client`);
    }
    // The bad hash: stored redacted, so shown with empty content, and neither body (signed nor tampered) shows.
    const redacted = atClient.get(byName["redacted"]!.eventId);
    assert.ok(redacted, "the event with the bad content hash is at the client");
    assert.deepEqual(redacted.getContent(), {});
    assert.equal(bodies.has("original") || bodies.has("tampered"), false, "no body of the bad-hash event reached the client");
  });
});
