/**
 * Rooms between Zion and the pinned Synapse (issue 15), over real TLS with certificates from the test CA, both named by
 * IP literal on 127.0.26.x; one Synapse and one Zion shared by every scenario of this file. Each scenario runs in
 * both directions: a room hosted by Zion that a Synapse user joins, and one hosted by Synapse that a Zion user joins.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as pathJoin } from "node:path";
import type { TestServer } from "../harness/server.js";
import { pinnedSynapseVersion, type SynapseHandle } from "../harness/synapse.js";
import { startSynapseAndZion } from "../harness/synapse-and-zion.js";
import {
  createRoom, enc, join, joinedMembers, ok, seeBodies, seeEvent, seeMembers, seeMembership, seeState, sendText, setState,
  eventually, stateContent, synapseSide, zionSide, type Body, type Side, type SideUser,
} from "./room-sides.js";

const SYNAPSE_HOST = "127.0.26.20";
const ZION_HOST = "127.0.26.21";

describe("rooms between Zion and Synapse", { timeout: 900_000 }, () => {
  let dir: string;
  let synapse: SynapseHandle | undefined;
  let zionServer: TestServer | undefined;
  let zion: Side;
  let syn: Side;
  let alice: SideUser; // on Zion
  let bob: SideUser; // on Synapse

  before(async () => {
    dir = mkdtempSync(pathJoin(tmpdir(), "zion-rooms-synapse-"));
    let zionName: string;
    ({ synapse, zion: zionServer, zionName } = await startSynapseAndZion({ dir, synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.26.0/24" }));
    console.log(`# Synapse ${synapse.version} (pinned ${pinnedSynapseVersion()}) as ${synapse.serverName}; Zion as ${zionName}`);
    zion = zionSide(() => zionServer!, zionName);
    syn = synapseSide(synapse);
    [alice, bob] = await Promise.all([zion.register("alice"), syn.register("bob")]);
  });

  after(async () => {
    await Promise.all([synapse?.stop(), zionServer?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs against the pinned Synapse version", () => {
    assert.equal(synapse!.version.split(" ")[0], pinnedSynapseVersion());
  });

  /**
   * One direction of scenario 1: `host` creates a room with an alias, the other side's user joins by that alias;
   * messages go both ways and arrive in order on both sides; name, topic and power levels change on the host and
   * show on the joiner; the host raises the joiner to 100 and the joiner then changes the topic, which the host accepts.
   */
  async function aliasJoinScenario(host: Side, owner: SideUser, guest: Side, visitor: SideUser, localpart: string): Promise<void> {
    const roomId = await createRoom(host, owner, { room_alias_name: localpart, name: `${localpart} v0` });
    const alias = `#${localpart}:${host.serverName}`;
    assert.equal(await join(guest, visitor, alias), roomId, "the alias resolved over federation to the room");
    await seeMembers(host, owner, roomId, [owner.userId, visitor.userId]);
    await seeMembers(guest, visitor, roomId, [owner.userId, visitor.userId]);

    const fromHost = [`${host.label}-1`, `${host.label}-2`, `${host.label}-3`];
    for (const b of fromHost) await sendText(host, owner, roomId, b);
    await seeBodies(guest, visitor, roomId, fromHost);
    const fromGuest = [`${guest.label}-1`, `${guest.label}-2`, `${guest.label}-3`];
    for (const b of fromGuest) await sendText(guest, visitor, roomId, b);
    await seeBodies(host, owner, roomId, [...fromHost, ...fromGuest]);
    await seeBodies(guest, visitor, roomId, [...fromHost, ...fromGuest]);

    await setState(host, owner, roomId, "m.room.name", { name: `${localpart} renamed by ${host.label}` });
    await setState(host, owner, roomId, "m.room.topic", { topic: `topic by ${host.label}` });
    await seeState(guest, visitor, roomId, "m.room.name", (c) => c["name"] === `${localpart} renamed by ${host.label}`);
    await seeState(guest, visitor, roomId, "m.room.topic", (c) => c["topic"] === `topic by ${host.label}`);

    // The guest may not set the topic yet (public_chat: state_default 50, the guest at 0): its own server refuses.
    const early = await guest.call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.topic/`, visitor.token, { topic: "too early" });
    assert.equal(early.status, 403, `${guest.label} let a level-0 user set the topic: ${early.text}`);

    const pl = await ok(host, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, owner.token);
    const users = { ...(pl["users"] as Body), [visitor.userId]: 100 };
    await setState(host, owner, roomId, "m.room.power_levels", { ...pl, users });
    await seeState(guest, visitor, roomId, "m.room.power_levels", (c) => (c["users"] as Body)[visitor.userId] === 100);

    await setState(guest, visitor, roomId, "m.room.topic", { topic: `topic by ${guest.label}` });
    await setState(guest, visitor, roomId, "m.room.name", { name: `${localpart} renamed by ${guest.label}` });
    await seeState(host, owner, roomId, "m.room.topic", (c) => c["topic"] === `topic by ${guest.label}`);
    await seeState(host, owner, roomId, "m.room.name", (c) => c["name"] === `${localpart} renamed by ${guest.label}`);
    // And a power-level change from the guest's side: it lowers the state default to 40.
    const pl2 = await ok(guest, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, visitor.token);
    await setState(guest, visitor, roomId, "m.room.power_levels", { ...pl2, state_default: 40 });
    await seeState(host, owner, roomId, "m.room.power_levels", (c) => c["state_default"] === 40);
  }

  it("a Synapse user joins a Zion room by alias: messages both ways in order, name, topic and power levels both ways", async () => {
    await aliasJoinScenario(zion, alice, syn, bob, "zion-hosted");
  });

  it("a Zion user joins a Synapse room by alias: messages both ways in order, name, topic and power levels both ways", async () => {
    await aliasJoinScenario(syn, bob, zion, alice, "synapse-hosted");
  });

  /** The join-and-message scenario in one room version, the room created on `host`. */
  async function joinAndMessage(host: Side, owner: SideUser, guest: Side, visitor: SideUser, version: string): Promise<void> {
    const roomId = await createRoom(host, owner, { room_version: version });
    const create = await ok(host, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.create/`, owner.token);
    assert.equal(create["room_version"], version);
    await join(guest, visitor, roomId, [host.serverName]);
    await seeMembership(host, owner, roomId, visitor.userId, "join");
    const a = await sendText(host, owner, roomId, `v${version} from ${host.label}`);
    await seeEvent(guest, visitor, roomId, a);
    const b = await sendText(guest, visitor, roomId, `v${version} from ${guest.label}`);
    await seeEvent(host, owner, roomId, b);
    await seeBodies(host, owner, roomId, [`v${version} from ${host.label}`, `v${version} from ${guest.label}`]);
    await seeBodies(guest, visitor, roomId, [`v${version} from ${host.label}`, `v${version} from ${guest.label}`]);
  }

  for (const version of ["1", "6", "10", "11", "12"]) {
    it(`room version ${version}: a room created on Zion, joined from Synapse, messages both ways`, async () => {
      await joinAndMessage(zion, alice, syn, bob, version);
    });
    it(`room version ${version}: a room created on Synapse, joined from Zion, messages both ways`, async () => {
      await joinAndMessage(syn, bob, zion, alice, version);
    });
  }
  /** Scenario 4 in one direction: the guest leaves and re-joins, is kicked and re-joins, then is banned and refused. */
  async function leaveKickBan(host: Side, owner: SideUser, guest: Side, visitor: SideUser): Promise<void> {
    const roomId = await createRoom(host, owner, {});
    await join(guest, visitor, roomId, [host.serverName]);
    await seeMembership(host, owner, roomId, visitor.userId, "join");
    await ok(guest, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, visitor.token, {});
    await seeMembership(host, owner, roomId, visitor.userId, "leave");
    await join(guest, visitor, roomId, [host.serverName]);
    await seeMembership(host, owner, roomId, visitor.userId, "join");
    await seeMembers(guest, visitor, roomId, [owner.userId, visitor.userId]);

    await ok(host, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, owner.token, { user_id: visitor.userId, reason: "kick test" });
    await eventually(`the kick at ${guest.label}`, async () => {
      const r = await guest.call("GET", "/_matrix/client/v3/joined_rooms", visitor.token);
      return r.status === 200 && !(r.json["joined_rooms"] as string[]).includes(roomId) ? true : undefined;
    });
    await join(guest, visitor, roomId, [host.serverName]);
    await seeMembership(host, owner, roomId, visitor.userId, "join");

    await ok(host, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, owner.token, { user_id: visitor.userId, reason: "ban test" });
    await eventually(`the ban at ${guest.label}`, async () => {
      const r = await guest.call("GET", "/_matrix/client/v3/joined_rooms", visitor.token);
      return r.status === 200 && !(r.json["joined_rooms"] as string[]).includes(roomId) ? true : undefined;
    });
    const refused = await guest.call("POST", `/_matrix/client/v3/join/${enc(roomId)}?server_name=${enc(host.serverName)}`, visitor.token, {});
    assert.equal(refused.status, 403, `${guest.label} joined a room it is banned from: ${refused.text}`);
    assert.equal((await stateContent(host, owner, roomId, "m.room.member", visitor.userId))?.["membership"], "ban");
    assert.deepEqual(await joinedMembers(host, owner, roomId), [owner.userId]);
  }

  it("leave and re-join, kick and ban: a Synapse user in a Zion room", async () => {
    await leaveKickBan(zion, alice, syn, bob);
  });

  it("leave and re-join, kick and ban: a Zion user in a Synapse room", async () => {
    await leaveKickBan(syn, bob, zion, alice);
  });

  it("Synapse joins a Zion room with omit_members=true and sees every member", async () => {
    const roomId = await createRoom(zion, alice, {});
    const others = await Promise.all(["carol", "dave", "erin"].map((u) => zion.register(u)));
    for (const u of others) await join(zion, u, roomId);
    await join(syn, bob, roomId, [zion.serverName]);
    const want = [alice.userId, bob.userId, ...others.map((u) => u.userId)];
    await seeMembers(syn, bob, roomId, want);
    await seeMembers(zion, alice, roomId, want);
    const sendJoins = synapse!.log().split("\n").filter((l) => l.includes(`/send_join/${enc(roomId).replace("!", "%21")}`) && l.includes("Completed request: 200"));
    assert.ok(sendJoins.some((l) => l.includes("omit_members=true")), `Synapse's send_join did not ask omit_members=true:\n${sendJoins.join("\n")}`);
  });
});
