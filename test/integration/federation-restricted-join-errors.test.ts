/**
 * Restricted joins that cannot be authorised (https://spec.matrix.org/v1.16/server-server-api/#restricted-rooms;
 * docs/federation.md, "Joining"), between an in-process Zion and two test doubles (fed-double.ts) over real HTTPS
 * with IP-literal names on 127.0.0.1 (test CA):
 *
 * - Zion as the resident: make_join of a restricted room is 400 M_UNABLE_TO_AUTHORISE_JOIN when Zion is in none of
 *   the allowed rooms, 403 M_FORBIDDEN when it is and the user is in none of them, 400 M_UNABLE_TO_GRANT_JOIN when
 *   the user qualifies but no local member may invite; a send_join naming such a member is 400
 *   M_UNABLE_TO_GRANT_JOIN and stores nothing.
 * - Zion as the joining server: a resident answering M_UNABLE_TO_GRANT_JOIN makes Zion try the next candidate
 *   (which lets bob in); when every candidate answers it, bob's /join is 400 M_UNABLE_TO_GRANT_JOIN naming each.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPdu, hashAndSignEvent, parsePdu, stateKeyOf, type Pdu } from "../../src/core/events/index.js";
import type { RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { FederationError } from "../../src/federation/transport/client.js";
import { DoubleRoom, startFedDouble, startZionForDoubles, type FedDouble } from "../harness/fed-double.js";
import { clientCaller, expectMatrixError } from "../harness/http-get.js";
import type { TestServer } from "../harness/server.js";
import { createTestCa } from "../harness/test-ca.js";

const V11 = roomVersion("11");
const enc = encodeURIComponent;

describe("restricted joins that cannot be authorised (Zion and two test doubles over real HTTPS)", { timeout: 180_000 }, () => {
  let dir: string;
  let zion: TestServer;
  let ZION: ServerName;
  let https: HttpsClient;
  let d1: FedDouble;
  let d2: FedDouble;
  let R: UserId;
  const users: Record<string, { userId: UserId; token: string }> = {};
  let lobby: RoomId;
  const call = clientCaller(() => zion.clientUrl);
  const storage = () => zion.homeserver!.storage;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-restricted-"));
    const ca = await createTestCa(dir);
    const z = await startZionForDoubles(ca);
    ({ zion, https } = z);
    ZION = z.serverName;
    const zionKey = z.key;
    d1 = await startFedDouble(ca, https, { serverName: ZION, key: zionKey });
    d2 = await startFedDouble(ca, https, { serverName: ZION, key: zionKey });
    R = `@r:${d1.name}` as UserId;
    for (const name of ["alice", "bob"]) {
      const reg = await call("POST", "/_matrix/client/v3/register", { username: name, password: `${name} password 1`, auth: { type: "m.login.dummy" } });
      assert.equal(reg.status, 200, reg.body);
      users[name] = { userId: reg.json()["user_id"] as UserId, token: reg.json()["access_token"] as string };
    }
    lobby = await createRoom({ preset: "public_chat", room_version: "11", name: "lobby" });
  });
  after(async () => {
    await https?.close();
    await zion?.stop();
    await d1?.close();
    await d2?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function createRoom(body: JsonObject): Promise<RoomId> {
    const r = await call("POST", "/_matrix/client/v3/createRoom", body, users["alice"]!.token);
    assert.equal(r.status, 200, r.body);
    return r.json()["room_id"] as RoomId;
  }
  /** A v11 room of alice's whose join rule is restricted to members of `allowed`. */
  const restrictedRoom = (allowed: string, extra: JsonObject = {}) => createRoom({
    preset: "private_chat", room_version: "11", ...extra,
    initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: allowed }] } }],
  });
  const makeJoinRefusal = async (roomId: RoomId): Promise<FederationError> => {
    try {
      await d1.client.makeJoin(ZION, roomId, R, ["11"]);
    } catch (e) {
      if (e instanceof FederationError) return e;
      throw e;
    }
    assert.fail("make_join was answered with a template");
  };
  const extremities = async (roomId: RoomId) => [...(await storage().rooms.getForwardExtremities(roomId))].sort();

  it("make_join of a restricted room whose allowed room Zion is not in: 400 M_UNABLE_TO_AUTHORISE_JOIN naming that room, nothing written", async () => {
    const elsewhere = `!elsewhere:${d1.name}`;
    const roomId = await restrictedRoom(elsewhere);
    const before = await extremities(roomId);
    const e = await makeJoinRefusal(roomId);
    assert.equal(e.status, 400);
    assert.equal(e.errcode, "M_UNABLE_TO_AUTHORISE_JOIN");
    assert.ok(e.message.includes(elsewhere), e.message);
    assert.deepEqual(await extremities(roomId), before);
  });

  it("make_join of a restricted room whose allowed room Zion is in but the user is not: 403 M_FORBIDDEN", async () => {
    const roomId = await restrictedRoom(lobby);
    const e = await makeJoinRefusal(roomId);
    assert.equal(e.status, 403);
    assert.equal(e.errcode, "M_FORBIDDEN");
  });

  it("make_join of a restricted room the user qualifies for but where no local member may invite: 400 M_UNABLE_TO_GRANT_JOIN naming the invite level; a send_join naming alice anyway is 400 M_UNABLE_TO_GRANT_JOIN and stores nothing", async () => {
    // @r joins the lobby, so qualifies; in the room, inviting needs level 101 and alice has 100.
    const tpl = await d1.client.makeJoin(ZION, lobby, R, ["11"]);
    const lobbyJoin = parsePdu(hashAndSignEvent({ ...tpl.event, origin_server_ts: Date.now(), content: { membership: "join" } }, V11, { serverName: d1.name, key: d1.key }), V11);
    await d1.client.sendJoin(ZION, lobby, lobbyJoin.eventId, lobbyJoin.raw, V11);
    const roomId = await restrictedRoom(lobby, { power_level_content_override: { invite: 101 } });
    const before = await extremities(roomId);
    const e = await makeJoinRefusal(roomId);
    assert.equal(e.status, 400);
    assert.equal(e.errcode, "M_UNABLE_TO_GRANT_JOIN");
    assert.match(e.message, /power to invite \(level 101\)/);
    // The join a joining server would build had make_join named alice.
    const s = storage();
    const id = (t: string, k = "") => s.rooms.getCurrentStateEventId(roomId, t, k);
    const alice = users["alice"]!.userId;
    const prev = (await s.events.getPdus(before)).get(before[0]!)!;
    const joinPdu: Pdu = buildPdu(V11, {
      type: "m.room.member", stateKey: R, sender: R, roomId, content: { membership: "join", join_authorised_via_users_server: alice },
      prevEvents: [prev.eventId], authEvents: [(await id("m.room.create"))!, (await id("m.room.power_levels"))!, (await id("m.room.join_rules"))!, (await id("m.room.member", alice))!],
      depth: prev.depth + 1, originServerTs: Date.now(),
    }, { serverName: d1.name, key: d1.key });
    await assert.rejects(d1.client.sendJoin(ZION, roomId, joinPdu.eventId, joinPdu.raw, V11),
      (x: unknown) => x instanceof FederationError && x.status === 400 && x.errcode === "M_UNABLE_TO_GRANT_JOIN" && x.message.includes(alice));
    assert.equal((await s.events.haveEvents([joinPdu.eventId])).size, 0);
    assert.deepEqual(await extremities(roomId), before);
    assert.equal(await s.rooms.getCurrentStateEventId(roomId, "m.room.member", R), null);
  });

  it("as the joining server, tries the next candidate when a resident answers M_UNABLE_TO_GRANT_JOIN, and joins through it", async () => {
    const room = new DoubleRoom({ name: d2.name, key: d2.key });
    const bob = users["bob"]!;
    const grant = (_q: unknown, _m: unknown, res: Parameters<FedDouble["json"]>[0]) => d1.json(res, 400, { errcode: "M_UNABLE_TO_GRANT_JOIN", error: "no user here may invite" });
    d1.on("GET", /^\/_matrix\/federation\/v1\/make_join\//, "make_join", grant);
    d2.on("GET", /^\/_matrix\/federation\/v1\/make_join\//, "make_join", (_q, _m, res) => d2.json(res, 200, { room_version: "11", event: room.joinTemplate(bob.userId) }));
    d2.on("PUT", /^\/_matrix\/federation\/v2\/send_join\//, "send_join", (_q, _m, res) => d2.json(res, 200, { origin: d2.name, state: room.stateWire(), auth_chain: room.stateWire(), members_omitted: false, servers_in_room: [d2.name] }));
    const r = await call("POST", `/_matrix/client/v3/join/${enc(room.roomId)}?server_name=${enc(d1.name)}`, {}, bob.token, 30_000);
    assert.equal(r.status, 200, r.body);
    assert.equal(d1.count("make_join"), 1, "the first candidate was asked");
    assert.equal(d2.count("make_join"), 1, "then the next");
    assert.equal(d2.count("send_join"), 1);
    assert.ok(await storage().rooms.getCurrentStateEventId(room.roomId, "m.room.member", bob.userId));
    assert.equal((await storage().rooms.getCurrentState(room.roomId)).get(stateKeyOf("m.room.member", bob.userId)) !== undefined, true);
  });

  it("as the joining server, when every candidate answers M_UNABLE_TO_GRANT_JOIN, bob's /join is 400 M_UNABLE_TO_GRANT_JOIN naming each server, and nothing is stored", async () => {
    const roomId = `!nowhere:${d2.name}` as RoomId;
    const bob = users["bob"]!;
    const [before1, before2] = [d1.count("make_join"), d2.count("make_join")];
    for (const d of [d1, d2]) d.on("GET", /^\/_matrix\/federation\/v1\/make_join\//, "make_join", (_q, _m, res) => d.json(res, 400, { errcode: "M_UNABLE_TO_GRANT_JOIN", error: `nobody on ${d.name} may invite` }));
    const r = await call("POST", `/_matrix/client/v3/join/${enc(roomId)}?server_name=${enc(d1.name)}`, {}, bob.token, 30_000);
    const body = expectMatrixError(r, 400, "M_UNABLE_TO_GRANT_JOIN");
    assert.equal(d1.count("make_join"), before1 + 1);
    assert.equal(d2.count("make_join"), before2 + 1);
    for (const d of [d1, d2]) assert.ok(String(body["error"]).includes(`nobody on ${d.name} may invite`), String(body["error"]));
    assert.equal(await storage().rooms.getCurrentStateEventId(roomId, "m.room.member", bob.userId), null);
  });
});
