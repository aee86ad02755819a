/**
 * Invites over federation between two in-process Zions over real TLS (certificates from the test CA, names found
 * through a real dnsmasq, addresses in 127.0.22.0/24 on port 8448): hs1's alice invites hs2's bob, bob's /sync
 * shows the invite with hs1's stripped state, bob accepts (a remote join through the inviting server) or rejects
 * (make_leave / send_leave, or a leave made on hs2 when hs1 is down), and hs2 refuses bad invites with the right
 * errcode and writes nothing; a user of hs2 deactivating their account leaves and rejects hs1's rooms the same
 * way. Simplified sliding sync shows the invite, the knock and the rejection too, from the stripped state hs1
 * sent. old.invite.test, a small HTTPS server of the test's own, stands for a server that is
 * not Zion: without v2 invites, refusing, or answering without its signature. The last test stops hs1.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import { createFederation, type FederationServices } from "../../src/app/federation.js";
import type { Clock } from "../../src/core/clock.js";
import { newSigningKey } from "../../src/app/index.js";
import { publicKeyBase64, signJson, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import { hashAndSignEvent, parsePdu, signEvent } from "../../src/core/events/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import { FederationError } from "../../src/federation/transport/client.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { startFederatedZion } from "../harness/federated-zion.js";
import { clientCaller, expectMatrixError } from "../harness/http-get.js";
import type { TestServer } from "../harness/server.js";
import { createTestCa, serveHttps, type SeenRequest, type TestHttpsServer } from "../harness/test-ca.js";

const clock: Clock = { now: () => Date.now(), sleep: async (ms) => new Promise((r) => setTimeout(r, ms)) };
const cheap = scryptHasher({ ln: 10 });
const generous = { per_second: 1000, burst_count: 1000 };
// Four addresses (hs1, hs2, dnsmasq, old) from one of 60 blocks in 127.0.22.10-249 (port 8448 is fixed), so concurrent runs rarely collide.
const BASE = 10 + 4 * Math.floor(Math.random() * 60);
const [IP1, IP2, IP_DNS, IP_OLD] = [`127.0.22.${BASE}`, `127.0.22.${BASE + 1}`, `127.0.22.${BASE + 2}`, `127.0.22.${BASE + 3}`];
const HS1 = "hs1.invite.test" as ServerName;
const HS2 = "hs2.invite.test" as ServerName;
/** A server that is not Zion, answering invites as each test's invitee asks (below). */
const OLD = "old.invite.test" as ServerName;

/**
 * OLD's invite endpoints, by the invitee's localpart: `old*` has no v2 invite (404 M_UNRECOGNIZED) but v1,
 * `refuser` is refused (403), `unsigned` gets its event back without OLD's signature; anyone else is countersigned.
 */
