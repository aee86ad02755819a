/**
 * Joining a remote room through the client API, between three in-process Zions over real HTTPS (test CA,
 * IP-literal server names on 127.0.0.1, each server fetching the others' keys from their listeners):
 * hs1 holds the rooms (federation_domain_whitelist: hs1, hs2, denied.test), hs2's user joins by id and by alias, hs3's
 * user is refused. hs3's federation port is a counting TCP relay in front of its listener, so the test sees every
 * connection anyone opens to hs3. "denied.test" is a test double (a FederationClient signing as denied.test, whose
 * key hs1 holds in its key cache because denied.test has no address) that a room's m.room.server_acl denies.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import { createFederation, type FederationServices } from "../../src/app/federation.js";
import type { Clock } from "../../src/core/clock.js";
import { publicKeyBase64, signingKeyFromSeed } from "../../src/core/crypto/index.js";
import { hashAndSignEvent, parsePdu } from "../../src/core/events/index.js";
import type { EventId, KeyId, RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { FederationError, type FederationClient } from "../../src/federation/transport/client.js";
import { ipLiteralFederationClient, testHttpsClient } from "../harness/federation-client.js";
import { clientCaller, expectMatrixError } from "../harness/http-get.js";
import { freePort } from "../harness/ports.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { createTestCa } from "../harness/test-ca.js";

const clock: Clock = { now: () => Date.now(), sleep: async (ms) => new Promise((r) => setTimeout(r, ms)) };
const cheap = scryptHasher({ ln: 10 });
const generous = { per_second: 1000, burst_count: 1000 };

describe("joining a remote room from the client API (three Zions, real HTTPS)", { timeout: 120_000 }, () => {
  let dir: string;
  const hs: TestServer[] = [];
  const names: ServerName[] = [];
  const tokens: string[] = [];
  const users: string[] = [];
  let relay: Server;
  let relayConnections = 0;
  let fed2: FederationServices;
  let roomId: RoomId;
  let aliasRoomId: RoomId;
  const deniedKey = signingKeyFromSeed("d1", randomBytes(32));
  let https: HttpsClient;
  let denied: FederationClient;
  const call = (i: number) => clientCaller(() => hs[i]!.clientUrl);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-fedjoin-"));
    const ca = await createTestCa(dir);
    const leaf = await ca.issue({ ip: ["127.0.0.1"] });
    const tls = { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath };
    const fedPorts = [await freePort("127.0.0.1"), await freePort("127.0.0.1"), await freePort("127.0.0.1")];
    const relayPort = await freePort("127.0.0.1");
    names.push(`127.0.0.1:${fedPorts[0]}` as ServerName, `127.0.0.1:${fedPorts[1]}` as ServerName, `127.0.0.1:${relayPort}` as ServerName);
    relay = createServer((sock) => {
      relayConnections++;
      const up = createConnection({ host: "127.0.0.1", port: fedPorts[2]! });
      sock.pipe(up).pipe(sock);
      sock.on("error", () => up.destroy());
      up.on("error", () => sock.destroy());
    });
    await new Promise<void>((r) => relay.listen(relayPort, "127.0.0.1", r));
    for (let i = 0; i < 3; i++) {
      const cport = await freePort("127.0.0.1");
      hs.push(await startTestServer({
        serverName: names[i]!, tls,
        config: {
          listeners: [
            { port: fedPorts[i], bind_addresses: ["127.0.0.1"], type: "http", tls: true, resources: [{ names: ["federation", "keys"] }] },
            { port: cport, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] },
          ],
          ip_range_whitelist: ["127.0.0.1/32"], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [],
          enable_registration: true, enable_registration_without_verification: true,
          rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous },
          ...(i === 0 ? { federation_domain_whitelist: [names[0], names[1], "denied.test"] } : {}),
        },
        startOptions: { clock, passwordHasher: cheap },
      }));
      const r = await call(i)("POST", "/_matrix/client/v3/register", { username: ["alice", "bob", "carol"][i], password: "pw-123456", auth: { type: "m.login.dummy" } });
      assert.equal(r.status, 200, r.body);
      tokens.push(r.json()["access_token"] as string);
      users.push(r.json()["user_id"] as string);
    }
    fed2 = createFederation(hs[1]!.config, { keys: hs[1]!.homeserver!.storage.keys, signingKeys: hs[1]!.homeserver!.signingKeys, clock });
    // denied.test has no address: hs1 knows its key already (as if fetched through a notary).
    await hs[0]!.homeserver!.storage.keys.upsertServerKeys([{
      serverName: "denied.test" as ServerName, keyId: deniedKey.keyId as KeyId, publicKey: publicKeyBase64(deniedKey),
      validUntilTs: Date.now() + 86_400_000, expiredTs: null, fetchedTs: Date.now(), fetchedFrom: "denied.test" as ServerName, keyJson: {},
    }]);
    https = testHttpsClient(ca.caCertPem, { requestTimeoutMs: 10_000 });
    denied = ipLiteralFederationClient(https, "denied.test", deniedKey, ["127.0.0.1/32"]);
    const created = await call(0)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "lobby" }, tokens[0]);
    assert.equal(created.status, 200, created.body);
    roomId = created.json()["room_id"] as RoomId;
    const aliased = await call(0)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", room_alias_name: "hall" }, tokens[0]);
    assert.equal(aliased.status, 200, aliased.body);
    aliasRoomId = aliased.json()["room_id"] as RoomId;
  });
  after(async () => {
    await https?.close();
    await fed2?.close();
    await Promise.all(hs.map((s) => s.stop()));
    await new Promise<void>((r) => (relay ? relay.close(() => r()) : r()));
    await rm(dir, { recursive: true, force: true });
  });

  const joinedMembers = async (i: number, room: RoomId) => {
    const r = await call(i)("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/joined_members`, undefined, tokens[i]);
    assert.equal(r.status, 200, r.body);
    return Object.keys(r.json()["joined"] as object).sort();
  };

  it("hs2's user joins hs1's room by id with server_name: both servers list both members, and hs2 holds the room's state", async () => {
    const r = await call(1)("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(names[0]!)}`, {}, tokens[1]);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json()["room_id"], roomId);
    assert.deepEqual(await joinedMembers(0, roomId), [users[0], users[1]].sort());
    assert.deepEqual(await joinedMembers(1, roomId), [users[0], users[1]].sort());
    const name = await call(1)("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.name`, undefined, tokens[1]);
    assert.equal(name.status, 200, name.body);
    assert.equal(name.json()["name"], "lobby");
  });

  it("a message sent on hs2 and delivered with a signed PUT /send is in hs1's /messages", async () => {
    const sent = await call(1)("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`, { msgtype: "m.text", body: "hello from hs2" }, tokens[1]);
    assert.equal(sent.status, 200, sent.body);
    const eventId = sent.json()["event_id"] as EventId;
    const pdu = (await hs[1]!.homeserver!.storage.events.getPdus([eventId])).get(eventId)!;
    const res = await fed2.client.request({ destination: names[0]!, method: "PUT", path: "/_matrix/federation/v1/send/join-test-1", body: { origin: names[1]!, origin_server_ts: Date.now(), pdus: [pdu.raw] } });
    assert.deepEqual(res.body, { pdus: { [eventId]: {} } });
    const msgs = await call(0)("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=5`, undefined, tokens[0]);
    assert.equal(msgs.status, 200, msgs.body);
    const bodies = (msgs.json()["chunk"] as { content: { body?: string } }[]).map((e) => e.content.body);
    assert.ok(bodies.includes("hello from hs2"), JSON.stringify(bodies));
  });

  it("hs2's user joins by alias: hs2 asks hs1's /query/directory and joins the room it names", async () => {
    const alias = `#hall:${names[0]}`;
    const r = await call(1)("POST", `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, {}, tokens[1]);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json()["room_id"], aliasRoomId);
    assert.deepEqual(await joinedMembers(0, aliasRoomId), [users[0], users[1]].sort());
  });

  it("make_leave / v2 send_leave from hs2 (signed by hs2) take hs2's user out of hs1's room", async () => {
    const tpl = await fed2.client.makeLeave(names[0]!, aliasRoomId, users[1] as UserId);
    const rules = roomVersion(tpl.roomVersion!);
    const signed = hashAndSignEvent({ ...tpl.event, origin_server_ts: Date.now() }, rules, { serverName: names[1]!, key: hs[1]!.signingKey });
    const leave = parsePdu(signed, rules);
    await fed2.client.sendLeave(names[0]!, aliasRoomId, leave.eventId, signed);
    assert.deepEqual(await joinedMembers(0, aliasRoomId), [users[0]]);
  });

  /** make_join / v2 send_join for `localpart` of hs2, signed by hs2; the answer's state and auth chain event ids. */
  async function sendJoinAs(localpart: string, omitMembers: boolean): Promise<{ state: Set<EventId>; chain: Set<EventId>; referenced: Set<EventId>; create: EventId }> {
    const userId = `@${localpart}:${names[1]}` as UserId;
    const tpl = await fed2.client.makeJoin(names[0]!, aliasRoomId, userId, ["10", "11", "12"]);
    const rules = roomVersion(tpl.roomVersion);
    const signed = hashAndSignEvent({ ...tpl.event, origin_server_ts: Date.now() }, rules, { serverName: names[1]!, key: hs[1]!.signingKey });
    const join = parsePdu(signed, rules);
    const answer = await fed2.client.sendJoin(names[0]!, aliasRoomId, join.eventId, signed, rules, { omitMembers });
    const byId = new Map([...answer.state, ...answer.authChain].map((p) => [p.eventId, p]));
    // Every event the state cites as an auth event, recursively: the auth chain the spec asks for.
    const referenced = new Set<EventId>();
    const walk = (ids: readonly EventId[]) => {
      for (const id of ids) {
        if (referenced.has(id)) continue;
        referenced.add(id);
        const p = byId.get(id);
        if (p) walk(p.authEvents);
      }
    };
    for (const p of answer.state) walk(p.authEvents);
    const create = answer.state.find((p) => p.type === "m.room.create")!;
    return { state: new Set(answer.state.map((p) => p.eventId)), chain: new Set(answer.authChain.map((p) => p.eventId)), referenced, create: create.eventId };
  }

  it("v2 send_join without omit_members answers the whole auth chain of the state, events also in `state` included (Dendrite needs the create event there)", async () => {
    const { chain, referenced, create } = await sendJoinAs("chain-full", false);
    assert.ok(chain.has(create), "the create event is in auth_chain");
    for (const id of referenced) assert.ok(chain.has(id), `${id}, in the state's auth chain, is missing from auth_chain`);
  });

  it("v2 send_join with omit_members=true leaves the events returned in `state` out of auth_chain, as the spec then allows", async () => {
    const { state, chain, referenced } = await sendJoinAs("chain-omit", true);
    for (const id of chain) assert.ok(!state.has(id), `${id} is in both state and auth_chain`);
    for (const id of referenced) assert.ok(chain.has(id) || state.has(id), `${id}, in the state's auth chain, is in neither`);
  });

  it("make_knock on a public room is 403 M_FORBIDDEN (the auth rules allow knocks only where the join rule does)", async () => {
    await assert.rejects(
      fed2.client.makeKnock(names[0]!, roomId, `@zed:${names[1]}` as UserId, ["10", "11", "12"]),
      (e: unknown) => (e as { status?: number }).status === 403 && (e as { errcode?: string }).errcode === "M_FORBIDDEN",
    );
  });

  it("make_join offers no room version the joining server lacks: 400 M_INCOMPATIBLE_ROOM_VERSION with room_version", async () => {
    await assert.rejects(
      fed2.client.request({ destination: names[0]!, method: "GET", path: `/_matrix/federation/v1/make_join/${encodeURIComponent(roomId)}/${encodeURIComponent(`@zed:${names[1]}`)}`, query: { ver: ["1", "2"] } }),
      (e: unknown) => (e as { status?: number; errcode?: string }).status === 400 && (e as { errcode?: string }).errcode === "M_INCOMPATIBLE_ROOM_VERSION",
    );
  });

  describe("a room whose m.room.server_acl denies denied.test", () => {
    let aclRoom: RoomId;
    const dan = "@dan:denied.test" as UserId;
    const aclDenied = async (p: Promise<unknown>) => {
      await assert.rejects(p, (e: unknown) => {
        assert.ok(e instanceof FederationError, String(e));
        assert.equal(e.status, 403, e.message);
        assert.equal(e.errcode, "M_FORBIDDEN", e.message);
        assert.match(e.message, /m\.room\.server_acl denies denied\.test/);
        return true;
      });
    };
    /** A member event of the room signed by denied.test (the ACL refuses it before anything looks further). */
    async function signedByDenied(sender: UserId, stateKey: string, membership: string): Promise<{ eventId: EventId; event: JsonObject; version: string }> {
      const storage = hs[0]!.homeserver!.storage;
      const version = (await storage.rooms.getRoom(aclRoom))!.roomVersion;
      const rules = roomVersion(version);
      const create = (await storage.rooms.getCurrentStateEventId(aclRoom, "m.room.create", ""))!;
      const prev = await storage.rooms.getForwardExtremities(aclRoom);
      const event = hashAndSignEvent({
        type: "m.room.member", room_id: aclRoom, sender, state_key: stateKey, content: { membership },
        prev_events: [...prev], auth_events: rules.auth.createEventIsRoomId ? [] : [create], depth: 100, origin_server_ts: Date.now(),
      }, rules, { serverName: "denied.test" as ServerName, key: deniedKey });
      return { eventId: parsePdu(event, rules).eventId, event, version };
    }
    const at = (path: string) => `${path}/${encodeURIComponent(aclRoom)}`;

    before(async () => {
      const created = await call(0)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "acl" }, tokens[0]);
      assert.equal(created.status, 200, created.body);
      aclRoom = created.json()["room_id"] as RoomId;
      const acl = await call(0)("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(aclRoom)}/state/m.room.server_acl/`, { allow: ["*"], deny: ["denied.test"] }, tokens[0]);
      assert.equal(acl.status, 200, acl.body);
    });

    it("make_join, make_leave and make_knock from denied.test are 403 M_FORBIDDEN naming the ACL", async () => {
      await aclDenied(denied.makeJoin(names[0]!, aclRoom, dan, ["10", "11", "12"]));
      await aclDenied(denied.makeLeave(names[0]!, aclRoom, dan));
      await aclDenied(denied.makeKnock(names[0]!, aclRoom, dan, ["10", "11", "12"]));
    });

    it("send_join, send_leave and send_knock of a signed event from denied.test are 403 M_FORBIDDEN naming the ACL; dan is not in the room", async () => {
      for (const [path, membership] of [["/_matrix/federation/v2/send_join", "join"], ["/_matrix/federation/v2/send_leave", "leave"], ["/_matrix/federation/v1/send_knock", "knock"]] as const) {
        const { eventId, event } = await signedByDenied(dan, dan, membership);
        await aclDenied(denied.request({ destination: names[0]!, method: "PUT", path: `${at(path)}/${encodeURIComponent(eventId)}`, body: event }));
      }
      assert.equal(await hs[0]!.homeserver!.storage.rooms.getMembership(aclRoom, dan), null);
    });

    it("an invite from denied.test into the room is 403 M_FORBIDDEN naming the ACL", async () => {
      const { eventId, event, version } = await signedByDenied(dan, users[0]!, "invite");
      await aclDenied(denied.request({ destination: names[0]!, method: "PUT", path: `${at("/_matrix/federation/v2/invite")}/${encodeURIComponent(eventId)}`, body: { room_version: version, event, invite_room_state: [] } }));
    });

    it("hs2, which the ACL allows, still joins the room through make_join and send_join", async () => {
      const r = await call(1)("POST", `/_matrix/client/v3/join/${encodeURIComponent(aclRoom)}?server_name=${encodeURIComponent(names[0]!)}`, {}, tokens[1]);
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(await joinedMembers(0, aclRoom), [users[0], users[1]].sort());
    });
  });

  it("hs3, not in hs1's federation_domain_whitelist, cannot join (M_FORBIDDEN), and hs1 never opens a connection to hs3", async () => {
    const r = await call(2)("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(names[0]!)}`, {}, tokens[2]);
    expectMatrixError(r, 403, "M_FORBIDDEN");
    assert.deepEqual(await joinedMembers(0, roomId), [users[0], users[1]].sort());
    assert.equal(relayConnections, 0, "nobody connected to hs3's federation port");
  });
});
