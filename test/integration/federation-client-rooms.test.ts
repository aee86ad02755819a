/**
 * FederationClient's typed room methods refuse malformed answers with FederationError "bad-response" naming the
 * field: a test double on 127.0.0.1 (real TLS from the test CA, IP-literal server name, no DNS) answers each request
 * with the body the test chooses. Round trips against Zion's own routes are in federation-room-reads.test.ts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signingKeyFromSeed } from "../../src/core/crypto/index.js";
import { buildPdu } from "../../src/core/events/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { FederationError, type FederationClient } from "../../src/federation/transport/client.js";
import { ipLiteralFederationClient, testHttpsClient } from "../harness/federation-client.js";
import { freePort } from "../harness/ports.js";
import { createTestCa, serveHttps, type TestCa, type TestHttpsServer } from "../harness/test-ca.js";

const V1 = roomVersion("1");
const V10 = roomVersion("10");
const key = signingKeyFromSeed("r1", randomBytes(32));
const ROOM = "!r:remote.test" as RoomId;

function pdu(rules = V10, content: JsonObject = { body: "hi" }, roomId: string = ROOM, eventId?: string) {
  return buildPdu(rules, {
    type: "m.room.message", sender: "@u:remote.test", content, roomId, prevEvents: [], authEvents: [], depth: 1, originServerTs: 1,
    ...(eventId ? { eventId } : {}),
  }, { serverName: "remote.test", key });
}

describe("FederationClient room methods: strict checks of the answers (real TLS)", { timeout: 30_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let server: TestHttpsServer;
  let https: HttpsClient;
  let client: FederationClient;
  let dest: ServerName;
  let body: unknown = {};
  let lastUrl = "";

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-client-rooms-"));
    ca = await createTestCa(dir);
    const port = await freePort("127.0.0.1");
    dest = `127.0.0.1:${port}` as ServerName;
    server = await serveHttps("127.0.0.1", port, await ca.issue({ ip: ["127.0.0.1"] }), (req, res) => {
      lastUrl = req.url ?? "";
      res.writeHead(200, { "content-type": "application/json" });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    });
    https = testHttpsClient(ca.caCertPem);
    client = ipLiteralFederationClient(https, "zion.test", signingKeyFromSeed("z1", randomBytes(32)), ["127.0.0.1/32"]);
  });
  after(async () => {
    await https?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function bad(p: Promise<unknown>, pattern: RegExp): Promise<void> {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof FederationError, String(e));
      assert.equal(e.kind, "bad-response", e.message);
      assert.match(e.message, pattern);
      return true;
    });
  }

  it("getEvent returns the PDU asked for, and refuses another event, two events or none", async () => {
    const e = pdu();
    body = { origin: "remote.test", origin_server_ts: 1, pdus: [e.raw] };
    assert.equal((await client.getEvent(dest, e.eventId, V10)).eventId, e.eventId);
    await bad(client.getEvent(dest, "$other" as EventId, V10), /pdus\[0\]: is \$.*, not \$other/);
    body = { pdus: [e.raw, e.raw] };
    await bad(client.getEvent(dest, e.eventId, V10), /pdus: must hold exactly one event, holds 2/);
    body = { origin: "remote.test" };
    await bad(client.getEvent(dest, e.eventId, V10), /pdus: must be an array/);
  });

  it("parses PDUs for the room version: a float passes in a room version 1 event and fails in a version 10 one", async () => {
    const old = pdu(V1, { body: "hi", weight: 0.5 }, "!r:remote.test", "$old:remote.test");
    body = { pdus: [old.raw] };
    const got = await client.backfill(dest, ROOM, [old.eventId], 5, V1);
    assert.equal(got[0]!.eventId, "$old:remote.test");
    assert.equal((got[0]!.content as { weight: number }).weight, 0.5);
    body = { pdus: [{ ...pdu().raw, content: { body: "hi", weight: 0.5 } }] };
    await bad(client.backfill(dest, ROOM, ["$x" as EventId], 5, V10), /pdus\[0\]: .*not an integer|pdus\[0\]: .*integer/);
  });

  it("backfill sends v and limit, and refuses more events than asked for or events of another room", async () => {
    body = { pdus: [pdu().raw, pdu(V10, { body: "2" }).raw] };
    await bad(client.backfill(dest, ROOM, ["$a" as EventId, "$b" as EventId], 1, V10), /holds 2 events, more than the limit of 1/);
    assert.match(lastUrl, /\?v=%24a&v=%24b&limit=1$/);
    body = { pdus: [pdu(V10, {}, "!other:remote.test").raw] };
    await bad(client.backfill(dest, ROOM, ["$a" as EventId], 5, V10), /is an event of !other:remote.test, not of !r:remote.test/);
  });

  it("getMissingEvents refuses more than limit events", async () => {
    body = { events: [pdu().raw, pdu(V10, { body: "2" }).raw] };
    await bad(client.getMissingEvents(dest, ROOM, { earliestEvents: [], latestEvents: ["$l" as EventId], limit: 1 }, V10), /events: holds 2 events/);
  });

  it("getStateIds and getState check their lists", async () => {
    body = { pdu_ids: ["$a"], auth_chain_ids: [5] };
    await bad(client.getStateIds(dest, ROOM, "$e" as EventId), /auth_chain_ids\[0\]: must be an event id/);
    body = { pdu_ids: ["$a"], auth_chain_ids: [] };
    assert.deepEqual(await client.getStateIds(dest, ROOM, "$e" as EventId), { pduIds: ["$a"], authChainIds: [] });
    body = { pdus: [pdu().raw], auth_chain: [{ type: "m.room.message" }] };
    await bad(client.getState(dest, ROOM, "$e" as EventId, V10), /auth_chain\[0\]/);
    body = { auth_chain: "nope" };
    await bad(client.getEventAuth(dest, ROOM, "$e" as EventId, V10), /auth_chain: must be an array/);
  });

  it("timestampToEvent, queryDirectory and publicRooms check their fields", async () => {
    body = { event_id: "$e", origin_server_ts: "1" };
    await bad(client.timestampToEvent(dest, ROOM, 5, "f"), /origin_server_ts: must be an integer/);
    body = { room_id: "not-a-room", servers: [] };
    await bad(client.queryDirectory(dest, "#a:remote.test" as never), /room_id: must be a room id/);
    body = { room_id: "!r:remote.test", servers: ["remote.test"] };
    assert.deepEqual(await client.queryDirectory(dest, "#a:remote.test" as never), { roomId: "!r:remote.test", servers: ["remote.test"] });
    body = { chunk: [{ room_id: "!r:remote.test" }] };
    await bad(client.publicRooms(dest), /chunk\[0\]\.num_joined_members: must be a number/);
  });

  it("makeJoin and makeKnock require room_version and an event; makeLeave does not require room_version", async () => {
    body = { event: { type: "m.room.member" } };
    await bad(client.makeJoin(dest, ROOM, "@me:zion.test" as UserId, ["10"]), /room_version: must be a string/);
    assert.match(lastUrl, /\?ver=10$/);
    await bad(client.makeKnock(dest, ROOM, "@me:zion.test" as UserId, ["10"]), /room_version: must be a string/);
    assert.deepEqual(await client.makeLeave(dest, ROOM, "@me:zion.test" as UserId), { roomVersion: undefined, event: { type: "m.room.member" } });
    body = { room_version: "10", event: [] };
    await bad(client.makeJoin(dest, ROOM, "@me:zion.test" as UserId, ["10"]), /event: must be a JSON object/);
  });

  it("sendJoin parses state and auth chain, and requires servers_in_room when members were omitted", async () => {
    const e = pdu();
    body = { origin: "remote.test", state: [e.raw], auth_chain: [], members_omitted: true };
    await bad(client.sendJoin(dest, ROOM, "$j" as EventId, {}, V10, { omitMembers: true }), /servers_in_room: is required when members_omitted is true/);
    assert.match(lastUrl, /\/v2\/send_join\/.*\?omit_members=true$/);
    body = { origin: "remote.test", state: [e.raw], auth_chain: [], members_omitted: true, servers_in_room: ["remote.test"] };
    const got = await client.sendJoin(dest, ROOM, "$j" as EventId, {}, V10, { omitMembers: true });
    assert.deepEqual({ state: got.state.map((p) => p.eventId), membersOmitted: got.membersOmitted, servers: got.serversInRoom }, { state: [e.eventId], membersOmitted: true, servers: ["remote.test"] });
    body = { state: [], auth_chain: [], members_omitted: "yes" };
    await bad(client.sendJoin(dest, ROOM, "$j" as EventId, {}, V10), /members_omitted: must be a boolean/);
  });

  it("sendLeave needs an object, sendKnock a list of stripped state, invite the invite event back", async () => {
    body = [];
    await bad(client.sendLeave(dest, ROOM, "$l" as EventId, {}), /must be a JSON object/);
    body = { knock_room_state: [1] };
    await bad(client.sendKnock(dest, ROOM, "$k" as EventId, {}), /knock_room_state\[0\]: must be a JSON object/);
    const inv = pdu();
    body = { event: inv.raw };
    assert.equal((await client.invite(dest, ROOM, inv.eventId, { event: inv.raw, roomVersion: "10" }, V10)).event.eventId, inv.eventId);
    await bad(client.invite(dest, ROOM, "$other" as EventId, { event: inv.raw, roomVersion: "10" }, V10), /event: is \$.*, not \$other/);
  });

  it("inviteV1 puts to /v1/invite and needs [200, {event}] with the invite event back", async () => {
    const inv = pdu();
    body = [200, { event: inv.raw }];
    assert.equal((await client.inviteV1(dest, ROOM, inv.eventId, inv.raw, V10)).event.eventId, inv.eventId);
    assert.match(lastUrl, /^\/_matrix\/federation\/v1\/invite\//);
    body = { event: inv.raw };
    await bad(client.inviteV1(dest, ROOM, inv.eventId, inv.raw, V10), /must be \[200, \{event\}\]/);
    body = [201, { event: inv.raw }];
    await bad(client.inviteV1(dest, ROOM, inv.eventId, inv.raw, V10), /must be \[200, \{event\}\]/);
    body = [200, { event: inv.raw }];
    await bad(client.inviteV1(dest, ROOM, "$other" as EventId, inv.raw, V10), /event: is \$.*, not \$other/);
  });
});
