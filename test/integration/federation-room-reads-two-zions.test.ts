/**
 * Zion A's own FederationClient (built from A's homeserver.yaml by app/federation.ts) fetches /state_ids, /event and
 * /backfill from Zion B over real HTTPS, and B verifies A's X-Matrix signatures with keys it fetches from A's
 * listener: nothing is stubbed. Both servers are in-process, named by IP literal on 127.0.0.1 (no DNS), with
 * certificates from the test CA. B holds a shared-visibility room of events signed with B's key in which A's user
 * @dan joined after the first message.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/core/clock.js";
import { signingKeyFromSeed } from "../../src/core/crypto/index.js";
import { buildPdu } from "../../src/core/events/index.js";
import { stateKeyOf, type Pdu, type StateKey } from "../../src/core/events/pdu.js";
import type { EventId, RoomId, ServerName } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import { createFederation, type FederationServices } from "../../src/app/federation.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { freePort } from "../harness/ports.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { createTestCa } from "../harness/test-ca.js";

const clock: Clock = { now: () => Date.now(), sleep: async (ms) => new Promise((r) => setTimeout(r, ms)) };
const V10 = roomVersion("10");

describe("Zion A's FederationClient reads a room from Zion B (keys fetched, signatures verified, real HTTPS)", { timeout: 60_000 }, () => {
  let dir: string;
  let a: TestServer;
  let b: TestServer;
  let fed: FederationServices;
  let B: ServerName;
  const events: Pdu[] = [];
  const roomId = () => `!room:${B}` as RoomId;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-two-reads-"));
    const ca = await createTestCa(dir);
    const [pa, pb] = [await freePort("127.0.0.1"), await freePort("127.0.0.1")];
    const A = `127.0.0.1:${pa}`;
    B = `127.0.0.1:${pb}` as ServerName;
    const common = { ip_range_whitelist: ["127.0.0.1/32"], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [] };
    const listener = (port: number) => [{ port, bind_addresses: ["127.0.0.1"], type: "http", tls: true, resources: [{ names: ["federation", "keys"] }] }];
    const leaf = await ca.issue({ ip: ["127.0.0.1"] });
    const tls = { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath };

    // B's room: alice (on B) creates it with shared visibility, says m1; dan (on A) joins; alice says m2.
    const bKey = signingKeyFromSeed("b1", randomBytes(32));
    const alice = `@alice:${B}`;
    const dan = `@dan:${A}`;
    const state = new Map<StateKey, Pdu>();
    const add = (type: string, sender: string, content: JsonObject, stateKey?: string) => {
      const get = (t: string, k: string) => state.get(stateKeyOf(t, k))?.eventId;
      const auth = [get("m.room.create", ""), get("m.room.power_levels", ""), get("m.room.member", sender)];
      if (type === "m.room.member") auth.push(get("m.room.join_rules", ""));
      const p = buildPdu(V10, {
        type, sender, content, roomId: roomId(), ...(stateKey !== undefined ? { stateKey } : {}),
        prevEvents: events.length ? [events.at(-1)!.eventId] : [], authEvents: type === "m.room.create" ? [] : [...new Set(auth.filter((x): x is EventId => x !== undefined))],
        depth: events.length + 1, originServerTs: 1_000 + events.length,
      }, { serverName: B, key: bKey });
      events.push(p);
      if (stateKey !== undefined) state.set(stateKeyOf(type, stateKey), p);
    };
    add("m.room.create", alice, { room_version: "10" }, "");
    add("m.room.member", alice, { membership: "join" }, alice);
    add("m.room.power_levels", alice, { users: { [alice]: 100 } }, "");
    add("m.room.join_rules", alice, { join_rule: "public" }, "");
    add("m.room.history_visibility", alice, { history_visibility: "shared" }, "");
    add("m.room.message", alice, { msgtype: "m.text", body: "m1" });
    add("m.room.member", dan, { membership: "join" }, dan);
    add("m.room.message", alice, { msgtype: "m.text", body: "m2" });
    const storage = await openSqliteStorage({ path: join(dir, "b.db") });
    await storage.events.persistEvents({
      events: events.map((pdu, i) => ({ pdu, stateBefore: i === 0 ? { state: new Map() } : { after: events[i - 1]!.eventId } })),
      rooms: [{ roomId: roomId(), roomVersion: "10", creator: alice as never }],
      state: [{ roomId: roomId(), set: new Map([...state].map(([k, p]) => [k, p.eventId])) }],
      receivedTs: Date.now(),
    });
    [a, b] = await Promise.all([
      startTestServer({ serverName: A, tls, config: { listeners: listener(pa), ...common } }),
      startTestServer({ serverName: B, tls, signingKey: bKey, storage, config: { listeners: listener(pb), ...common } }),
    ]);
    fed = createFederation(a.config, { keys: a.homeserver!.storage.keys, signingKeys: a.homeserver!.signingKeys, clock });
  });
  after(async () => {
    await fed?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it("getStateIds answers the state before m2, dan's join included", async () => {
    const got = await fed.client.getStateIds(B, roomId(), events.at(-1)!.eventId);
    assert.deepEqual(got.pduIds, events.filter((e) => e.stateKey !== undefined).map((e) => e.eventId).sort());
  });

  it("getEvent answers m1 unredacted (shared history, A's user joined since)", async () => {
    const m1 = events[5]!;
    const got = await fed.client.getEvent(B, m1.eventId, V10);
    assert.deepEqual(got.content, { msgtype: "m.text", body: "m1" });
  });

  it("backfill walks the whole room back from m2", async () => {
    const got = await fed.client.backfill(B, roomId(), [events.at(-1)!.eventId], 50, V10);
    assert.deepEqual(got.map((p) => p.eventId), [...events].reverse().map((p) => p.eventId));
  });
});