function oldServer(key: SigningKey, seenV1: JsonObject[]): (req: SeenRequest, res: ServerResponse) => void {
  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const countersign = (event: JsonObject, version: string) => {
    const { unsigned: _u, ...raw } = event;
    return signEvent(raw, roomVersion(version), { serverName: OLD, key });
  };
  return (req, res) => {
    if (req.method === "GET" && req.url === "/_matrix/key/v2/server") {
      return answer(res, 200, signJson({ server_name: OLD, valid_until_ts: Date.now() + 86_400_000, verify_keys: { [key.keyId]: { key: publicKeyBase64(key) } }, old_verify_keys: {} }, OLD, key));
    }
    const body = req.body ? (JSON.parse(req.body) as JsonObject) : {};
    if (req.method === "PUT" && req.url.startsWith("/_matrix/federation/v2/invite/")) {
      const event = body["event"] as JsonObject;
      const who = String(event["state_key"]).slice(1).split(":")[0]!;
      if (who.startsWith("old")) return answer(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
      if (who === "refuser") return answer(res, 403, { errcode: "M_FORBIDDEN", error: "no invites, thank you" });
      if (who === "unsigned") return answer(res, 200, { event });
      return answer(res, 200, { event: countersign(event, String(body["room_version"])) });
    }
    if (req.method === "PUT" && req.url.startsWith("/_matrix/federation/v1/invite/")) {
      seenV1.push(body);
      return answer(res, 200, [200, { event: countersign(body, "1") }]);
    }
    answer(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
  };
}

describe("invites over federation (two Zions, real TLS and DNS)", { timeout: 180_000 }, () => {
  let dir: string;
  let dns: Dnsmasq;
  const hs: TestServer[] = [];
  const tokens: string[] = [];
  const users: UserId[] = [];
  let fed1: FederationServices;
  let old: TestHttpsServer | undefined;
  const seenV1: JsonObject[] = [];
  const call = (i: number) => clientCaller(() => hs[i]!.clientUrl);
  const enc = encodeURIComponent;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-fedinvite-"));
    const ca = await createTestCa(dir);
    dns = await startDnsmasq({ a: { [HS1]: [IP1], [HS2]: [IP2], [OLD]: [IP_OLD] } }, { address: IP_DNS });
    old = await serveHttps(IP_OLD, 8448, await ca.issue({ dns: [OLD] }), oldServer(signingKeyFromSeed("o1", randomBytes(32)), seenV1));
    for (const [name, ip, user] of [[HS1, IP1, "alice"], [HS2, IP2, "bob"]] as const) {
      const server = await startFederatedZion(ca, dns, name, ip, {
        ip_range_whitelist: ["127.0.22.0/24"],
        enable_registration: true, enable_registration_without_verification: true,
        rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous },
        rc_invites: { per_room: generous, per_user: generous, per_issuer: generous },
      }, { mode: "in-process", startOptions: { clock, passwordHasher: cheap } });
      hs.push(server);
      const r = await call(hs.length - 1)("POST", "/_matrix/client/v3/register", { username: user, password: "pw-123456", auth: { type: "m.login.dummy" } });
      assert.equal(r.status, 200, r.body);
      tokens.push(r.json()["access_token"] as string);
      users.push(r.json()["user_id"] as UserId);
    }
    const carol = await call(1)("POST", "/_matrix/client/v3/register", { username: "carol", password: "pw-123456", auth: { type: "m.login.dummy" } });
    assert.equal(carol.status, 200, carol.body);
    tokens.push(carol.json()["access_token"] as string);
    users.push(carol.json()["user_id"] as UserId);
    fed1 = createFederation(hs[0]!.config, { keys: hs[0]!.homeserver!.storage.keys, signingKeys: hs[0]!.homeserver!.signingKeys, clock });
  });
  after(async () => {
    await fed1?.close();
    await Promise.all(hs.map((s) => s.stop()));
    await old?.close();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const storage = (i: number) => hs[i]!.homeserver!.storage;
  const createRoom = async (body: Record<string, unknown>): Promise<RoomId> => {
    const r = await call(0)("POST", "/_matrix/client/v3/createRoom", body, tokens[0]);
    assert.equal(r.status, 200, r.body);
    return r.json()["room_id"] as RoomId;
  };
  const invite = (roomId: RoomId) => call(0)("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: users[1] }, tokens[0]);
  const sync = async (since?: string): Promise<{ next_batch: string; rooms: Record<string, Record<string, JsonObject>> }> => {
    const r = await call(1)("GET", `/_matrix/client/v3/sync?timeout=0${since ? `&since=${enc(since)}` : ""}`, undefined, tokens[1]);
    assert.equal(r.status, 200, r.body);
    return r.json() as never;
  };
  /** Bob's simplified sliding sync (MSC4186): one list of every room, and one of the encrypted ones. */
  const slidingSync = async (conn?: { id: string; pos?: string }): Promise<{ pos: string; lists: Record<string, { count: number; ops: { room_ids: string[] }[] }>; rooms: Record<string, Record<string, unknown>> }> => {
    const lists = { all: { ranges: [[0, 49]], timeline_limit: 1, required_state: [] }, enc: { ranges: [[0, 49]], timeline_limit: 1, required_state: [], filters: { is_encrypted: true } } };
    const query = conn?.pos ? `?pos=${enc(conn.pos)}` : "";
    const r = await call(1)("POST", `/_matrix/client/unstable/org.matrix.simplified_msc3575/sync${query}`, { conn_id: conn?.id ?? `c${Date.now()}${Math.random()}`, lists }, tokens[1]);
    assert.equal(r.status, 200, r.body);
    return r.json() as never;
  };
  const inviteState = (s: Awaited<ReturnType<typeof sync>>, roomId: RoomId) =>
    ((s.rooms["invite"]?.[roomId] as { invite_state?: { events: JsonObject[] } } | undefined)?.invite_state?.events ?? null);
  const memberOn = async (i: number, roomId: RoomId, user: UserId) => {
    const id = await storage(i).rooms.getCurrentStateEventId(roomId, "m.room.member", user);
    return id ? (await storage(i).events.getPdus([id])).get(id)! : null;
  };
  const waitFor = async (what: string, check: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 150; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  const messages = async (i: number, roomId: RoomId): Promise<string[]> => {
    const r = await call(i)("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=20`, undefined, tokens[i]);
    assert.equal(r.status, 200, r.body);
    return (r.json()["chunk"] as { content: { body?: string } }[]).map((e) => e.content.body ?? "");
  };

  it("alice's invite of bob reaches hs2: hs1 stores the invite countersigned by hs2 and carrying bob's profile from hs2, bob's /sync lists it with hs1's stripped state, and hs2 holds no state of the room", async () => {
    const named = await call(1)("PUT", `/_matrix/client/v3/profile/${enc(users[1]!)}/displayname`, { displayname: "Bob of hs2" }, tokens[1]);
    assert.equal(named.status, 200, named.body);
    const roomId = await createRoom({ preset: "private_chat", name: "secret plans" });
    const r = await invite(roomId);
    assert.equal(r.status, 200, r.body);
    const stored = await memberOn(0, roomId, users[1]!);
    assert.equal(stored?.content["membership"], "invite");
    assert.equal(stored?.content["displayname"], "Bob of hs2", "the invite carries the displayname hs2 answers for bob");
    assert.ok((stored!.raw["signatures"] as JsonObject)[HS2], "the stored invite carries hs2's signature");
    const s = await sync();
    const state = inviteState(s, roomId);
    assert.ok(state, JSON.stringify(s.rooms));
    assert.deepEqual(state.find((e) => e["type"] === "m.room.name")?.["content"], { name: "secret plans" });
    assert.ok(state.some((e) => e["type"] === "m.room.create"));
    assert.deepEqual(state.find((e) => e["type"] === "m.room.join_rules")?.["content"], { join_rule: "invite" });
    const own = state.find((e) => e["type"] === "m.room.member" && e["state_key"] === users[1]);
    assert.equal((own?.["content"] as JsonObject)["membership"], "invite");
    assert.equal(own?.["sender"], users[0]);
    assert.equal(await storage(1).rooms.getRoom(roomId), null, "hs2 does not hold the room");
    assert.deepEqual(await storage(1).rooms.getCurrentState(roomId), new Map());
    // Sliding sync lists it too, with hs1's stripped state (the room's state is not on hs2), and not as encrypted.
    const ss = await slidingSync();
    const room = ss.rooms[roomId] as { membership: string; invite_state: JsonObject[]; stripped_state: JsonObject[] } | undefined;
    assert.equal(room?.membership, "invite", JSON.stringify(ss.rooms));
    assert.deepEqual(room.invite_state.find((e) => e["type"] === "m.room.name")?.["content"], { name: "secret plans" });
    assert.equal(room.invite_state.filter((e) => e["type"] === "m.room.member" && e["state_key"] === users[1]).length, 1, "the member event once");
    assert.equal((room.invite_state.find((e) => e["type"] === "m.room.member" && e["state_key"] === users[1])?.["content"] as JsonObject)["membership"], "invite");
    assert.deepEqual(room.stripped_state, room.invite_state);
    // The is_encrypted filter reads the stripped state: an invite to an encrypted room is in `enc`, this one is not.
    const encrypted = await createRoom({ preset: "private_chat", name: "encrypted plans", initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] });
    assert.equal((await invite(encrypted)).status, 200);
    const ss2 = await slidingSync();
    assert.deepEqual(ss2.lists["enc"]!.ops[0]!.room_ids, [encrypted]);
    assert.deepEqual([...ss2.lists["all"]!.ops[0]!.room_ids].sort(), [roomId, encrypted].sort());
    // hs1's sender also delivers the invite with /send: hs2 knows it already, and still refuses other events of the room.
    const nameId = (await storage(0).rooms.getCurrentStateEventId(roomId, "m.room.name", ""))!;
    const message = (await storage(0).events.getPdus([nameId])).get(nameId)!;
    const sent = await fed1.client.sendTransaction(HS2, { txnId: `inv-${Date.now()}`, originServerTs: Date.now(), pdus: [stored!.raw, message.raw], edus: [] });
    assert.deepEqual(sent.pdus[stored!.eventId], {});
    assert.equal(sent.pdus[message.eventId], undefined, "an event of a room hs2 does not hold, whose id it cannot read, gets no answer");
  });

  it("bob accepts with /join (no server named: the inviting server is asked): joined on both servers, and messages flow both ways", async () => {
    const roomId = await createRoom({ preset: "private_chat", name: "accepted" });
    assert.equal((await invite(roomId)).status, 200);
    const j = await call(1)("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, tokens[1]);
    assert.equal(j.status, 200, j.body);
    assert.equal((await memberOn(0, roomId, users[1]!))?.content["membership"], "join");
    assert.equal((await memberOn(1, roomId, users[1]!))?.content["membership"], "join");
    // The join is partial (members omitted) and /sync shows a partial-state room only to lazy-loading clients, so
    // this plain sync lists it once the background completion is done: at once on an idle machine, later on a busy one.
    let s = await sync();
    await waitFor("bob's /sync lists the room as joined", async () => Boolean((s = await sync()).rooms["join"]?.[roomId]));
    assert.equal(s.rooms["invite"]?.[roomId], undefined);
    assert.equal((await call(0)("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/a1`, { msgtype: "m.text", body: "hello bob" }, tokens[0])).status, 200);
    await waitFor("alice's message on hs2", async () => (await messages(1, roomId)).includes("hello bob"));
    assert.equal((await call(1)("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/b1`, { msgtype: "m.text", body: "hello alice" }, tokens[1])).status, 200);
    await waitFor("bob's message on hs1", async () => (await messages(0, roomId)).includes("hello alice"));
  });

  it("a room version 12 room, whose id names no server: bob's /join goes to the inviting server, and the room's v12 events pass hs2's checks", async () => {
    const roomId = await createRoom({ preset: "private_chat", room_version: "12", name: "twelve" });
    assert.ok(!roomId.includes(":"), roomId);
    assert.equal((await invite(roomId)).status, 200);
    const j = await call(1)("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, tokens[1]);
    assert.equal(j.status, 200, j.body);
    assert.equal((await memberOn(1, roomId, users[1]!))?.content["membership"], "join");
    assert.equal((await memberOn(0, roomId, users[1]!))?.content["membership"], "join");
    const name = await call(1)("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.name`, undefined, tokens[1]);
    assert.equal(name.json()["name"], "twelve", name.body);
  });

  it("an invite into a room hs2 holds (carol of hs2 joined it): countersigned but not stored out of band; it reaches the room's state through /send, and bob's /sync lists it", async () => {
    const roomId = await createRoom({ preset: "public_chat", name: "shared" });
    assert.equal((await call(1)("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, tokens[2])).status, 200);
    const before = await sync();
    assert.equal((await invite(roomId)).status, 200);
    assert.equal((await storage(1).rooms.getMembership(roomId, users[1]!))?.strippedState ?? null, null, "no out-of-band invite");
    await waitFor("the invite in hs2's room state", async () => (await memberOn(1, roomId, users[1]!))?.content["membership"] === "invite");
    const state = inviteState(await sync(before.next_batch), roomId);
    assert.deepEqual(state?.find((e) => e["type"] === "m.room.name")?.["content"], { name: "shared" });
    // Inviting a user who is joined there already is refused by hs2 itself (hs1's own auth rules would stop alice first).
    assert.equal((await call(1)("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, tokens[1])).status, 200);
    const rules = roomVersion((await storage(0).rooms.getRoom(roomId))!.roomVersion);
    const raw = hashAndSignEvent({
      room_id: roomId, type: "m.room.member", state_key: users[1]!, sender: users[0]!, content: { membership: "invite" },
      prev_events: [], auth_events: [], depth: 30, origin_server_ts: Date.now(),
    }, rules, { serverName: HS1, key: hs[0]!.signingKey });
    const eventId = parsePdu(raw, rules).eventId;
    await assert.rejects(
      fed1.client.request({ destination: HS2, method: "PUT", path: `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(eventId)}`, body: { room_version: rules.id, event: raw } }),
      (e: unknown) => e instanceof FederationError && e.status === 403 && e.errcode === "M_FORBIDDEN",
    );
    assert.equal((await storage(1).events.haveEvents([eventId])).size, 0);
  });

  it("/createRoom's invite list invites bob over federation, and bob's /leave rejects it through make_leave / send_leave: hs1 has bob's leave, bob's /sync moves the room to leave", async () => {
    const before = await sync();
    const roomId = await createRoom({ preset: "private_chat", invite: [users[1]], is_direct: true });
    const invited = await memberOn(0, roomId, users[1]!);
    assert.equal(invited?.content["membership"], "invite");
    assert.equal(invited?.content["is_direct"], true);
    const mid = await sync(before.next_batch);
    assert.ok(inviteState(mid, roomId), JSON.stringify(mid.rooms));
    const ssBefore = await slidingSync({ id: "reject" });
    assert.equal(ssBefore.rooms[roomId]?.["membership"], "invite");
    assert.equal(ssBefore.rooms[roomId]?.["is_dm"], true, "an invite marked is_direct is a DM");
    const l = await call(1)("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { reason: "not now" }, tokens[1]);
    assert.equal(l.status, 200, l.body);
    const leave = await memberOn(0, roomId, users[1]!);
    assert.equal(leave?.content["membership"], "leave");
    assert.equal(leave?.content["reason"], "not now");
    assert.equal(leave?.sender, users[1]);
    const after = await sync(mid.next_batch);
    assert.equal(after.rooms["invite"]?.[roomId], undefined);
    const left = after.rooms["leave"]?.[roomId] as { timeline: { events: JsonObject[] } } | undefined;
    assert.equal(left?.timeline.events[0]?.["event_id"], leave!.eventId, "the leave hs1 accepted is the left room's timeline");
    // Sliding sync: the connection that showed the invite gets the rejection, shown by the leave alone.
    const ssAfter = (await slidingSync({ id: "reject", pos: ssBefore.pos })).rooms[roomId] as { membership: string; stripped_state: JsonObject[] } | undefined;
    assert.equal(ssAfter?.membership, "leave");
    assert.deepEqual(ssAfter.stripped_state.map((e) => [e["type"], (e["content"] as JsonObject)["membership"]]), [["m.room.member", "leave"]]);
    assert.equal((await sync()).rooms["invite"]?.[roomId], undefined, "an initial sync no longer lists the invite");
    assert.equal((await call(1)("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/forget`, {}, tokens[1])).status, 200, "the rejected room can be forgotten");
  });

  it("invites into a room version 1 room (v1 events; hs2 answers v2) and a PUT /v1/invite answers [200, {event}] countersigned, listed in bob's /sync", async () => {
    const roomId = await createRoom({ preset: "private_chat", room_version: "1" });
    assert.equal((await invite(roomId)).status, 200);
    assert.equal((await memberOn(0, roomId, users[1]!))?.content["membership"], "invite");
    // A v1 invite as an old server would send it, into a room hs1 claims (hs2 only checks the invite itself).
    const rules = roomVersion("1");
    const v1Room = `!v1room:${HS1}` as RoomId;
    const raw = hashAndSignEvent({
      event_id: `$v1invite:${HS1}`, room_id: v1Room, type: "m.room.member", state_key: users[1]!, sender: users[0]!, content: { membership: "invite" },
      prev_events: [], auth_events: [], depth: 3, origin_server_ts: Date.now(),
    }, rules, { serverName: HS1, key: hs[0]!.signingKey });
    const stripped = [{ type: "m.room.name", state_key: "", sender: users[0]!, content: { name: "old style" } }];
    const res = await fed1.client.request({ destination: HS2, method: "PUT", path: `/_matrix/federation/v1/invite/${enc(v1Room)}/${enc(`$v1invite:${HS1}`)}`, body: { ...raw, unsigned: { invite_room_state: stripped } } });
    const body = res.body as [number, { event: JsonObject }];
    assert.equal(body[0], 200);
    assert.ok((body[1].event["signatures"] as JsonObject)[HS2], "countersigned by hs2");
    assert.equal(body[1].event["event_id"], `$v1invite:${HS1}`);
    const state = inviteState(await sync(), v1Room);
    assert.deepEqual(state?.find((e) => e["type"] === "m.room.name")?.["content"], { name: "old style" });
  });

  it("bob knocks on hs1's room through make_knock / send_knock: hs1 has the knock, bob's /sync lists it under rooms.knock with the knock_room_state, and /leave withdraws it", async () => {
    const roomId = await createRoom({ preset: "private_chat", room_version: "10", name: "knock here", initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }] });
    const before = await sync();
    const k = await call(1)("POST", `/_matrix/client/v3/knock/${enc(roomId)}`, { reason: "let me in" }, tokens[1]);
    assert.equal(k.status, 200, k.body);
    const knock = await memberOn(0, roomId, users[1]!);
    assert.equal(knock?.content["membership"], "knock");
    assert.equal(knock?.content["reason"], "let me in");
    const s = await sync(before.next_batch);
    const state = (s.rooms["knock"]?.[roomId] as { knock_state?: { events: JsonObject[] } } | undefined)?.knock_state?.events;
    assert.deepEqual(state?.find((e) => e["type"] === "m.room.name")?.["content"], { name: "knock here" }, JSON.stringify(s.rooms));
    assert.equal((state?.find((e) => e["type"] === "m.room.member" && e["state_key"] === users[1])?.["content"] as JsonObject)["membership"], "knock");
    const ss = (await slidingSync()).rooms[roomId] as { membership: string; stripped_state: JsonObject[] } | undefined;
    assert.equal(ss?.membership, "knock");
    assert.deepEqual(ss.stripped_state.find((e) => e["type"] === "m.room.name")?.["content"], { name: "knock here" }, "sliding sync shows the knock_room_state");
    assert.equal((await call(1)("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {}, tokens[1])).status, 200);
    assert.equal((await memberOn(0, roomId, users[1]!))?.content["membership"], "leave");
    assert.equal((await sync()).rooms["knock"]?.[roomId], undefined);
  });

  it("a knock on a room whose join rule does not allow it: hs1's 403 is the client's 403 M_FORBIDDEN, and nothing is stored", async () => {
    const roomId = await createRoom({ preset: "private_chat", room_version: "10" });
    const k = await call(1)("POST", `/_matrix/client/v3/knock/${enc(roomId)}`, {}, tokens[1]);
    expectMatrixError(k, 403, "M_FORBIDDEN");
    assert.equal(await storage(1).rooms.getMembership(roomId, users[1]!), null);
  });

  it("a restricted room (v10) bob may join through a room he is in on hs1: hs1 names alice in join_authorised_via_users_server and signs the join, and hs2 stores it with hs1's signature; a user in no allowed room is refused", async () => {
    const lobby = await createRoom({ preset: "public_chat", room_version: "10" });
    const inner = await createRoom({
      preset: "private_chat", room_version: "10",
      initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: lobby }] } }],
    });
    const refused = await call(1)("POST", `/_matrix/client/v3/join/${enc(inner)}`, {}, tokens[1]);
    expectMatrixError(refused, 403, "M_FORBIDDEN");
    assert.equal((await call(1)("POST", `/_matrix/client/v3/join/${enc(lobby)}`, {}, tokens[1])).status, 200);
    const j = await call(1)("POST", `/_matrix/client/v3/join/${enc(inner)}`, {}, tokens[1]);
    assert.equal(j.status, 200, j.body);
    const onHs2 = await memberOn(1, inner, users[1]!);
    assert.equal(onHs2?.content["membership"], "join");
    assert.equal(onHs2?.content["join_authorised_via_users_server"], users[0]);
    assert.ok((onHs2!.raw["signatures"] as JsonObject)[HS1], "hs2's copy of the join carries hs1's signature");
    assert.ok((onHs2!.raw["signatures"] as JsonObject)[HS2]);
    assert.equal((await memberOn(0, inner, users[1]!))?.eventId, onHs2!.eventId);
  });

  describe("inviting a user of a server that is not Zion (old.invite.test)", () => {
    const inviteOf = (roomId: RoomId, user: string) => call(0)("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: `@${user}:${OLD}` }, tokens[0]);
    const untouched = async (roomId: RoomId, user: string, extremities: readonly EventId[]) => {
      assert.equal(await memberOn(0, roomId, `@${user}:${OLD}` as UserId), null, "no invite in the room");
      assert.deepEqual(await storage(0).rooms.getForwardExtremities(roomId), extremities, "no event written");
    };

    it("a room version 1 room: the server without v2 invites is asked again with v1 (invite_room_state under unsigned, whole PDUs), and the invite is stored with its signature", async () => {
      const roomId = await createRoom({ preset: "private_chat", room_version: "1", name: "vintage" });
      const r = await inviteOf(roomId, "oldtimer");
      assert.equal(r.status, 200, r.body);
      const stored = await memberOn(0, roomId, `@oldtimer:${OLD}` as UserId);
      assert.ok((stored!.raw["signatures"] as JsonObject)[OLD], "stored with OLD's signature");
      const sent = seenV1.at(-1)!;
      assert.equal(sent["event_id"], stored!.eventId);
      const state = (sent["unsigned"] as JsonObject)["invite_room_state"] as JsonObject[];
      const create = state.find((e) => e["type"] === "m.room.create");
      assert.ok(create?.["signatures"] && create["event_id"], "the create event is sent whole");
      assert.deepEqual(state.find((e) => e["type"] === "m.room.name")?.["content"], { name: "vintage" });
    });

    it("a room version 10 room with that server: 400 M_UNSUPPORTED_ROOM_VERSION (v1 cannot carry it), nothing written", async () => {
      const roomId = await createRoom({ preset: "private_chat", room_version: "10" });
      const before = await storage(0).rooms.getForwardExtremities(roomId);
      expectMatrixError(await inviteOf(roomId, "oldtimer"), 400, "M_UNSUPPORTED_ROOM_VERSION");
      await untouched(roomId, "oldtimer", before);
    });

    it("a refusal (403 M_FORBIDDEN) is the client's answer, nothing written", async () => {
      const roomId = await createRoom({ preset: "private_chat" });
      const before = await storage(0).rooms.getForwardExtremities(roomId);
      const e = expectMatrixError(await inviteOf(roomId, "refuser"), 403, "M_FORBIDDEN");
      assert.match(String(e["error"]), /no invites, thank you/);
      await untouched(roomId, "refuser", before);
    });

    it("an answer without the invitee server's signature: 502 M_UNKNOWN, nothing written", async () => {
      const roomId = await createRoom({ preset: "private_chat" });
      const before = await storage(0).rooms.getForwardExtremities(roomId);
      expectMatrixError(await inviteOf(roomId, "unsigned"), 502, "M_UNKNOWN");
      await untouched(roomId, "unsigned", before);
    });
  });

  describe("hs2 refuses bad invites with the right errcode and writes nothing", () => {
    const signedInvite = (over: Record<string, unknown>, key = hs[0]!.signingKey) => {
      const rules = roomVersion("10");
      const raw = hashAndSignEvent({
        room_id: `!bad:${HS1}`, type: "m.room.member", state_key: users[1]!, sender: users[0]!, content: { membership: "invite" },
        prev_events: [], auth_events: [], depth: 3, origin_server_ts: Date.now(), ...over,
      } as JsonObject, rules, { serverName: HS1, key });
      return { raw, eventId: parsePdu(raw, rules).eventId };
    };
    const put = async (eventId: EventId, body: JsonObject, roomId = `!bad:${HS1}`): Promise<FederationError> => {
      try {
        await fed1.client.request({ destination: HS2, method: "PUT", path: `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(eventId)}`, body });
      } catch (e) {
        if (e instanceof FederationError) return e;
        throw e;
      }
      return assert.fail("the invite was accepted");
    };
    const nothingWritten = async (eventId: EventId) => {
      assert.equal((await storage(1).events.haveEvents([eventId])).size, 0, "the event is not stored");
      assert.equal(await storage(1).rooms.getMembership(`!bad:${HS1}` as RoomId, users[1]!), null);
    };

    /** Puts an invite made of `over` and asserts hs2's refusal and that nothing of it was stored. */
    const refused = async (over: Record<string, unknown>, status: number, errcode: string, opts: { roomVersion?: string; key?: ReturnType<typeof newSigningKey> } = {}) => {
      const { raw, eventId } = signedInvite(over, opts.key);
      const e = await put(eventId, { room_version: opts.roomVersion ?? "10", event: raw, invite_room_state: [] });
      assert.equal(e.status, status, e.message);
      assert.equal(e.errcode, errcode, e.message);
      await nothingWritten(eventId);
      return e;
    };

    it("an invite of a user of another server: 400 M_INVALID_PARAM", async () => {
      await refused({ state_key: `@carol:${HS1}` }, 400, "M_INVALID_PARAM");
    });

    it("an invite of a user hs2 does not have: 404 M_NOT_FOUND", async () => {
      await refused({ state_key: `@nobody:${HS2}` }, 404, "M_NOT_FOUND");
    });

    it("a room version hs2 does not know: 400 M_INCOMPATIBLE_ROOM_VERSION naming the version", async () => {
      const e = await refused({}, 400, "M_INCOMPATIBLE_ROOM_VERSION", { roomVersion: "99" });
      assert.match(e.message, /99/);
    });

    it("an invite into a room an admin of hs2 blocked: 403 M_FORBIDDEN", async () => {
      await storage(1).admin.blockRoom(`!bad:${HS1}` as RoomId, null, Date.now());
      try {
        const e = await refused({}, 403, "M_FORBIDDEN");
        assert.match(e.message, /blocked/);
      } finally {
        await storage(1).admin.unblockRoom(`!bad:${HS1}` as RoomId);
      }
    });

    it("an event not signed by the sending server's key: 403 M_FORBIDDEN", async () => {
      await refused({}, 403, "M_FORBIDDEN", { key: newSigningKey() });
    });

    it("a sender of another server than the one asking: 403 M_FORBIDDEN", async () => {
      await refused({ sender: `@mallory:${HS2}` }, 403, "M_FORBIDDEN");
    });

    it("a path naming another event, a non-invite, and a malformed invite_room_state: 400 with the field named", async () => {
      const { raw, eventId } = signedInvite({});
      const other = await put("$other" as EventId, { room_version: "10", event: raw });
      assert.equal(other.errcode, "M_INVALID_PARAM");
      const join = signedInvite({ content: { membership: "join" } });
      assert.equal((await put(join.eventId, { room_version: "10", event: join.raw })).errcode, "M_BAD_JSON");
      const state = await put(eventId, { room_version: "10", event: raw, invite_room_state: { not: "a list" } });
      assert.equal(state.status, 400);
      assert.equal(state.errcode, "M_BAD_JSON");
      assert.match(state.message, /invite_room_state/);
      await nothingWritten(eventId);
    });
  });

  it("a user of hs2 deactivating their account leaves hs1's room they joined (the leave reaches hs1 over federation) and rejects hs1's pending invite through make_leave / send_leave", async () => {
    const reg = await call(1)("POST", "/_matrix/client/v3/register", { username: "dora", password: "pw-123456", auth: { type: "m.login.dummy" } });
    assert.equal(reg.status, 200, reg.body);
    const dora = reg.json()["user_id"] as UserId;
    const doraToken = String(reg.json()["access_token"]);
    const joinedRoom = await createRoom({ preset: "private_chat", invite: [dora] });
    const invitedRoom = await createRoom({ preset: "private_chat", invite: [dora] });
    const j = await call(1)("POST", `/_matrix/client/v3/join/${enc(joinedRoom)}`, {}, doraToken);
    assert.equal(j.status, 200, j.body);
    assert.equal((await memberOn(0, joinedRoom, dora))?.content["membership"], "join");
    assert.equal((await memberOn(0, invitedRoom, dora))?.content["membership"], "invite");
    const first = await call(1)("POST", "/_matrix/client/v3/account/deactivate", {}, doraToken);
    assert.equal(first.status, 401, first.body);
    const auth = { type: "m.login.password", user: "dora", password: "pw-123456", session: first.json()["session"] };
    const ok = await call(1)("POST", "/_matrix/client/v3/account/deactivate", { auth }, doraToken);
    assert.equal(ok.status, 200, ok.body);
    // The invite of a room hs2 does not hold: rejected through hs1 before the answer.
    const rejected = await memberOn(0, invitedRoom, dora);
    assert.equal(rejected?.content["membership"], "leave");
    assert.equal(rejected?.content["reason"], "account deactivated");
    assert.equal(rejected?.sender, dora);
    // The joined room: hs2 made the leave and its sender delivers it to hs1.
    await waitFor("dora's leave on hs1", async () => (await memberOn(0, joinedRoom, dora))?.content["membership"] === "leave");
    const leave = (await memberOn(0, joinedRoom, dora))!;
    assert.equal(leave.content["reason"], "account deactivated");
    assert.ok((leave.raw["signatures"] as JsonObject)[HS2], "signed by hs2, which made it");
    assert.equal((await storage(1).users.getUser(dora))?.deactivated, true);
  });

  it("bob rejects while hs1 is down (rooms of versions 10 and 1): hs2 makes each leave itself (after the invite, signed by hs2), and the invites leave bob's /sync", async () => {
    const rooms = [await createRoom({ preset: "private_chat", name: "short lived" }), await createRoom({ preset: "private_chat", room_version: "1" })];
    for (const roomId of rooms) assert.equal((await invite(roomId)).status, 200);
    const before = await sync();
    for (const roomId of rooms) assert.ok(inviteState(before, roomId));
    await hs[0]!.stop();
    for (const roomId of rooms) {
      const l = await call(1)("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {}, tokens[1]);
      assert.equal(l.status, 200, l.body);
      const record = await storage(1).rooms.getMembership(roomId, users[1]!);
      assert.equal(record?.membership, "leave");
      const leave = (await storage(1).events.getPdus([record!.eventId])).get(record!.eventId)!;
      const inviteId = leave.prevEvents[0]!;
      const inv = (await storage(1).events.getPdus([inviteId])).get(inviteId);
      assert.equal(inv?.content["membership"], "invite", "the leave follows the invite");
      assert.equal(leave.depth, inv!.depth + 1);
      assert.deepEqual(leave.authEvents, [...inv!.authEvents, inviteId]);
      assert.ok((leave.raw["signatures"] as JsonObject)[HS2]);
    }
    const after = await sync(before.next_batch);
    for (const roomId of rooms) {
      assert.equal(after.rooms["invite"]?.[roomId], undefined);
      assert.ok(after.rooms["leave"]?.[roomId], JSON.stringify(after.rooms));
      assert.equal(inviteState(await sync(), roomId), null, "an initial sync no longer lists the invite");
    }
  });
});
