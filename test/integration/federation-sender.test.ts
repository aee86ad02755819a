/**
 * The federation sender against real parts on loopback: fake remote homeservers that are real HTTPS servers with
 * test-CA certificates on 127.0.9.x:8448, found by name through a real dnsmasq, verifying each transaction's
 * X-Matrix signature with our key; Zion's own RoomService, FederationClient, FederationSender and SQLite storage
 * (a file, so a test can reopen it as after a restart).
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/core/clock.js";
import { signingKeyFromSeed } from "../../src/core/crypto/index.js";
import type { RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { parseCreateRoomRequest } from "../../src/core/rooms/index.js";
import { DEFAULT_IP_RANGE_BLACKLIST, IpRangePolicy, NodeDns, ServerResolver, WellKnownResolver, httpsGetVia } from "../../src/federation/discovery/index.js";
import { FederationSender, RoomDestinations, type SenderLog } from "../../src/federation/sender/index.js";
import { HttpsClient } from "../../src/federation/tls/https-client.js";
import { TlsPolicy } from "../../src/federation/tls/policy.js";
import { createAuthenticator } from "../../src/federation/transport/authenticate.js";
import { FederationClient } from "../../src/federation/transport/client.js";
import { signRequest } from "../../src/federation/transport/x-matrix.js";
import { RoomService } from "../../src/rooms/index.js";
import type { Storage } from "../../src/storage/ports.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { FakeRemote, bodyOf, eventIdOf } from "../harness/fake-remote.js";
import type { Metrics } from "../../src/core/metrics.js";
import { createMetricsRegistry } from "../../src/app/metrics.js";
import { parseScrape } from "../harness/prometheus.js";

const OURS = "zion.test" as ServerName;
const ALICE = "@alice:zion.test" as UserId;
const ourKey = signingKeyFromSeed("s1", randomBytes(32));
const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
// One block of 20 addresses in 127.0.9.10-249 per run (port 8448 is fixed), so concurrent runs rarely collide.
const BASE = 10 + 20 * Math.floor(Math.random() * 12);
const NAMES = Array.from({ length: 20 }, (_, i) => ({ name: `r${i}.sender.test` as ServerName, ip: `127.0.9.${BASE + i}` }));

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

function captureLog(): SenderLog & { lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  return { lines, info: (obj, msg) => lines.push({ level: "info", msg, obj }), warn: (obj, msg) => lines.push({ level: "warn", msg, obj }) };
}

describe("federation sender", { timeout: 180_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  let next = 0;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-sender-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq({ a: Object.fromEntries(NAMES.map((n) => [n.name, [n.ip]])) });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });
  after(async () => {
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function remote(opts: { start?: boolean } = {}): Promise<FakeRemote> {
    const n = NAMES[next++]!;
    const r = new FakeRemote(n.name, n.ip, ca, { serverName: OURS, key: ourKey });
    if (opts.start !== false) await r.start();
    cleanups.push(() => r.stop());
    return r;
  }

  interface Zion {
    storage: Storage;
    sender: FederationSender;
    rooms: RoomService;
    log: ReturnType<typeof captureLog>;
    authenticate: ReturnType<typeof createAuthenticator>;
    dbPath: string;
    /** Stops the sender and closes storage (as a shutdown would). */
    close(): Promise<void>;
  }

  async function zion(opts: { dbPath?: string; backoff?: { min: number; mult: number; max: number }; whitelist?: string[]; catchUpThreshold?: number; federationEnabled?: boolean; wakeMinGapMs?: number; metrics?: Metrics } = {}): Promise<Zion> {
    const dbPath = opts.dbPath ?? join(dir, `z${next}-${randomBytes(4).toString("hex")}.db`);
    const storage = await openSqliteStorage({ path: dbPath });
    const ipPolicy = new IpRangePolicy(DEFAULT_IP_RANGE_BLACKLIST, ["127.0.9.0/24"]);
    const nodeDns = new NodeDns({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
    const https = new HttpsClient(new TlsPolicy({ customCaPems: [ca.caCertPem] }), { connectTimeoutMs: 2000, requestTimeoutMs: 5000 });
    const resolver = new ServerResolver({ dns: nodeDns, wellKnown: new WellKnownResolver(httpsGetVia(nodeDns, ipPolicy, https), realClock, { timeoutMs: 1000 }), clock: realClock, ipPolicy });
    const client = new FederationClient({ serverName: OURS, signingKey: ourKey, resolver, https, ...(opts.whitelist ? { domainWhitelist: opts.whitelist } : {}), ...(opts.federationEnabled === false ? { federationEnabled: false } : {}) });
    const log = captureLog();
    const b = opts.backoff ?? { min: 300, mult: 2, max: 1200 };
    const sender = new FederationSender({
      serverName: OURS, storage, client, clock: realClock, log,
      backoff: { minRetryIntervalMs: b.min, retryMultiplier: b.mult, maxRetryIntervalMs: b.max },
      ...(opts.catchUpThreshold !== undefined ? { catchUpThreshold: opts.catchUpThreshold } : {}),
      wakeMinGapMs: opts.wakeMinGapMs ?? 0,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    });
    const rooms = new RoomService({ serverName: OURS, signer: { serverName: OURS, key: ourKey }, clock: realClock, storage, outbound: new RoomDestinations({ storage, sender }) });
    const authenticate = createAuthenticator({
      serverName: OURS,
      keyRing: { getKeyForRequest: async () => ({ ok: false as const, reason: "set per test" }) },
      onVerified: (o) => sender.wake(o),
    });
    let closed = false;
    const z: Zion = {
      storage, sender, rooms, log, authenticate, dbPath,
      async close() {
        if (closed) return;
        closed = true;
        await sender.stop();
        await storage.close();
        await https.close();
      },
    };
    cleanups.push(() => z.close());
    await sender.start();
    return z;
  }

  /** A public room created by a local user, with one member per remote joined (through the pipeline). */
  async function roomWith(z: Zion, members: readonly ServerName[], extra: Record<string, unknown> = {}): Promise<RoomId> {
    await z.storage.users.createUser({ userId: ALICE, passwordHash: null, createdTs: 0, displayname: "Alice" }).catch(() => {});
    const roomId = await z.rooms.createRoom(ALICE, parseCreateRoomRequest({ preset: "public_chat", room_version: "11", ...extra }, ALICE, { defaultRoomVersion: "11" }));
    for (const m of members) await z.rooms.join(roomId, `@bob:${m}` as UserId);
    return roomId;
  }

  /** The back-off intervals the sender stores, in order (the storage call is observed, not replaced). */
  function recordIntervals(z: Zion): number[] {
    const intervals: number[] = [];
    const store = z.storage.outbound.recordFailure.bind(z.storage.outbound);
    z.storage.outbound.recordFailure = async (d, now, interval, reason) => {
      intervals.push(interval);
      return store(d, now, interval, reason);
    };
    return intervals;
  }

  const say = (z: Zion, roomId: RoomId, body: string) => z.rooms.send(roomId, { type: "m.room.message", sender: ALICE, content: { msgtype: "m.text", body } });

  it("delivers every event exactly once and in order, at most 50 PDUs per transaction (120 messages: 3), one transaction in flight", async () => {
    const r = await remote();
    let release!: () => void;
    const held = new Promise<void>((res) => (release = res));
    r.answer = (t, res) => {
      if (r.txns.length === 0) void held.then(() => r.ok(t, res)); // hold the first transaction (the join) until all 120 are queued
      else setTimeout(() => r.ok(t, res), 10);
    };
    const z = await zion();
    const roomId = await roomWith(z, [r.name]);
    await until("the join's transaction is in flight", () => r.attempts.length === 1);
    for (let i = 0; i < 120; i++) await say(z, roomId, `m${i}`);
    assert.equal(r.attempts.length, 1, "no second transaction while the first is in flight");
    release();
    await until("all 120 messages arrived", () => r.pdus().filter((p) => p["type"] === "m.room.message").length >= 120);
    await new Promise((res) => setTimeout(res, 300));
    const bodies = r.pdus().filter((p) => p["type"] === "m.room.message").map(bodyOf);
    assert.deepEqual(bodies, Array.from({ length: 120 }, (_, i) => `m${i}`), "each message once, in order");
    assert.deepEqual(r.txns.map((t) => t.pdus.length), [1, 50, 50, 20]);
    assert.equal(new Set(r.txns.map((t) => t.txnId)).size, r.txns.length, "a new id for each transaction");
    assert.equal(r.maxInFlight, 1);
    const ids = r.pdus().map(eventIdOf);
    assert.equal(new Set(ids).size, ids.length, "no PDU twice");
    const [summary] = await z.storage.outbound.listDestinations();
    assert.equal(summary?.queuedPdus, 0);
    assert.equal(summary?.inFlightTxnId, null);
  });

  it("sends EDUs through the same queue, at most 100 per transaction, persistent ones stored", async () => {
    const r = await remote();
    let release!: () => void;
    const held = new Promise<void>((res) => (release = res));
    r.answer = (t, res) => void (r.txns.length === 0 ? held.then(() => r.ok(t, res)) : r.ok(t, res));
    const z = await zion();
    for (let i = 0; i < 150; i++) await z.sender.enqueueEdu([r.name], { edu_type: "m.direct_to_device", content: { message_id: `d${i}`, messages: {}, sender: ALICE, type: "m.test" } }, { persistent: true });
    await until("the first transaction is in flight", () => r.attempts.length === 1);
    assert.equal((await z.storage.outbound.listDestinations())[0]?.queuedEdus, 150, "stored before they are sent");
    release();
    await until("all EDUs arrived", () => r.txns.flatMap((t) => t.edus).length >= 150);
    const counts = r.txns.map((t) => t.edus.length);
    assert.ok(counts.every((c) => c <= 100), `EDUs per transaction: ${counts.join(", ")}`);
    assert.ok(counts.includes(100), `a full transaction of 100: ${counts.join(", ")}`);
    assert.deepEqual(r.txns.flatMap((t) => t.edus).map((e) => (e["content"] as JsonObject)["message_id"]), Array.from({ length: 150 }, (_, i) => `d${i}`));
  });

  it("backs off on 500s with the configured schedule, retries the same transaction, and logs the failure and the recovery once", async () => {
    const r = await remote();
    let failures = 3;
    r.answer = (t, res) => {
      if (failures-- > 0) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ errcode: "M_UNKNOWN", error: "database on fire" }));
      } else r.ok(t, res);
    };
    const z = await zion({ backoff: { min: 300, mult: 2, max: 1200 } });
    const intervals = recordIntervals(z);
    await z.sender.enqueueEdu([r.name], { edu_type: "m.direct_to_device", content: { message_id: "x" } }, { persistent: true });
    await until("delivered after three 500s", () => r.txns.length === 1);
    await until("the sender took the answer", () => z.log.lines.some((l) => l.msg.includes("recovered")));
    assert.deepEqual(intervals, [300, 600, 1200]);
    assert.equal(new Set(r.attempts.map((a) => a.txnId)).size, 1, "every retry is the same transaction");
    const gaps = r.attempts.slice(1).map((a, i) => a.at - r.attempts[i]!.at);
    gaps.forEach((g, i) => assert.ok(g >= intervals[i]! - 50, `attempt ${i + 2} came ${g} ms after the previous one, before its back-off of ${intervals[i]} ms`));
    const failing = z.log.lines.filter((l) => l.msg.includes("started failing"));
    const recovered = z.log.lines.filter((l) => l.msg.includes("recovered"));
    assert.equal(failing.length, 1);
    assert.match(String(failing[0]!.obj["reason"]), /500/);
    assert.equal(recovered.length, 1);
    const [d] = await z.storage.outbound.listDestinations();
    assert.equal(d?.failureTs, null);
    assert.equal(d?.lastError, null);
  });

  it("counts transactions, PDUs, EDUs and failed attempts, and shows each destination's queue and back-off as gauges", async () => {
    const r = await remote();
    let failures = 2;
    r.answer = (t, res) => {
      if (failures-- > 0) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ errcode: "M_UNKNOWN", error: "not now" }));
      } else r.ok(t, res);
    };
    const registry = createMetricsRegistry(OURS, { processMetrics: false });
    const z = await zion({ backoff: { min: 300, mult: 2, max: 1200 }, metrics: registry });
    const scrape = async () => parseScrape((await registry.render()).text);
    await z.sender.enqueueEdu([r.name], { edu_type: "m.direct_to_device", content: { message_id: "m1" } }, { persistent: true });
    await until("the first attempt failed", () => r.attempts.length >= 1);
    let first = await scrape();
    await until("the failure is counted", async () => (first = await scrape()).value("zion_federation_sender_attempts_total", { destination: r.name, result: "failed" }) >= 1);
    const failed = first.value("zion_federation_sender_attempts_total", { destination: r.name, result: "failed" });
    assert.equal(first.value("zion_federation_destination_retry_interval_seconds", { destination: r.name }), failed === 1 ? 0.3 : 0.6, "the back-off of the last failure");
    await until("delivered", () => r.txns.length === 1);
    await until("the success is counted", async () => (await scrape()).value("synapse_federation_client_sent_transactions_total") === 1);
    const s = await scrape();
    assert.equal(s.value("zion_federation_sender_attempts_total", { destination: r.name, result: "failed" }), 2);
    assert.equal(s.value("zion_federation_sender_attempts_total", { destination: r.name, result: "ok" }), 1);
    assert.equal(s.value("synapse_federation_client_sent_edus_total"), 1);
    assert.equal(s.value("synapse_federation_client_sent_pdu_destinations_total"), 0);
    assert.equal(s.value("zion_federation_destination_retry_interval_seconds", { destination: r.name }), 0, "healthy again");
    assert.equal(s.value("zion_federation_destination_queued_pdus", { destination: r.name }), 0);
  });

  it("backs off on connection refused, capped at destination_max_retry_interval, and records the reason", async () => {
    const r = await remote({ start: false });
    const z = await zion({ backoff: { min: 100, mult: 3, max: 400 } });
    const intervals = recordIntervals(z);
    await z.sender.enqueueEdu([r.name], { edu_type: "m.direct_to_device", content: { message_id: "x" } }, { persistent: true });
    await until("five failed attempts", () => intervals.length >= 5);
    assert.deepEqual(intervals.slice(0, 5), [100, 300, 400, 400, 400]);
    const [d] = await z.storage.outbound.listDestinations();
    assert.match(d?.lastError ?? "", /ECONNREFUSED|refused|connect/i);
    assert.equal(z.log.lines.filter((l) => l.msg.includes("started failing")).length, 1, "one line for the whole streak");
    await r.start();
    await until("delivered once the remote listens", () => r.txns.length === 1);
  });

  /** The remote sends us a signed request; our authenticator verifies it with the remote's key and wakes the queue. */
  async function contactFrom(z: Zion, r: FakeRemote): Promise<void> {
    const authenticate = createAuthenticator({
      serverName: OURS,
      keyRing: { getKeyForRequest: async (s: ServerName) => (s === r.name ? { ok: true as const, key: { publicKey: r.key.publicKey, usableUntil: Infinity } } : { ok: false as const, reason: "?" }) },
      onVerified: (o) => z.sender.wake(o),
    });
    const uri = "/_matrix/federation/v1/query/profile?user_id=%40alice%3Azion.test";
    await authenticate({ method: "GET", uri, authorization: signRequest({ method: "GET", uri, origin: r.name, destination: OURS }, r.key), body: undefined });
  }

  it("retries at once, despite a long back-off, when the destination contacts us (a verified X-Matrix request)", async () => {
    const r = await remote({ start: false });
    const z = await zion({ backoff: { min: 600_000, mult: 2, max: 600_000 } });
    await z.sender.enqueueEdu([r.name], { edu_type: "m.direct_to_device", content: { message_id: "x" } }, { persistent: true });
    await until("the first attempt failed", async () => (await z.storage.destinations.getDestination(r.name))?.failureTs != null);
    await r.start();
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(r.txns.length, 0, "still in its 10-minute back-off");
    await contactFrom(z, r);
    await until("delivered long before the back-off ends", () => r.txns.length === 1, 15_000);
  });

  it("does not retry on every request of a destination that keeps failing: at most once per wake gap", async () => {
    const r = await remote();
    r.answer = (_t, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ errcode: "M_UNKNOWN", error: "still broken" }));
    };
    const z = await zion({ backoff: { min: 600_000, mult: 2, max: 600_000 }, wakeMinGapMs: 1500 });
    await z.sender.enqueueEdu([r.name], { edu_type: "m.direct_to_device", content: { message_id: "x" } }, { persistent: true });
    await until("the first attempt failed", () => r.attempts.length === 1);
    await until("the failure is recorded", async () => (await z.storage.destinations.getDestination(r.name))?.failureTs != null);
    for (let i = 0; i < 10; i++) await contactFrom(z, r); // ten requests in quick succession
    await until("the woken retry", () => r.attempts.length === 2, 10_000);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(r.attempts.length, 2, "ten wake-ups in a row give one early retry");
    assert.ok(r.attempts[1]!.at - r.attempts[0]!.at >= 1400, "the retry waited for the wake gap");
  });

  it("after a restart resends the interrupted transaction with the same id and contents, and nothing twice", async () => {
    const r = await remote();
    const seenBodies: Array<{ txnId: string; body: string }> = [];
    // The first attempt reaches the remote, which stores it but never answers: the sender never learns the outcome.
    r.answer = (t, res) => {
      seenBodies.push({ txnId: t.txnId, body: t.body });
      if (seenBodies.length === 1) {
        r.txns.push(t);
        res.socket?.destroy();
      } else if (r.txns.some((x) => x.txnId === t.txnId)) {
        // A remote deduplicates by (origin, txn id): the retry is acknowledged, not applied twice.
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ pdus: {} }));
      } else r.ok(t, res);
    };
    const z1 = await zion({ backoff: { min: 200, mult: 2, max: 400 } });
    const roomId = await roomWith(z1, [r.name]);
    for (let i = 0; i < 5; i++) await say(z1, roomId, `m${i}`);
    await until("the first attempt failed", async () => (await z1.storage.destinations.getDestination(r.name))?.failureTs != null);
    const stored = (await z1.storage.outbound.listDestinations())[0]!.inFlightTxnId;
    await z1.close(); // the process goes away with a transaction unacknowledged
    const z2 = await zion({ dbPath: z1.dbPath, backoff: { min: 200, mult: 2, max: 400 } });
    await until("the retry after the restart", () => seenBodies.length >= 2);
    assert.equal(seenBodies[1]!.txnId, seenBodies[0]!.txnId);
    assert.equal(seenBodies[1]!.txnId, stored);
    assert.equal(seenBodies[1]!.body, seenBodies[0]!.body, "the same contents, origin_server_ts included");
    await until("every message delivered", () => r.pdus().filter((p) => p["type"] === "m.room.message").length >= 5);
    await new Promise((res) => setTimeout(res, 300));
    const ids = r.pdus().map(eventIdOf);
    assert.equal(new Set(ids).size, ids.length, "no event applied twice");
    assert.deepEqual(r.pdus().filter((p) => p["type"] === "m.room.message").map(bodyOf), ["m0", "m1", "m2", "m3", "m4"]);
    await z2.close();
  });

  it("catches up after a long outage with the newest event of each room, not a replay", async () => {
    const r = await remote({ start: false });
    const z = await zion({ backoff: { min: 600_000, mult: 2, max: 600_000 }, catchUpThreshold: 10 });
    const roomA = await roomWith(z, [r.name]);
    const roomB = await roomWith(z, [r.name]);
    await until("the first attempt failed", async () => (await z.storage.destinations.getDestination(r.name))?.failureTs != null);
    for (let i = 0; i < 30; i++) await say(z, i % 2 ? roomB : roomA, `m${i}`);
    await r.start();
    z.sender.wake(r.name);
    await until("the queue is drained", async () => (await z.storage.outbound.listDestinations())[0]?.queuedPdus === 0);
    const messages = r.pdus().filter((p) => p["type"] === "m.room.message").map(bodyOf);
    assert.deepEqual(messages.sort(), ["m28", "m29"], "only the newest message of each room after the outage");
    assert.ok(z.log.lines.some((l) => l.msg.includes("catching up")));
  });

  it("never connects to a destination outside federation_domain_whitelist or denied by the room's m.room.server_acl", async () => {
    const allowed = await remote();
    const notListed = await remote();
    const denied = await remote();
    const z = await zion({ whitelist: [allowed.name, denied.name] });
    const roomId = await roomWith(z, [allowed.name, notListed.name, denied.name]);
    await z.rooms.send(roomId, { type: "m.room.server_acl", stateKey: "", sender: ALICE, content: { allow: ["*"], deny: [denied.name], allow_ip_literals: false } });
    await say(z, roomId, "after the acl");
    await until("the allowed server has the message", () => allowed.pdus().some((p) => bodyOf(p) === "after the acl"));
    assert.equal(notListed.connections(), 0, "no connection to a server outside the whitelist");
    assert.ok(denied.pdus().every((p) => bodyOf(p) !== "after the acl"), "nothing after the ACL reaches the denied server");
    const queued = (await z.storage.outbound.listDestinations()).map((d) => d.destination);
    assert.ok(!queued.includes(notListed.name), "nothing queued for it either");
  });

  it("never connects to a server the room's ACL denies when it joined after the ACL", async () => {
    const allowed = await remote();
    const denied = await remote();
    const z = await zion();
    const roomId = await roomWith(z, []);
    await z.rooms.send(roomId, { type: "m.room.server_acl", stateKey: "", sender: ALICE, content: { allow: ["*"], deny: [denied.name] } });
    await z.rooms.join(roomId, `@bob:${allowed.name}` as UserId);
    await z.rooms.join(roomId, `@carol:${denied.name}` as UserId).catch(() => {});
    await say(z, roomId, "hello");
    await until("the allowed server has the message", () => allowed.pdus().some((p) => bodyOf(p) === "hello"));
    assert.equal(denied.connections(), 0);
  });

  it("queues and sends nothing when federation_enabled is false", async () => {
    const r = await remote();
    const z = await zion({ federationEnabled: false });
    const roomId = await roomWith(z, [r.name]);
    await say(z, roomId, "hello");
    await z.sender.enqueueEdu([r.name], { edu_type: "m.direct_to_device", content: {} }, { persistent: true });
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(r.connections(), 0);
    assert.deepEqual(await z.storage.outbound.listDestinations(), []);
  });

  it("logs a PDU the remote refused and does not retry it, while the transaction completes", async () => {
    const r = await remote();
    r.answer = (t, res) => {
      r.txns.push(t);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ pdus: Object.fromEntries(t.pdus.map((p) => [eventIdOf(p), bodyOf(p) === "bad" ? { error: "not allowed by the auth rules" } : {}])) }));
    };
    const z = await zion();
    const roomId = await roomWith(z, [r.name]);
    const bad = await say(z, roomId, "bad");
    await say(z, roomId, "after");
    await until("the next message arrived", () => r.pdus().some((p) => bodyOf(p) === "after"));
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(r.pdus().filter((p) => eventIdOf(p) === bad.eventId).length, 1, "the refused PDU is not sent again");
    const line = z.log.lines.find((l) => l.msg.includes("refused a PDU"));
    assert.equal(line?.obj["eventId"], bad.eventId);
    assert.equal(line?.obj["error"], "not allowed by the auth rules");
    assert.equal(z.log.lines.filter((l) => l.msg.includes("started failing")).length, 0, "a refused PDU is not a failing destination");
  });

  it("sends a membership event to its target's server (a kicked remote user hears of it), then stops sending there", async () => {
    const r = await remote();
    const z = await zion();
    const roomId = await roomWith(z, [r.name]);
    await say(z, roomId, "before");
    const kick = await z.rooms.setMembership(roomId, ALICE, `@bob:${r.name}` as UserId, "kick", "bye");
    await say(z, roomId, "after");
    await until("the kick arrived", () => r.pdus().some((p) => eventIdOf(p) === kick));
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(r.pdus().filter((p) => p["type"] === "m.room.message").map(bodyOf), ["before"], "nothing after the kick");
  });

  it("stores to-device EDUs by default and keeps typing in memory, dropping it while the destination is in back-off", async () => {
    const r = await remote({ start: false });
    const z = await zion({ backoff: { min: 600_000, mult: 2, max: 600_000 } });
    await z.sender.enqueueEdu([r.name], { edu_type: "m.typing", content: { room_id: "!r:zion.test", user_id: ALICE, typing: true } });
    await until("the first attempt failed", async () => (await z.storage.destinations.getDestination(r.name))?.failureTs != null);
    await z.sender.enqueueEdu([r.name], { edu_type: "m.typing", content: { room_id: "!r:zion.test", user_id: ALICE, typing: false } });
    await z.sender.enqueueEdu([r.name], { edu_type: "m.direct_to_device", content: { message_id: "kept" } });
    assert.equal((await z.storage.outbound.listDestinations())[0]?.queuedEdus, 2, "the failed typing EDU (in its transaction) and the to-device one are stored");
    await r.start();
    z.sender.wake(r.name);
    await until("the queue is drained", async () => (await z.storage.outbound.listDestinations())[0]?.queuedEdus === 0);
    const types = r.txns.flatMap((t) => t.edus.map((e) => [e["edu_type"], (e["content"] as JsonObject)["typing"] ?? (e["content"] as JsonObject)["message_id"]]));
    assert.deepEqual(types, [["m.typing", true], ["m.direct_to_device", "kept"]], "the typing EDU queued during the back-off was dropped");
  });

  it("after a restart, resumes a destination's queue in its stored back-off and still wakes it on contact", async () => {
    const r = await remote({ start: false });
    const long = { min: 600_000, mult: 2, max: 600_000 };
    const z1 = await zion({ backoff: long });
    await z1.sender.enqueueEdu([r.name], { edu_type: "m.direct_to_device", content: { message_id: "x" } });
    await until("the first attempt failed", async () => (await z1.storage.destinations.getDestination(r.name))?.failureTs != null);
    await z1.close();
    await r.start();
    const z2 = await zion({ dbPath: z1.dbPath, backoff: long });
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(r.attempts.length, 0, "the stored back-off holds across the restart");
    await contactFrom(z2, r);
    await until("delivered after the contact", () => r.txns.length === 1, 15_000);
  });
});
