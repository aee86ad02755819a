/**
 * Joining a big room with members omitted (rooms/partial-state.ts), between two in-process Zions over real HTTPS
 * (test CA, IP-literal names in 127.0.40.0/24): hs1 holds a room of MEMBERS seeded members (local joins through its
 * room pipeline, not registrations), hs2's user, a matrix-js-sdk client syncing with lazy-loaded members as Element
 * does, joins it with omit_members. While partial (hs2's completer stopped before the join, so all of this happens
 * while partial): the client sends at once and gets its remote echo, `/messages` answers with the room's events, a
 * lazy-loading /sync shows the room without member counts, a non-lazy one leaves it out, a member joining on hs1
 * reaches hs2; in a second, encrypted room joined the same way the client sends an `m.room.encrypted` event at once
 * (it reaches hs1) and `/keys/query` answers for hs1's user. hs2 is restarted (the client's /sync loop stopped
 * meanwhile and started again on the same store, so it resumes with its token), resumes the completion at start-up,
 * and then /members lists everyone, the client's room shows the right member count (`Room.getJoinedMemberCount()`,
 * from the summary of its next incremental sync), /messages backfills the history before the join from hs1, and
 * the next raw /syncs carry the right count (lazy) and the room with its state (not lazy).
 *
 * Then completions while the process runs, hs1 reached through a proxy (test/harness/holding-proxy.ts) that holds
 * the completion's `/state_ids` at hs1's door until the test lets it go, so what happens "during the completion"
 * is ordered by the hold, not by a clock. In a second big room (MEMBERS members): the client sends at once (hs1
 * gets it) and `/messages` answers while the completion waits, `/members` waits for it (as Synapse's does while
 * partial), and once it is released, with no restart, that `/members` lists everyone and the client's own sync
 * loop shows the right count. In a second encrypted room, a Rust-crypto client of bob (lazy-loading members, as
 * Element does) queries the keys of carol (hs1's user, in that room only) over federation while partial; its
 * encrypted send waits for the member list it shares its room key with (`/members`, so the completion), then goes,
 * and carol's Rust-crypto client on hs1 decrypts it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import { systemClock } from "../../src/app/clock.js";
import { ClientEvent, Direction, MemoryStore, MsgType, SyncState, createClient, type MatrixClient, type Room } from "matrix-js-sdk";
import type { Clock } from "../../src/core/clock.js";
import { buildPdu, stateKeyOf, type StateKey } from "../../src/core/events/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import type { EventToPersist } from "../../src/storage/ports.js";
import { clientCaller } from "../harness/http-get.js";
import { quietLogger } from "../harness/sdk-logger.js";
import { freePort } from "../harness/ports.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { startHoldingProxy, type HoldingProxy } from "../harness/holding-proxy.js";
import { CryptoClients, loginNewDevice, waitForDecryptedEvent, waitUntil } from "../harness/crypto-client.js";

const MEMBERS = Number(process.env["ZION_PARTIAL_JOIN_MEMBERS"] ?? 10_000);
const IPS = ["127.0.40.1", "127.0.40.2"] as const;
// The real clock: its sleeps end when aborted (a completion's back-off, a /members wait), so none outlives the servers.
const clock: Clock = systemClock;
const cheap = scryptHasher({ ln: 10 });
const generous = { per_second: 1000, burst_count: 1000 };
const LAZY = encodeURIComponent(JSON.stringify({ room: { state: { lazy_load_members: true }, timeline: { limit: 5 } } }));
const FULL = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 5 } } }));

/**
 * MEMBERS local users' joins of hs1's room, fast: each a join signed by hs1 (as its pipeline would build it, on the
 * one before it, with the create, join rules and power levels as auth events), written straight to hs1's storage in
 * batches of 1,000 with their state and current state, rather than 10,000 sends through the room queue.
 */
