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
import { aliasJoinScenario, crowdedJoin, joinAndMessage, leaveKickBan, sdkChat } from "./room-scenarios.js";
import { enc, peerSide, zionSide, type Side, type SideUser } from "./room-sides.js";

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
    zion = zionSide(zionServer, zionName);
    syn = peerSide("synapse", synapse);
    [alice, bob] = await Promise.all([zion.register("alice"), syn.register("bob")]);
  });

  after(async () => {
    await Promise.all([synapse?.stop(), zionServer?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs against the pinned Synapse version", () => {
    assert.equal(synapse!.version.split(" ")[0], pinnedSynapseVersion());
  });

  it("a Synapse user joins a Zion room by alias: messages both ways in order, name, topic and power levels both ways", async () => {
    await aliasJoinScenario(zion, alice, syn, bob, "zion-hosted");
  });

  it("a Zion user joins a Synapse room by alias: messages both ways in order, name, topic and power levels both ways", async () => {
    await aliasJoinScenario(syn, bob, zion, alice, "synapse-hosted");
  });

  for (const version of ["1", "6", "10", "11", "12"]) {
    it(`room version ${version}: a room created on Zion, joined from Synapse, messages both ways`, async () => {
      await joinAndMessage(zion, alice, syn, bob, version);
    });
    it(`room version ${version}: a room created on Synapse, joined from Zion, messages both ways`, async () => {
      await joinAndMessage(syn, bob, zion, alice, version);
    });
  }
  it("matrix-js-sdk clients: a Synapse user joins a Zion room by alias and both chat through their SDK's /sync", async () => {
    await sdkChat(zion, alice, syn, bob, "sdk-zion");
  });

  it("matrix-js-sdk clients: a Zion user joins a Synapse room by alias and both chat through their SDK's /sync", async () => {
    await sdkChat(syn, bob, zion, alice, "sdk-synapse");
  });

  it("leave and re-join, kick and ban: a Synapse user in a Zion room", async () => {
    await leaveKickBan(zion, alice, syn, bob);
  });

  it("leave and re-join, kick and ban: a Zion user in a Synapse room", async () => {
    await leaveKickBan(syn, bob, zion, alice);
  });

  it("Synapse joins a Zion room with omit_members=true and sees every member", async () => {
    const roomId = await crowdedJoin(zion, alice, syn, bob, ["carol", "dave", "erin"]);
    const sendJoins = synapse!.log().split("\n").filter((l) => l.includes(`/send_join/${enc(roomId).replace("!", "%21")}`) && l.includes("Completed request: 200"));
    assert.ok(sendJoins.some((l) => l.includes("omit_members=true")), `Synapse's send_join did not ask omit_members=true:\n${sendJoins.join("\n")}`);
  });
});
