/**
 * Forward extremities stay bounded (docs/rooms.md, "Forward extremities"): a test double, remote.test, joins a room
 * on an in-process Zion over make_join/send_join and then sends it many forks in one signed /send, each citing
 * only the join. remote.test is also a test/harness/fake-remote.ts HTTPS server (found through dnsmasq) that records
 * every transaction Zion sends it, so the test sees the prev_events of Zion's next events:
 *
 * - a local message after 15 forks cites all 15;
 * - after 25 forks it cites 20 (the PDU limit) and no dummy event follows (6 left is under the threshold);
 * - 15 forks and no local event: within the delay, an `org.matrix.dummy_event` from Zion's member cites all 15, and
 *   clients never see it;
 * - 31 forks of two depths: dummy events merge the oldest 20 first, then the rest, down to one extremity.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, Direction, type MatrixClient } from "matrix-js-sdk";
import { publicKeyBase64, signingKeyFromSeed } from "../../src/core/crypto/index.js";
import { buildPdu, hashAndSignEvent, parsePdu, type Pdu } from "../../src/core/events/index.js";
import type { EventId, KeyId, RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import type { FederationClient } from "../../src/federation/transport/client.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { FakeRemote, eventIdOf } from "../harness/fake-remote.js";
import { ipLiteralFederationClient, testHttpsClient } from "../harness/federation-client.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { quietLogger } from "../harness/sdk-logger.js";
import { createTestCa } from "../harness/test-ca.js";
import { waitUntil } from "../harness/three-servers.js";

const ZION_IP = "127.0.21.60";
const REMOTE_IP = "127.0.21.61";
const ZION = `${ZION_IP}:8448` as ServerName;
const REMOTE = "remote.test" as ServerName;
const R = "@r:remote.test" as UserId;
const DELAY_MS = 1500;

describe("forward extremities stay bounded (Zion and a fake remote making forks)", { timeout: 120_000 }, () => {
  let dir: string;
  let dns: Dnsmasq;
  let zion: TestServer;
  let remote: FakeRemote;
  let https: HttpsClient;
  let client: FederationClient;
  let alice: MatrixClient;
  let txn = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-extremities-"));
    const ca = await createTestCa(dir);
    dns = await startDnsmasq({ a: { "remote.test": [REMOTE_IP] } }, { address: "127.0.21.62" });
    const zionKey = signingKeyFromSeed("z1", randomBytes(32));
    remote = new FakeRemote(REMOTE, REMOTE_IP, ca, { serverName: ZION, key: zionKey });
    await remote.start();
    // Zion knows remote.test's key already (the fake remote serves only /send).
    const storage = await openSqliteStorage({ path: join(dir, "zion.db") });
    await storage.keys.upsertServerKeys([{
      serverName: REMOTE, keyId: remote.key.keyId as KeyId, publicKey: publicKeyBase64(remote.key),
      validUntilTs: Date.now() + 86_400_000, expiredTs: null, fetchedTs: Date.now(), fetchedFrom: REMOTE, keyJson: {},
    }]);
    const leaf = await ca.issue({ ip: [ZION_IP] });
    zion = await startTestServer({
      serverName: ZION, signingKey: zionKey, storage, tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
      startOptions: { dummyEventDelayMs: DELAY_MS },
      config: {
        listeners: [
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] },
          { port: 8448, bind_addresses: [ZION_IP], type: "http", tls: true, resources: [{ names: ["federation"] }] },
        ],
        enable_registration: true, enable_registration_without_verification: true,
        dns_servers: [dns.server], ip_range_whitelist: ["127.0.21.0/24"], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [],
      },
    });
    https = testHttpsClient(ca.caCertPem, { requestTimeoutMs: 10_000 });
    client = ipLiteralFederationClient(https, REMOTE, remote.key, ["127.0.21.0/24"]);
    const r = await createClient({ baseUrl: zion.clientUrl!, logger: quietLogger }).registerRequest({ username: "alice", password: "alice password 1", auth: { type: "m.login.dummy" } });
    alice = createClient({ baseUrl: zion.clientUrl!, accessToken: r.access_token!, userId: r.user_id, deviceId: r.device_id!, logger: quietLogger });
  });
  after(async () => {
    await https?.close();
    await zion?.stop();
    await remote?.stop();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const storage = () => zion.homeserver!.storage;
  const extremities = async (roomId: RoomId) => [...(await storage().rooms.getForwardExtremities(roomId))].sort();

  /** A room of alice's that @r:remote.test joined over make_join / send_join; the join (as a PDU) and the ids messages cite. */
  async function roomWithRemote(): Promise<{ roomId: RoomId; joinPdu: Pdu; auth: EventId[] }> {
    const { room_id } = await alice.createRoom({ preset: "public_chat" as never });
    const roomId = room_id as RoomId;
    const rules = roomVersion("11");
    const tpl = await client.makeJoin(ZION, roomId, R, ["11"]);
    const signed = hashAndSignEvent({ ...tpl.event, origin_server_ts: Date.now(), content: { membership: "join" } }, rules, { serverName: REMOTE, key: remote.key });
    const joinPdu = parsePdu(signed, rules);
    await client.sendJoin(ZION, roomId, joinPdu.eventId, joinPdu.raw, rules);
    const [create, pl] = await Promise.all([storage().rooms.getCurrentStateEventId(roomId, "m.room.create", ""), storage().rooms.getCurrentStateEventId(roomId, "m.room.power_levels", "")]);
    return { roomId, joinPdu, auth: [create!, pl!, joinPdu.eventId] };
  }

  /** `n` messages by @r, each citing only `prev` (so each is a fork), sent to Zion in one /send. */
  async function forks(roomId: RoomId, prev: Pdu, auth: EventId[], n: number, tag: string): Promise<Pdu[]> {
    const out = Array.from({ length: n }, (_, i) => buildPdu(roomVersion("11"), {
      type: "m.room.message", sender: R, roomId, content: { msgtype: "m.text", body: `${tag} ${i}` },
      prevEvents: [prev.eventId], authEvents: auth, depth: prev.depth + 1, originServerTs: Date.now() + i,
    }, { serverName: REMOTE, key: remote.key }));
    const res = await client.request({ destination: ZION, method: "PUT", path: `/_matrix/federation/v1/send/x${++txn}`, body: { origin: REMOTE, origin_server_ts: Date.now(), pdus: out.map((p) => p.raw) } });
    const results = (res.body as { pdus: Record<string, { error?: string }> }).pdus;
    for (const p of out) assert.deepEqual(results[p.eventId], {}, `fork ${tag} accepted`);
    return out;
  }

  /** The PDUs of `type` Zion has sent remote.test in `roomId` so far. */
  const sentToRemote = (roomId: RoomId, type: string) => remote.pdus().filter((p) => p["room_id"] === roomId && p["type"] === type);
  const prevOf = (p: JsonObject) => [...(p["prev_events"] as string[])].sort();

  it("a local message after 15 forks cites all 15, leaving one extremity", async () => {
    const { roomId, joinPdu, auth } = await roomWithRemote();
    const f = await forks(roomId, joinPdu, auth, 15, "a");
    assert.equal((await extremities(roomId)).length, 15);
    const { event_id } = await alice.sendMessage(roomId, { msgtype: "m.text", body: "merge them" } as never);
    assert.deepEqual(await extremities(roomId), [event_id]);
    const sent = await waitUntil("remote.test receives alice's message", async () => sentToRemote(roomId, "m.room.message").find((p) => (p["content"] as JsonObject)["body"] === "merge them"));
    assert.deepEqual(prevOf(sent), f.map((p) => p.eventId).sort());
  });

  it("after 25 forks the next local message cites 20, the PDU limit; the 6 left are under the threshold, so no dummy event follows", async () => {
    const { roomId, joinPdu, auth } = await roomWithRemote();
    const f = await forks(roomId, joinPdu, auth, 25, "b");
    const { event_id } = await alice.sendMessage(roomId, { msgtype: "m.text", body: "merge twenty" } as never);
    const sent = await waitUntil("remote.test receives alice's message", async () => sentToRemote(roomId, "m.room.message").find((p) => (p["content"] as JsonObject)["body"] === "merge twenty"));
    assert.equal((sent["prev_events"] as string[]).length, 20);
    for (const id of sent["prev_events"] as string[]) assert.ok(f.some((p) => p.eventId === id));
    const left = await extremities(roomId);
    assert.equal(left.length, 6);
    assert.ok(left.includes(event_id as EventId));
    await new Promise((r) => setTimeout(r, DELAY_MS * 2));
    assert.equal(sentToRemote(roomId, "org.matrix.dummy_event").length, 0);
    assert.equal((await extremities(roomId)).length, 6);
  });

  it("15 forks and no local event: a dummy event by alice cites all 15 after the delay, reaches remote.test, and is not shown to clients", async () => {
    const { roomId, joinPdu, auth } = await roomWithRemote();
    const f = await forks(roomId, joinPdu, auth, 15, "c");
    const dummy = await waitUntil("remote.test receives a dummy event", async () => sentToRemote(roomId, "org.matrix.dummy_event")[0], DELAY_MS + 20_000);
    assert.equal(dummy["sender"], alice.getUserId());
    assert.deepEqual(dummy["content"], {});
    assert.deepEqual(prevOf(dummy), f.map((p) => p.eventId).sort());
    const left = await extremities(roomId);
    assert.equal(left.length, 1);
    const page = await alice.createMessagesRequest(roomId, null, 50, Direction.Backward);
    assert.equal(page.chunk.some((e) => e.type === "org.matrix.dummy_event"), false, "clients never see dummy events");
    assert.equal(page.chunk.filter((e) => e.type === "m.room.message").length, 15);
  });

  it("31 forks of two depths: dummy events merge the oldest 20 first, then the other 11 with the first dummy, down to one extremity", async () => {
    const { roomId, joinPdu, auth } = await roomWithRemote();
    const old = await forks(roomId, joinPdu, auth, 5, "old");
    // A message after old[0], then 27 forks of it, deeper than the 4 other old forks (old[0] is no longer an extremity).
    const [mid] = await forks(roomId, old[0]!, auth, 1, "mid");
    const young = await forks(roomId, mid!, auth, 27, "young");
    assert.deepEqual(await extremities(roomId), [...old.slice(1), ...young].map((p) => p.eventId).sort());
    const dummies = await waitUntil("remote.test receives two dummy events", async () => {
      const d = sentToRemote(roomId, "org.matrix.dummy_event");
      return d.length >= 2 ? d : undefined;
    }, DELAY_MS + 20_000);
    const [first, second] = dummies as [JsonObject, JsonObject];
    assert.equal((first["prev_events"] as string[]).length, 20, "the first cites 20");
    for (const o of old.slice(1)) assert.ok((first["prev_events"] as string[]).includes(o.eventId), "the 4 shallow forks are among the oldest 20");
    assert.equal((second["prev_events"] as string[]).length, 12, "the second: the 11 forks left and the first dummy");
    assert.ok((second["prev_events"] as string[]).includes(eventIdOf(first)));
    assert.deepEqual(await extremities(roomId), [eventIdOf(second)]);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sentToRemote(roomId, "org.matrix.dummy_event").length, 2, "no more once 1 is left");
  });
});