async function seedMembers(server: TestServer, roomId: RoomId, count: number): Promise<void> {
  const storage = server.homeserver!.storage;
  const rules = roomVersion((await storage.rooms.getRoom(roomId))!.roomVersion);
  const sign = { serverName: server.serverName as ServerName, key: server.signingKey };
  const auth = (await Promise.all([["m.room.create", ""], ["m.room.join_rules", ""], ["m.room.power_levels", ""]].map(([t, k]) => storage.rooms.getCurrentStateEventId(roomId, t!, k!)))).filter((x): x is EventId => x !== null);
  let [prevId] = await storage.rooms.getForwardExtremities(roomId);
  let depth = (await storage.events.getPdus([prevId!])).get(prevId!)!.depth;
  for (let start = 0; start < count; start += 1_000) {
    const events: EventToPersist[] = [];
    const set = new Map<StateKey, EventId>();
    for (let i = start; i < Math.min(count, start + 1_000); i++) {
      const u = `@m${i}:${server.serverName}`;
      const pdu = buildPdu(rules, { type: "m.room.member", stateKey: u, sender: u as UserId, roomId, content: { membership: "join" }, prevEvents: [prevId!], authEvents: auth, depth: ++depth, originServerTs: Date.now() }, sign);
      events.push({ pdu, stateBefore: { after: prevId! } });
      set.set(stateKeyOf("m.room.member", u), pdu.eventId);
      prevId = pdu.eventId;
    }
    await storage.events.persistEvents({ events, state: [{ roomId, set }], receivedTs: Date.now() });
  }
}

/** An in-memory store whose sync token survives stopClient/startClient, so the client resumes with an incremental sync. */
class ResumingStore extends MemoryStore {
  override async getSavedSyncToken(): Promise<string | null> {
    return this.getSyncToken();
  }
}

