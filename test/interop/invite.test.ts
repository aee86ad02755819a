/**
 * Invites between Zion and a real Synapse, both ways (issue 14, membership over federation):
 * - Synapse -> Zion: a Synapse user invites a Zion user; Synapse sends PUT /v2/invite (invite_room_state as whole
 *   PDUs, MSC4311), Zion checks and countersigns it, Synapse accepts Zion's signature; the invite is in the Zion
 *   user's /sync with Synapse's stripped state, and /join accepts it through Synapse (make_join / send_join).
 *   Another invite is rejected with /leave, through Synapse's make_leave / send_leave.
 * - Zion -> Synapse: a Zion user invites a Synapse user; Zion verifies Synapse's countersignature and persists the
 *   invite; the Synapse user sees it and rejects it, which reaches Zion's room through make_leave / send_leave.
 *
 * Cast (127.0.22.0/24, this work's block): S 127.0.22.240 (Synapse), Z 127.0.22.241 (Zion), IP-literal names.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RoomId, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { clientCaller } from "../harness/http-get.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { pinnedSynapseVersion, startSynapse, type SynapseHandle } from "../harness/synapse.js";
import { startZionPeer, type ZionPeer } from "./zion-peer.js";

const generous = { per_second: 1000, burst_count: 1000 };

describe("invites between Zion and Synapse", { timeout: 300_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let s: SynapseHandle | undefined;
  let z: ZionPeer | undefined;
  let alice: { userId: string; accessToken: string };
  let bob: { userId: UserId; token: string };
  const zc = () => clientCaller(() => z!.server.clientUrl);
  const enc = encodeURIComponent;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zion-interop-invite-"));
    ca = await createTestCa(join(dir, "ca"));
    const leaf = await ca.issue({ ip: ["127.0.22.240"], name: "s" });
    s = await startSynapse({ dir: join(dir, "s"), bindHost: "127.0.22.240", caCertPath: ca.caCertPath, certPath: leaf.chainPath, keyPath: leaf.keyPath });
    console.log(`# Synapse ${s.version} (pinned ${pinnedSynapseVersion()}) as ${s.serverName}`);
    z = await startZionPeer({
      ca, host: "127.0.22.241",
      config: {
        enable_registration: true, enable_registration_without_verification: true,
        rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous }, rc_invites: { per_room: generous, per_user: generous, per_issuer: generous },
      },
    });
    alice = await s.registerUser({ username: "alice" });
    const r = await zc()("POST", "/_matrix/client/v3/register", { username: "bob", password: "pw-123456", auth: { type: "m.login.dummy" } });
    assert.equal(r.status, 200, r.body);
    bob = { userId: r.json()["user_id"] as UserId, token: r.json()["access_token"] as string };
  });

  after(async () => {
    await s?.stop();
    await z?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const synapse = (method: string, path: string, body?: unknown) => s!.client(method, path, { token: alice.accessToken, ...(body !== undefined ? { body } : {}) });
  const eventually = async <T>(what: string, f: () => Promise<T | undefined>): Promise<T> => {
    for (let i = 0; i < 150; i++) {
      const v = await f();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 200));
    }
    return assert.fail(`timed out waiting for ${what}\n${s!.logTail(30)}`);
  };
  const zionMember = async (roomId: RoomId, user: string) => {
    const storage = z!.server.homeserver!.storage;
    const id = await storage.rooms.getCurrentStateEventId(roomId, "m.room.member", user);
    return id ? (await storage.events.getPdus([id])).get(id) : undefined;
  };

  it("Synapse -> Zion: Synapse's invite is countersigned by Zion, listed in bob's /sync with Synapse's stripped state, and bob joins through Synapse", async () => {
    const created = await synapse("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat", name: "from synapse" });
    assert.equal(created.status, 200, created.text);
    const roomId = (created.json as { room_id: RoomId }).room_id;
    const inv = await synapse("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
    assert.equal(inv.status, 200, `${inv.text}\n${s!.logTail(30)}`);
    const sync = await zc()("GET", "/_matrix/client/v3/sync?timeout=0", undefined, bob.token);
    assert.equal(sync.status, 200, sync.body);
    const state = ((sync.json()["rooms"] as JsonObject)["invite"] as Record<string, { invite_state: { events: JsonObject[] } }>)[roomId]?.invite_state.events;
    assert.ok(state, sync.body);
    assert.deepEqual(state.find((e) => e["type"] === "m.room.name")?.["content"], { name: "from synapse" });
    assert.ok(state.some((e) => e["type"] === "m.room.create"));
    assert.equal((state.find((e) => e["type"] === "m.room.member" && e["state_key"] === bob.userId)?.["content"] as JsonObject)["membership"], "invite");
    const j = await zc()("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, bob.token);
    assert.equal(j.status, 200, `${j.body}\n${s!.logTail(30)}`);
    const members = await eventually("bob joined on Synapse", async () => {
      const r = await synapse("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`);
      const joined = Object.keys(((r.json ?? {}) as { joined?: object }).joined ?? {});
      return joined.includes(bob.userId) ? joined : undefined;
    });
    assert.deepEqual(members.sort(), [alice.userId, bob.userId].sort());
  });

  it("Synapse -> Zion, rejected: bob's /leave goes through Synapse's make_leave / send_leave, and Synapse shows bob's leave", async () => {
    const created = await synapse("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat" });
    const roomId = (created.json as { room_id: RoomId }).room_id;
    assert.equal((await synapse("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: bob.userId })).status, 200);
    const l = await zc()("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {}, bob.token);
    assert.equal(l.status, 200, l.body);
    const stored = await z!.server.homeserver!.storage.rooms.getMembership(roomId, bob.userId);
    assert.equal(stored?.membership, "leave");
    // Only a send_leave that reached Synapse puts the leave in its room (a leave made on Zion stays there).
    const onSynapse = await eventually("bob's leave on Synapse", async () => {
      const r = await synapse("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}?format=event`);
      const ev = r.json as { event_id?: string; content?: { membership?: string } } | undefined;
      return ev?.content?.membership === "leave" ? ev : undefined;
    });
    assert.equal(onSynapse.event_id, stored!.eventId, "Synapse holds the very leave Zion stored");
  });

  it("Zion -> Synapse: Zion stores the invite with Synapse's signature, alice sees it, and her rejection reaches Zion's room", async () => {
    const created = await zc()("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat", name: "from zion" }, bob.token);
    assert.equal(created.status, 200, created.body);
    const roomId = created.json()["room_id"] as RoomId;
    const inv = await zc()("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: alice.userId }, bob.token);
    assert.equal(inv.status, 200, `${inv.body}\n${s!.logTail(30)}`);
    const stored = await zionMember(roomId, alice.userId);
    assert.equal(stored?.content["membership"], "invite");
    assert.ok((stored!.raw["signatures"] as JsonObject)[s!.serverName], "Synapse's signature is on Zion's copy");
    await eventually("the invite in alice's sync", async () => {
      const r = await synapse("GET", "/_matrix/client/v3/sync?timeout=0");
      const invites = (((r.json ?? {}) as { rooms?: { invite?: Record<string, { invite_state: { events: JsonObject[] } }> } }).rooms?.invite ?? {});
      const events = invites[roomId]?.invite_state.events;
      return events?.some((e) => e["type"] === "m.room.name" && (e["content"] as JsonObject)["name"] === "from zion") ? true : undefined;
    });
    const l = await synapse("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {});
    assert.equal(l.status, 200, `${l.text}\n${s!.logTail(30)}`);
    await eventually("alice's leave in Zion's room", async () => ((await zionMember(roomId, alice.userId))?.content["membership"] === "leave" ? true : undefined));
  });
});
