/**
 * Typing, read receipts and presence over federation (src/sync/edus), between Zion processes over real TLS on
 * 127.0.23.0/24 (port 8448), found by name through a real dnsmasq, with certificates from the test CA:
 * - hs1 (a.edu.test) and hs2 (b.edu.test): alice on hs1 and bob on hs2 share a room; what one does shows in the
 *   other's /sync.
 * - hs3 (c.edu.test, send_presence_to_federation: false) and a fake remote (fake.edu.test) that records every
 *   transaction hs3 sends it: the fake's @fred joins carol's room with a make_join / send_join signed as the fake,
 *   so the test sees exactly which EDUs leave hs3, and sends hs3 a transaction of its own.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPdu, hashAndSignEvent, parsePdu, type Pdu } from "../../src/core/events/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import type { FederationClient } from "../../src/federation/transport/client.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { FakeRemote } from "../harness/fake-remote.js";
import { dnsFederationClient, testHttpsClient } from "../harness/federation-client.js";
import { startFederatedZion } from "../harness/federated-zion.js";
import { clientCaller } from "../harness/http-get.js";
import type { TestServer } from "../harness/server.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";

const RANGE = "127.0.23.0/24";
const [IP1, IP2, IP3, IP_FAKE] = ["127.0.23.1", "127.0.23.2", "127.0.23.3", "127.0.23.4"];
const HS1 = "a.edu.test" as ServerName;
const HS2 = "b.edu.test" as ServerName;
const HS3 = "c.edu.test" as ServerName;
const FAKE = "fake.edu.test" as ServerName;
const generous = { per_second: 1000, burst_count: 1000 };

type Body = Record<string, unknown>;

interface Account { server: TestServer; userId: UserId; token: string }

const enc = encodeURIComponent;

describe("typing, receipts and presence over federation (Zion processes, real TLS)", { timeout: 180_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  const servers: TestServer[] = [];
  let alice: Account;
  let bob: Account;
  let carol: Account;
  let room12: RoomId;
  let room3: RoomId;
  let fake: FakeRemote;
  let https: HttpsClient;
  let fakeClient: FederationClient;
  let fredJoin: Pdu;
  let room3State: Pdu[] = [];
  const FRED = `@fred:${FAKE}` as UserId;

  const call = (a: Account) => clientCaller(() => a.server.clientUrl);

  async function register(server: TestServer, username: string): Promise<Account> {
    const r = await clientCaller(() => server.clientUrl)("POST", "/_matrix/client/v3/register", { username, password: "pw-123456", auth: { type: "m.login.dummy" } });
    assert.equal(r.status, 200, r.body);
    return { server, userId: r.json()["user_id"] as UserId, token: r.json()["access_token"] as string };
  }

  /**
   * A /sync that reads only: set_presence=offline, so that the presence these tests set with PUT /presence is not
   * replaced by the online a sync without it means (the spec and Synapse); "a /sync without set_presence" below
   * syncs without it.
   */
  async function sync(a: Account, since?: string, timeoutMs = 0, setPresence: string | null = "offline"): Promise<Body> {
    const params = [...(setPresence !== null ? [`set_presence=${setPresence}`] : []), ...(since ? [`since=${enc(since)}`, `timeout=${timeoutMs}`] : [])];
    const q = params.length > 0 ? `?${params.join("&")}` : "";
    const r = await call(a)("GET", `/_matrix/client/v3/sync${q}`, undefined, a.token);
    assert.equal(r.status, 200, r.body);
    return r.json();
  }

  /** Incremental syncs from `since` until one satisfies `pred`; returns it (and its next_batch). */
  async function syncUntil(a: Account, since: string, pred: (b: Body) => boolean, what: string, ms = 30_000): Promise<Body> {
    const deadline = Date.now() + ms;
    const seen: Body[] = [];
    let from = since;
    while (Date.now() < deadline) {
      const b = await sync(a, from, 3000);
      if (pred(b)) return b;
      seen.push(b);
      from = b["next_batch"] as string;
    }
    assert.fail(`${what}: not seen in ${ms} ms; syncs: ${JSON.stringify(seen).slice(0, 3000)}`);
  }

  const ephemeral = (b: Body, roomId: RoomId, type: string): JsonObject[] => {
    const joined = ((b["rooms"] as Body | undefined)?.["join"] ?? {}) as Record<string, { ephemeral?: { events?: { type: string; content: JsonObject }[] } }>;
    return (joined[roomId]?.ephemeral?.events ?? []).filter((e) => e.type === type).map((e) => e.content);
  };
  const timelineBodies = (b: Body, roomId: RoomId): unknown[] => {
    const joined = ((b["rooms"] as Body | undefined)?.["join"] ?? {}) as Record<string, { timeline?: { events?: { content: JsonObject }[] } }>;
    return (joined[roomId]?.timeline?.events ?? []).map((e) => e.content["body"]);
  };
  const presenceOf = (b: Body, userId: UserId): JsonObject | undefined =>
    (((b["presence"] as Body | undefined)?.["events"] ?? []) as { sender: string; content: JsonObject }[]).filter((e) => e.sender === userId).at(-1)?.content;

  async function send(a: Account, roomId: RoomId, body: string): Promise<EventId> {
    const r = await call(a)("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(body)}-${Date.now()}`, { msgtype: "m.text", body }, a.token);
    assert.equal(r.status, 200, r.body);
    return r.json()["event_id"] as EventId;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-edus-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq({ a: { [HS1]: [IP1], [HS2]: [IP2], [HS3]: [IP3], [FAKE]: [IP_FAKE] } });
    const common = {
      ip_range_whitelist: [RANGE],
      enable_registration: true, enable_registration_without_verification: true,
      rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous },
      rc_login: { address: generous, account: generous, failed_attempts: generous },
    };
    servers.push(...(await Promise.all([
      startFederatedZion(ca, dns, HS1, IP1, common),
      startFederatedZion(ca, dns, HS2, IP2, common),
      startFederatedZion(ca, dns, HS3, IP3, { ...common, send_presence_to_federation: false }),
    ])));
    [alice, bob, carol] = await Promise.all([register(servers[0]!, "alice"), register(servers[1]!, "bob"), register(servers[2]!, "carol")]);

    // alice's room, joined by bob over federation.
    const created = await call(alice)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "edus" }, alice.token);
    assert.equal(created.status, 200, created.body);
    room12 = created.json()["room_id"] as RoomId;
    const joined = await call(bob)("POST", `/_matrix/client/v3/join/${enc(room12)}?server_name=${HS1}`, {}, bob.token);
    assert.equal(joined.status, 200, joined.body);

    // carol's room, joined by the fake remote's fred (make_join / send_join signed as the fake, keys served by it).
    fake = new FakeRemote(FAKE, IP_FAKE, ca, { serverName: HS3, key: servers[2]!.signingKey });
    fake.servesKeys = true;
    await fake.start();
    https = testHttpsClient(ca.caCertPem, { requestTimeoutMs: 10_000 });
    fakeClient = dnsFederationClient(https, FAKE, fake.key, dns.server, [RANGE]);
    const c3 = await call(carol)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "with a fake" }, carol.token);
    assert.equal(c3.status, 200, c3.body);
    room3 = c3.json()["room_id"] as RoomId;
    const tpl = await fakeClient.makeJoin(HS3, room3, FRED, ["10", "11"]);
    const rules = roomVersion(tpl.roomVersion);
    const signed = hashAndSignEvent({ ...tpl.event, origin_server_ts: Date.now() }, rules, { serverName: FAKE, key: fake.key });
    fredJoin = parsePdu(signed, rules);
    room3State = (await fakeClient.sendJoin(HS3, room3, fredJoin.eventId, signed, rules)).state;
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await fake?.stop();
    https?.close();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("typing on hs1 appears in bob's /sync on hs2, and disappears when alice stops", async () => {
    const since = (await sync(bob))["next_batch"] as string;
    const start = await call(alice)("PUT", `/_matrix/client/v3/rooms/${enc(room12)}/typing/${enc(alice.userId)}`, { typing: true, timeout: 30_000 }, alice.token);
    assert.equal(start.status, 200, start.body);
    const typing = await syncUntil(bob, since, (b) => ephemeral(b, room12, "m.typing").some((c) => (c["user_ids"] as string[]).includes(alice.userId)), "alice typing on hs2");
    const stop = await call(alice)("PUT", `/_matrix/client/v3/rooms/${enc(room12)}/typing/${enc(alice.userId)}`, { typing: false }, alice.token);
    assert.equal(stop.status, 200, stop.body);
    await syncUntil(bob, typing["next_batch"] as string, (b) => ephemeral(b, room12, "m.typing").some((c) => (c["user_ids"] as string[]).length === 0), "alice stopped typing on hs2");
  });

  it("bob's read receipts on hs2 (unthreaded, and threaded with thread_id) appear in alice's /sync on hs1", async () => {
    const sinceBob = (await sync(bob))["next_batch"] as string;
    const m1 = await send(alice, room12, "read me");
    await syncUntil(bob, sinceBob, (b) => timelineBodies(b, room12).includes("read me"), "alice's message on hs2");
    const readBy = (b: Body) => ephemeral(b, room12, "m.receipt").map((c) => ((c[m1] as Body | undefined)?.["m.read"] as Record<string, JsonObject> | undefined)?.[bob.userId]).filter((x) => x !== undefined);
    let since = (await sync(alice))["next_batch"] as string;
    const r1 = await call(bob)("POST", `/_matrix/client/v3/rooms/${enc(room12)}/receipt/m.read/${enc(m1)}`, {}, bob.token);
    assert.equal(r1.status, 200, r1.body);
    const unthreaded = await syncUntil(alice, since, (b) => readBy(b).length > 0, "bob's receipt on hs1");
    assert.equal(readBy(unthreaded)[0]!["thread_id"], undefined);
    assert.equal(typeof readBy(unthreaded)[0]!["ts"], "number");
    since = unthreaded["next_batch"] as string;
    const r2 = await call(bob)("POST", `/_matrix/client/v3/rooms/${enc(room12)}/receipt/m.read/${enc(m1)}`, { thread_id: "main" }, bob.token);
    assert.equal(r2.status, 200, r2.body);
    await syncUntil(alice, since, (b) => readBy(b).some((x) => x["thread_id"] === "main"), "bob's threaded receipt on hs1");
  });

  it("presence set on hs1 reaches bob's /sync and GET /presence on hs2, and bob's reaches alice on hs1", async () => {
    const sinceBob = (await sync(bob))["next_batch"] as string;
    const sinceAlice = (await sync(alice))["next_batch"] as string;
    const p1 = await call(alice)("PUT", `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { presence: "online", status_msg: "on hs1" }, alice.token);
    assert.equal(p1.status, 200, p1.body);
    const atBob = await syncUntil(bob, sinceBob, (b) => presenceOf(b, alice.userId)?.["status_msg"] === "on hs1", "alice's presence on hs2");
    assert.equal(presenceOf(atBob, alice.userId)!["presence"], "online");
    const viaGet = await call(bob)("GET", `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, undefined, bob.token);
    assert.equal(viaGet.status, 200, viaGet.body);
    assert.equal(viaGet.json()["presence"], "online");
    assert.equal(viaGet.json()["status_msg"], "on hs1");
    const p2 = await call(bob)("PUT", `/_matrix/client/v3/presence/${enc(bob.userId)}/status`, { presence: "unavailable", status_msg: "away on hs2" }, bob.token);
    assert.equal(p2.status, 200, p2.body);
    const atAlice = await syncUntil(alice, sinceAlice, (b) => presenceOf(b, bob.userId)?.["status_msg"] === "away on hs2", "bob's presence on hs1");
    assert.equal(presenceOf(atAlice, bob.userId)!["presence"], "unavailable");
  });

  it("a /sync without set_presence marks bob online at hs1, keeping his status message", async () => {
    const sinceAlice = (await sync(alice))["next_batch"] as string;
    await sync(bob, undefined, 0, null);
    const atAlice = await syncUntil(alice, sinceAlice, (b) => presenceOf(b, bob.userId)?.["presence"] === "online", "bob online on hs1 after his sync");
    assert.equal(presenceOf(atAlice, bob.userId)!["status_msg"], "away on hs2");
  });

  it("on a join, the joining server hears the presence the room's members set before, and the room hears the joiner's", async () => {
    const [zed, dave] = await Promise.all([register(servers[0]!, "zed"), register(servers[1]!, "dave")]);
    assert.equal((await call(zed)("PUT", `/_matrix/client/v3/presence/${enc(zed.userId)}/status`, { presence: "online", status_msg: "zed before" }, zed.token)).status, 200);
    assert.equal((await call(dave)("PUT", `/_matrix/client/v3/presence/${enc(dave.userId)}/status`, { presence: "unavailable", status_msg: "dave before" }, dave.token)).status, 200);
    const created = await call(zed)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }, zed.token);
    assert.equal(created.status, 200, created.body);
    const roomZ = created.json()["room_id"] as RoomId;
    const [sinceZed, sinceDave] = [(await sync(zed))["next_batch"] as string, (await sync(dave))["next_batch"] as string];
    const joined = await call(dave)("POST", `/_matrix/client/v3/join/${enc(roomZ)}?server_name=${HS1}`, {}, dave.token);
    assert.equal(joined.status, 200, joined.body);
    const atHs1 = await syncUntil(zed, sinceZed, (b) => presenceOf(b, dave.userId)?.["status_msg"] === "dave before", "dave's presence on hs1 after his join");
    assert.equal(presenceOf(atHs1, dave.userId)!["presence"], "unavailable");
    const atHs2 = await syncUntil(dave, sinceDave, (b) => presenceOf(b, zed.userId)?.["status_msg"] === "zed before", "zed's presence on hs2 after dave's join");
    assert.equal(presenceOf(atHs2, zed.userId)!["presence"], "online");
  });

  it("hs3 sends typing and m.read receipts in the spec's shapes, and never m.read.private nor, with send_presence_to_federation: false, m.presence", async () => {
    const m1 = await send(carol, room3, "for fred");
    const before = fake.txns.length;
    const put = (path: string, body: unknown) => call(carol)("PUT", path, body, carol.token);
    const post = (path: string, body: unknown) => call(carol)("POST", path, body, carol.token);
    assert.equal((await put(`/_matrix/client/v3/rooms/${enc(room3)}/typing/${enc(carol.userId)}`, { typing: true, timeout: 20_000 })).status, 200);
    assert.equal((await post(`/_matrix/client/v3/rooms/${enc(room3)}/receipt/m.read.private/${enc(m1)}`, {})).status, 200);
    assert.equal((await post(`/_matrix/client/v3/rooms/${enc(room3)}/read_markers`, { "m.read.private": m1, "m.fully_read": m1 })).status, 200);
    assert.equal((await post(`/_matrix/client/v3/rooms/${enc(room3)}/receipt/m.read/${enc(m1)}`, {})).status, 200);
    assert.equal((await post(`/_matrix/client/v3/rooms/${enc(room3)}/receipt/m.read/${enc(m1)}`, { thread_id: "main" })).status, 200);
    assert.equal((await put(`/_matrix/client/v3/presence/${enc(carol.userId)}/status`, { presence: "online", status_msg: "local only" })).status, 200);
    // Presence is recorded on hs3 (presence.enabled), just not sent.
    const own = await call(carol)("GET", `/_matrix/client/v3/presence/${enc(carol.userId)}/status`, undefined, carol.token);
    assert.equal(own.json()["status_msg"], "local only");
    // The last thing carol does; everything queued before it is in that transaction or an earlier one.
    assert.equal((await put(`/_matrix/client/v3/rooms/${enc(room3)}/typing/${enc(carol.userId)}`, { typing: false })).status, 200);
    const deadline = Date.now() + 30_000;
    const edusSince = () => fake.txns.slice(before).flatMap((t) => t.edus);
    while (Date.now() < deadline && !edusSince().some((e) => e["edu_type"] === "m.typing" && (e["content"] as JsonObject)["typing"] === false)) await new Promise((r) => setTimeout(r, 100));
    const edus = edusSince();
    assert.deepEqual(edus.filter((e) => e["edu_type"] === "m.typing"), [
      { edu_type: "m.typing", content: { room_id: room3, user_id: carol.userId, typing: true } },
      { edu_type: "m.typing", content: { room_id: room3, user_id: carol.userId, typing: false } },
    ], JSON.stringify(edus));
    const receipts = edus.filter((e) => e["edu_type"] === "m.receipt");
    assert.equal(receipts.length, 2, JSON.stringify(edus));
    const data = receipts.map((e) => {
      const c = e["content"] as Record<string, Record<string, Record<string, { event_ids: string[]; data: JsonObject }>>>;
      assert.deepEqual(Object.keys(c), [room3]);
      assert.deepEqual(Object.keys(c[room3]!), ["m.read"]);
      assert.deepEqual(Object.keys(c[room3]!["m.read"]!), [carol.userId]);
      const r = c[room3]!["m.read"]![carol.userId]!;
      assert.deepEqual(r.event_ids, [m1]);
      assert.equal(typeof r.data["ts"], "number");
      return r.data["thread_id"];
    });
    assert.deepEqual(data, [undefined, "main"]);
    assert.deepEqual(edus.filter((e) => e["edu_type"] === "m.presence"), [], "send_presence_to_federation: false sends no presence");
    const everything = fake.txns.map((t) => t.body).join("\n");
    assert.ok(!everything.includes("m.read.private"), "no private receipt left hs3");
    assert.ok(!everything.includes("m.fully_read"), "no fully-read marker left hs3");
  });

  it("ignores a remote's EDUs for users of another server or not in the room, and still accepts the PDUs of the same transaction", async () => {
    const m1 = await send(carol, room3, "receipt target");
    const since = (await sync(carol))["next_batch"] as string;
    const rules = roomVersion("11");
    const get = (type: string, key = "") => room3State.find((p) => p.type === type && p.stateKey === key)!.eventId;
    const msg = buildPdu(rules, {
      type: "m.room.message", sender: FRED, roomId: room3, content: { msgtype: "m.text", body: "from fred" },
      prevEvents: [fredJoin.eventId], authEvents: [get("m.room.create"), get("m.room.power_levels"), fredJoin.eventId],
      depth: fredJoin.depth + 1, originServerTs: Date.now(),
    }, { serverName: FAKE, key: fake.key });
    const ghost = `@ghost:${FAKE}`;
    const receipt = (user: string, ts: number) => ({ edu_type: "m.receipt", content: { [room3]: { "m.read": { [user]: { event_ids: [m1], data: { ts } } } } } });
    const res = await fakeClient.sendTransaction(HS3, {
      txnId: `bad-edus-${Date.now()}`, originServerTs: Date.now(), pdus: [msg.raw],
      edus: [
        { edu_type: "m.typing", content: { room_id: room3, user_id: bob.userId, typing: true } }, // another server's user
        { edu_type: "m.typing", content: { room_id: room3, user_id: ghost, typing: true } }, // not in the room
        { edu_type: "m.typing", content: { room_id: room3, user_id: 42, typing: true } }, // not a user id
        receipt(ghost, 1), // not in the room
        receipt(carol.userId, 2), // hs3's own user, forged
        { edu_type: "m.presence", content: { push: [{ user_id: carol.userId, presence: "unavailable", status_msg: "forged", last_active_ago: 0 }] } },
        { edu_type: "m.presence", content: { push: "nope" } },
        // What fred may do.
        { edu_type: "m.typing", content: { room_id: room3, user_id: FRED, typing: true } },
        receipt(FRED, 5),
      ],
    });
    assert.deepEqual(res.pdus, { [msg.eventId]: {} });
    const got = await syncUntil(carol, since, (b) => ephemeral(b, room3, "m.receipt").some((c) => ((c[m1] as Body | undefined)?.["m.read"] as Body | undefined)?.[FRED] !== undefined), "fred's receipt on hs3");
    // One answer may not hold everything: read the room once more from the start for the whole picture.
    const whole = await sync(carol);
    assert.ok(timelineBodies(whole, room3).includes("from fred") || timelineBodies(got, room3).includes("from fred"), "fred's message was accepted");
    assert.deepEqual(ephemeral(whole, room3, "m.typing").flatMap((c) => c["user_ids"] as string[]), [FRED]);
    const readers = ephemeral(whole, room3, "m.receipt").flatMap((c) => Object.keys(((c[m1] as Body | undefined)?.["m.read"] ?? {}) as Body));
    assert.deepEqual(readers, [FRED], "neither ghost's nor the forged receipt of carol was stored");
    const own = await call(carol)("GET", `/_matrix/client/v3/presence/${enc(carol.userId)}/status`, undefined, carol.token);
    assert.notEqual(own.json()["status_msg"], "forged");
  });
});