describe("joining a big room with members omitted (two Zions, real HTTPS, hs2's user a matrix-js-sdk client)", { timeout: 600_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let tls: { certificatePath: string; privateKeyPath: string };
  const hs: TestServer[] = [];
  const names: ServerName[] = [];
  const clientPorts: number[] = [];
  const fedPorts: number[] = [];
  const tokens: string[] = [];
  const users: UserId[] = [];
  let roomId: RoomId;
  let encryptedRoomId: RoomId;
  /** Joined while hs2 runs (the completion observed while running, not resumed at start-up). */
  let bigRoomId: RoomId;
  let encryptedRoom2Id: RoomId;
  /** hs1's user who made encryptedRoom2Id, in no other room. */
  let carol: UserId;
  /** hs1's federation address (its server name): a proxy passing everything through to hs1 but what a test holds. */
  let proxy: HoldingProxy;
  const clients = new CryptoClients();
  /** hs2's user, bob: a matrix-js-sdk client syncing with lazy-loaded members, as Element does. */
  let bob: MatrixClient;
  const call = (i: number) => clientCaller(() => hs[i]!.clientUrl);

  const start = async (i: number, reuse?: TestServer): Promise<TestServer> => startTestServer({
    serverName: names[i]!, tls, dir: join(dir, `hs${i + 1}`), ...(reuse ? { signingKey: reuse.signingKey } : {}),
    config: {
      listeners: [
        { port: fedPorts[i], bind_addresses: [IPS[i]], type: "http", tls: true, resources: [{ names: ["federation", "keys"] }] },
        { port: clientPorts[i], bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] },
      ],
      ip_range_whitelist: ["127.0.40.0/24"], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [],
      enable_registration: true, enable_registration_without_verification: true,
      rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous },
      federation: { destination_min_retry_interval: "1s", destination_max_retry_interval: "2s" },
    },
    startOptions: { clock, passwordHasher: cheap },
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-pjoin-"));
    ca = await createTestCa(dir);
    const leaf = await ca.issue({ ip: [...IPS] });
    tls = { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath };
    // hs1 is named by the proxy's address; hs1 itself listens on another port behind it. hs2 reaches hs1 only
    // through the proxy (its name resolves there); hs1 reaches hs2 directly.
    const proxyPort = await freePort(IPS[0]);
    for (let i = 0; i < 2; i++) {
      fedPorts.push(await freePort(IPS[i]!));
      clientPorts.push(await freePort("127.0.0.1"));
      names.push(`${IPS[i]}:${i === 0 ? proxyPort : fedPorts[i]}` as ServerName);
    }
    proxy = await startHoldingProxy({ host: IPS[0], port: proxyPort }, { host: IPS[0], port: fedPorts[0]! }, { ...tls, caPath: ca.caCertPath });
    for (let i = 0; i < 2; i++) hs.push(await start(i));
    const r = await call(0)("POST", "/_matrix/client/v3/register", { username: "alice", password: "pw-123456", auth: { type: "m.login.dummy" } });
    assert.equal(r.status, 200, r.body);
    tokens.push(r.json()["access_token"] as string);
    users.push(r.json()["user_id"] as UserId);
    const reg = await createClient({ baseUrl: hs[1]!.clientUrl!, logger: quietLogger }).registerRequest({ username: "bob", password: "pw-123456", auth: { type: "m.login.dummy" } });
    tokens.push(reg.access_token!);
    users.push(reg.user_id as UserId);
    bob = createClient({ baseUrl: hs[1]!.clientUrl!, accessToken: reg.access_token!, userId: reg.user_id, deviceId: reg.device_id!, store: new ResumingStore(), logger: quietLogger });
    const created = await call(0)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "big" }, tokens[0]);
    assert.equal(created.status, 200, created.body);
    roomId = created.json()["room_id"] as RoomId;
    await seedMembers(hs[0]!, roomId, MEMBERS);
    const encrypted = await call(0)("POST", "/_matrix/client/v3/createRoom", {
      preset: "public_chat", name: "secret", initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
    }, tokens[0]);
    assert.equal(encrypted.status, 200, encrypted.body);
    encryptedRoomId = encrypted.json()["room_id"] as RoomId;
    await seedMembers(hs[0]!, encryptedRoomId, 50);
    const big2 = await call(0)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "big, joined while running" }, tokens[0]);
    assert.equal(big2.status, 200, big2.body);
    bigRoomId = big2.json()["room_id"] as RoomId;
    await seedMembers(hs[0]!, bigRoomId, MEMBERS);
    // carol, on hs1, is in this room only: hs2 never shared a complete room with her, so it knows nothing of her
    // devices and must ask hs1 for them while the room is partial.
    const c = await call(0)("POST", "/_matrix/client/v3/register", { username: "carol", password: "pw-123456", auth: { type: "m.login.dummy" } });
    assert.equal(c.status, 200, c.body);
    carol = c.json()["user_id"] as UserId;
    const encrypted2 = await call(0)("POST", "/_matrix/client/v3/createRoom", {
      preset: "public_chat", name: "secret, joined while running", initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
    }, c.json()["access_token"] as string);
    assert.equal(encrypted2.status, 200, encrypted2.body);
    encryptedRoom2Id = encrypted2.json()["room_id"] as RoomId;
    await seedMembers(hs[0]!, encryptedRoom2Id, 50);
  });
  after(async () => {
    bob?.stopClient();
    await clients.stopAll();
    await Promise.all(hs.map((s) => s.stop()));
    await proxy?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sync = async (filter: string, since?: string) => {
    const r = await call(1)("GET", `/_matrix/client/v3/sync?filter=${filter}&timeout=0${since ? `&since=${encodeURIComponent(since)}` : ""}`, undefined, tokens[1]);
    assert.equal(r.status, 200, r.body);
    return r.json() as { next_batch: string; rooms?: { join?: Record<string, { summary?: Record<string, unknown>; state?: { events: unknown[] } }> } };
  };
  const until = async (what: string, f: () => Promise<boolean> | boolean, describeLast?: () => string) => {
    for (let i = 0; i < 600; i++) {
      if (await f()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`timed out waiting for ${what}${describeLast ? ` (${describeLast()})` : ""}`);
  };
  /** Bob's client's view of a room once it has it joined (from its /sync). */
  const bobsRoom = async (id: RoomId): Promise<Room> => {
    await until(`bob's client to have ${id} joined`, () => bob.getRoom(id)?.getMyMembership() === "join");
    return bob.getRoom(id)!;
  };
  const timelineHas = (room: Room, f: (type: string, content: Record<string, unknown>, stateKey: string | undefined) => boolean): boolean =>
    room.getLiveTimeline().getEvents().some((e) => f(e.getType(), e.getContent(), e.getStateKey()));

  /** Starts bob's /sync loop and waits until it has synced (again, after a restart: incremental from its store's token). */
  const startBob = async (): Promise<void> => {
    const ready = new Promise<void>((resolve) => {
      const f = (state: SyncState) => {
        if (state !== SyncState.Prepared && state !== SyncState.Syncing) return;
        bob.off(ClientEvent.Sync, f);
        resolve();
      };
      bob.on(ClientEvent.Sync, f);
    });
    await bob.startClient({ lazyLoadMembers: true, initialSyncLimit: 20 });
    await ready;
  };

  let lazyToken = "";
  let fullToken = "";
  const late = () => `@late:${names[0]}` as UserId;

  it("joins with members omitted, sends at once, answers /messages, and hides the partial member list from /sync; a member joining meanwhile reaches hs2", async () => {
    // hs2's completer is stopped before the join, so no completion starts and the room stays partial for this whole
    // test however fast or slow the machine is; the restart below resumes it (a completion while running is the
    // fourth test's, on the restarted hs2).
    hs[1]!.homeserver!.rooms.partialState!.stop();
    await startBob();
    await bob.joinRoom(roomId, { viaServers: [names[0]!] });
    const storage2 = hs[1]!.homeserver!.storage;
    assert.notEqual(await storage2.rooms.getPartialStateRoom(roomId), null, "the room is partial on hs2");
    const { event_id: sentId } = await bob.sendMessage(roomId, { msgtype: MsgType.Text, body: "hello, big room" });
    assert.match(sentId, /^\$/);
    const room = await bobsRoom(roomId);
    await until("bob's message in his client's timeline", () => timelineHas(room, (t, c) => t === "m.room.message" && c["body"] === "hello, big room"));
    const lazy = await sync(LAZY);
    lazyToken = lazy.next_batch;
    const full = await sync(FULL);
    fullToken = full.next_batch;
    await hs[0]!.homeserver!.rooms.send(roomId, { type: "m.room.member", stateKey: late(), sender: late(), content: { membership: "join" } });
    await until("hs2 to receive the late join", async () => (await storage2.rooms.getMembership(roomId, late()))?.membership === "join");
    await until("the late join in bob's client", () => timelineHas(room, (t, c, k) => t === "m.room.member" && k === late() && c["membership"] === "join"));
    assert.notEqual(await storage2.rooms.getPartialStateRoom(roomId), null, "the room is partial on hs2");
    const lazyRoom = lazy.rooms?.join?.[roomId];
    assert.ok(lazyRoom, "a lazy-loading client sees the partial room at once");
    assert.equal(lazyRoom.summary?.["m.joined_member_count"], undefined, "with no member count while partial");
    assert.equal(full.rooms?.join?.[roomId], undefined, "a client not lazy-loading members does not see the room yet");
    assert.equal((await storage2.rooms.getMembership(roomId, `@m0:${names[0]}` as UserId)), null, "an omitted member is unknown while partial");
    assert.ok(room.getJoinedMemberCount() < MEMBERS, `with no count from the server, the client counts only the members it loaded (${room.getJoinedMemberCount()})`);
    // /messages answers while partial, newest first, with what hs2 holds of the room.
    const page = await bob.createMessagesRequest(roomId, null, 10, Direction.Backward);
    const bodies = page.chunk.map((e) => [e.type, (e as { state_key?: string }).state_key ?? "", (e.content as Record<string, unknown>)["body"] ?? (e.content as Record<string, unknown>)["membership"]]);
    assert.deepEqual(bodies.slice(0, 3), [["m.room.member", late(), "join"], ["m.room.message", "", "hello, big room"], ["m.room.member", users[1], "join"]], JSON.stringify(bodies));
    assert.equal(await storage2.rooms.getPartialStateRoom(roomId) !== null, true, "still partial after /messages");
  });

  it("sends into an encrypted room joined with members omitted at once, and /keys/query answers for its members on hs1", async () => {
    await bob.joinRoom(encryptedRoomId, { viaServers: [names[0]!] });
    assert.notEqual(await hs[1]!.homeserver!.storage.rooms.getPartialStateRoom(encryptedRoomId), null, "the encrypted room is partial on hs2");
    const room = await bobsRoom(encryptedRoomId);
    await until("the room's encryption in bob's client", () => room.hasEncryptionStateEvent());
    // What an encrypting client sends (the ciphertext is opaque to the servers); matrix-js-sdk sends an event
    // already of type m.room.encrypted as it is.
    const ciphertext = { algorithm: "m.megolm.v1.aes-sha2", sender_key: "c2VuZGVyIGtleQ", ciphertext: "b3BhcXVl", session_id: "c2Vzc2lvbg", device_id: bob.getDeviceId()! };
    const { event_id: sentId } = await bob.sendEvent(encryptedRoomId, "m.room.encrypted" as never, ciphertext as never);
    await until("the encrypted event on hs1", async () => (await hs[0]!.homeserver!.storage.events.getPdus([sentId as EventId])).has(sentId as EventId));
    const keys = await bob.downloadKeysForUsers([users[0]!]);
    assert.deepEqual(keys.failures ?? {}, {}, "hs1 answered the key query");
    assert.ok(keys.device_keys && users[0]! in keys.device_keys, JSON.stringify(keys));
    assert.notEqual(await hs[1]!.homeserver!.storage.rooms.getPartialStateRoom(encryptedRoomId), null, "still partial");
    // A restart while partial. The client's /sync loop stops first: a graceful stop lets a waiting /sync run out its
    // 30 s before closing its connection.
    bob.stopClient();
    await hs[1]!.stop();
  });

  it("resumes the completion at start-up; /members then lists every member, the client shows the right count, and the next syncs carry the count and the state", async () => {
    hs[1] = await start(1, hs[1]);
    const expected = MEMBERS + 3; // alice, the seeded members, @late, bob
    // /members waits for the completion (at most 60 s, then 503), which fetches and checks the whole state now.
    const asked = Date.now();
    const members = await call(1)("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/members?membership=join`, undefined, tokens[1], 90_000);
    console.log(`# /members answered ${Date.now() - asked} ms after the restart's request (the completion of ${MEMBERS} members)`);
    assert.equal(members.status, 200, members.body);
    const ids = (members.json()["chunk"] as { state_key: string }[]).map((e) => e.state_key);
    assert.equal(ids.length, expected);
    assert.ok(ids.includes(late()) && ids.includes(users[0]!) && ids.includes(users[1]!) && ids.includes(`@m${MEMBERS - 1}:${names[0]}`));
    assert.equal(await hs[1]!.homeserver!.storage.rooms.getPartialStateRoom(roomId), null);
    assert.equal((await hs[1]!.homeserver!.storage.rooms.getMembership(roomId, `@m0:${names[0]}` as UserId))?.membership, "join");
    // The client, its /sync loop started again on the restarted server, gets the room's summary with the counts.
    await startBob();
    const room = bob.getRoom(roomId)!;
    await until(`bob's client to count ${expected} joined members`, () => room.getJoinedMemberCount() === expected, () => `it counts ${room.getJoinedMemberCount()}`);
    const lazy = await sync(LAZY, lazyToken);
    assert.equal(lazy.rooms?.join?.[roomId]?.summary?.["m.joined_member_count"], expected, "the lazy client's next sync has the right count");
    const full = await sync(FULL, fullToken);
    const state = full.rooms?.join?.[roomId]?.state?.events ?? [];
    assert.ok(state.length >= expected - 1, `the non-lazy client now gets the room with its whole state (${state.length} state events)`);
    const joinedMembers = await call(1)("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`, undefined, tokens[1]);
    assert.equal(Object.keys(joinedMembers.json()["joined"] as object).length, expected);
    // The encrypted room completed too: its member list is whole (what an encrypting client shares its keys with).
    const encMembers = await call(1)("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(encryptedRoomId)}/joined_members`, undefined, tokens[1], 90_000);
    assert.equal(encMembers.status, 200, encMembers.body);
    assert.equal(Object.keys(encMembers.json()["joined"] as object).length, 52); // alice, 50 seeded, bob
    // /messages now backfills the history before bob's join from hs1 (while partial, the state before those events
    // lacked the omitted members, so backfill left them out).
    const older = await bob.createMessagesRequest(roomId, null, 20, Direction.Backward);
    const olderMembers = older.chunk.filter((e) => e.type === "m.room.member").map((e) => (e as { state_key?: string }).state_key);
    assert.ok(olderMembers.includes(`@m${MEMBERS - 1}:${names[0]}`), `the last seeded member's join is backfilled (${JSON.stringify(olderMembers)})`);
    // Both servers agree after a message from hs1 (the room's events still flow both ways), and bob's client gets it.
    const sent = await call(0)("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/a1`, { msgtype: "m.text", body: "welcome" }, tokens[0]);
    assert.equal(sent.status, 200, sent.body);
    await until("hs1's welcome in bob's client", () => timelineHas(room, (t, c) => t === "m.room.message" && c["body"] === "welcome"));
  });

  /**
   * Holds the completion of `id` at hs1's door: its /state_ids for the state at the join, until released. Until the
   * join's id is known (`joined()`) every /state_ids of the room is held (only the completion asks, from the join
   * on); from then, only those naming the join, so that backfill's (the state at older events) goes through.
   */
  const holdCompletion = (id: RoomId) => {
    let join: string | undefined;
    const prefix = `/_matrix/federation/v1/state_ids/${encodeURIComponent(id)}?`;
    const held = proxy.hold((path) => path.startsWith(prefix) && (join === undefined || new URLSearchParams(path.slice(prefix.length)).get("event_id") === join));
    return {
      held,
      joined: async (): Promise<string> => (join = (await hs[1]!.homeserver!.storage.rooms.getPartialStateRoom(id))!.joinEventId),
    };
  };
  const asksForStateAt = (path: string, eventId: string) => new URLSearchParams(path.slice(path.indexOf("?") + 1)).get("event_id") === eventId;

  it("completes while running: during the completion the client sends at once and /messages answers while /members waits; once complete, with no restart, /members lists everyone and the client's own sync shows the count", async () => {
    const completer = hs[1]!.homeserver!.rooms.partialState!;
    const storage2 = hs[1]!.homeserver!.storage;
    const expected = MEMBERS + 2; // alice, the seeded members, bob
    // Bob's client syncs since the restart above (started here when that test ended before starting it).
    if (!bob.clientRunning) await startBob();
    const { held, joined } = holdCompletion(bigRoomId);
    await bob.joinRoom(bigRoomId, { viaServers: [names[0]!] });
    assert.notEqual(await storage2.rooms.getPartialStateRoom(bigRoomId), null, "the room is partial on hs2");
    const joinId = await joined();
    // The completion has started and asked hs1 for the state at the join; that request is held.
    await held.arrived;
    assert.ok(asksForStateAt(held.paths()[0]!, joinId), held.paths()[0]);
    const { event_id: sentId } = await bob.sendMessage(bigRoomId, { msgtype: MsgType.Text, body: "hello while completing" });
    await until("bob's message on hs1", async () => (await hs[0]!.homeserver!.storage.events.getPdus([sentId as EventId])).has(sentId as EventId));
    const room = await bobsRoom(bigRoomId);
    await until("bob's message in his client's timeline", () => timelineHas(room, (t, c) => t === "m.room.message" && c["body"] === "hello while completing"));
    const page = await bob.createMessagesRequest(bigRoomId, null, 10, Direction.Backward);
    const newest = page.chunk.slice(0, 2).map((e) => [e.type, (e.content as Record<string, unknown>)["body"] ?? (e as { state_key?: string }).state_key]);
    assert.deepEqual(newest, [["m.room.message", "hello while completing"], ["m.room.member", users[1]]], JSON.stringify(newest));
    // /members waits for the whole member list (a partial one would be wrong): asked now, it cannot answer while the
    // completion's /state_ids is held.
    let membersAnswered = false;
    const pending = call(1)("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(bigRoomId)}/members?membership=join`, undefined, tokens[1], 120_000)
      .finally(() => { membersAnswered = true; });
    await until("the /members request waiting for the completion", () => completer.waitingFor(bigRoomId) > 0);
    assert.equal(membersAnswered, false, "/members waits while the completion is under way");
    assert.ok(held.paths().every((p) => asksForStateAt(p, joinId)), `only the completion's requests are held (${JSON.stringify(held.paths())})`);
    assert.notEqual(await storage2.rooms.getPartialStateRoom(bigRoomId), null, "still partial");
    assert.ok(room.getJoinedMemberCount() < expected, `while partial the client counts only the members it loaded (${room.getJoinedMemberCount()})`);
    const asked = Date.now();
    held.release();
    const members = await pending;
    console.log(`# /members answered ${Date.now() - asked} ms after the release (the completion of ${MEMBERS} members, hs2 running)`);
    assert.equal(members.status, 200, members.body);
    const ids = (members.json()["chunk"] as { state_key: string }[]).map((e) => e.state_key);
    assert.equal(ids.length, expected);
    assert.ok(ids.includes(users[0]!) && ids.includes(users[1]!) && ids.includes(`@m0:${names[0]}`) && ids.includes(`@m${MEMBERS - 1}:${names[0]}`));
    assert.equal(await storage2.rooms.getPartialStateRoom(bigRoomId), null, "complete");
    // The client's /sync loop, never stopped, gets the room's summary with the counts from the completion's wake-up.
    await until(`bob's client to count ${expected} joined members`, () => room.getJoinedMemberCount() === expected, () => `it counts ${room.getJoinedMemberCount()}`);
    const again = await bob.members(bigRoomId, undefined, "leave");
    assert.equal(again.chunk?.length, expected, "the next /members (the client's own, at its sync token) lists everyone at once");
  });

  it("lets a Rust-crypto client send into an encrypted room joined with members omitted: it gets hs1's keys over federation while partial, its send waits for the member list, and carol's client on hs1 decrypts it", async () => {
    const completer = hs[1]!.homeserver!.rooms.partialState!;
    const storage2 = hs[1]!.homeserver!.storage;
    // Only the encrypting client asks for /members below (bob's plain client would not, but leaves no doubt).
    bob.stopClient();
    const carols = await clients.start(await loginNewDevice(hs[0]!.clientUrl!, carol, "pw-123456"));
    await waitUntil("the room encrypted in carol's client", async () => (await carols.crypto.isEncryptionEnabledInRoom(encryptedRoom2Id)) === true);
    const { held, joined } = holdCompletion(encryptedRoom2Id);
    const bob2 = await clients.start(await loginNewDevice(hs[1]!.clientUrl!, users[1]!, "pw-123456"), { lazyLoadMembers: true });
    await bob2.client.joinRoom(encryptedRoom2Id, { viaServers: [names[0]!] });
    assert.notEqual(await storage2.rooms.getPartialStateRoom(encryptedRoom2Id), null, "the room is partial on hs2");
    const joinId = await joined();
    await held.arrived;
    assert.ok(asksForStateAt(held.paths()[0]!, joinId), held.paths()[0]);
    await waitUntil("the room joined and encrypted in bob's Rust-crypto client", async () =>
      bob2.client.getRoom(encryptedRoom2Id)?.getMyMembership() === "join" && (await bob2.crypto.isEncryptionEnabledInRoom(encryptedRoom2Id)));
    // The Rust crypto's /keys/query for carol: hs2, which shares no complete room with her, asks hs1 over
    // federation, while it still has partial state.
    const keyQueries = proxy.watch((path) => path.startsWith("/_matrix/federation/v1/user/keys/query"));
    const devices = await bob2.crypto.getUserDeviceInfo([carol], true);
    assert.ok(devices.get(carol)?.has(carols.creds.deviceId), `carol's device from hs1 (${JSON.stringify([...(devices.get(carol)?.keys() ?? [])])})`);
    assert.ok(keyQueries.paths().length > 0, "hs2 asked hs1 for carol's keys over federation");
    assert.notEqual(await storage2.rooms.getPartialStateRoom(encryptedRoom2Id), null, "still partial after the key query");
    // Before it encrypts, the client loads the member list it shares its room key with; that /members waits for the
    // completion, so the send waits too (rather than sharing the key with the few members hs2 knows).
    let sent = false;
    const sending = bob2.client.sendMessage(encryptedRoom2Id, { msgtype: MsgType.Text, body: "a secret, sent while partial" }).finally(() => { sent = true; });
    await until("the encrypting client's /members waiting for the completion", () => completer.waitingFor(encryptedRoom2Id) > 0);
    assert.equal(sent, false, "the send waits for the member list");
    held.release();
    const { event_id: sentId } = await sending;
    assert.equal(await storage2.rooms.getPartialStateRoom(encryptedRoom2Id), null, "complete once the member list was given");
    await until("bob's event on hs1", async () => (await hs[0]!.homeserver!.storage.events.getPdus([sentId as EventId])).has(sentId as EventId));
    assert.equal((await hs[0]!.homeserver!.storage.events.getPdus([sentId as EventId])).get(sentId as EventId)!.type, "m.room.encrypted", "hs1 holds only the ciphertext");
    const event = await waitForDecryptedEvent(carols.client, encryptedRoom2Id, (c) => c["body"] === "a secret, sent while partial", 60_000);
    assert.equal(event.getId(), sentId);
    assert.equal(event.getWireType(), "m.room.encrypted");
  });
});
