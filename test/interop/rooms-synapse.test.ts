/**
 * Rooms between Zion and the pinned Synapse (issue 15), over real TLS with certificates from the test CA, both named by
 * IP literal on 127.0.26.x; one Synapse and one Zion shared by every scenario of this file. Each scenario runs in
 * both directions: a room hosted by Zion that a Synapse user joins, and one hosted by Synapse that a Zion user joins.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pinnedSynapseVersion } from "../harness/synapse.js";
import { synapseAndZionSuite } from "../harness/synapse-and-zion-suite.js";
import { aliasJoinScenario, crowdedJoin, inviteAccepted, inviteRejected, joinAndMessage, leaveKickBan, sdkChat } from "./room-scenarios.js";
import { enc } from "../harness/room-sides.js";

const SYNAPSE_HOST = "127.0.26.20";
const ZION_HOST = "127.0.26.21";

describe("rooms between Zion and Synapse", { timeout: 900_000 }, () => {
  const t = synapseAndZionSuite({ prefix: "zion-rooms-synapse-", synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.26.0/24" });

  it("runs against the pinned Synapse version", () => {
    assert.equal(t.synapse.version.split(" ")[0], pinnedSynapseVersion());
  });

  it("a Synapse user joins a Zion room by alias: messages both ways in order, name, topic and power levels both ways", async () => {
    await aliasJoinScenario(t.zion, t.alice, t.syn, t.bob, "zion-hosted");
  });

  it("a Zion user joins a Synapse room by alias: messages both ways in order, name, topic and power levels both ways", async () => {
    await aliasJoinScenario(t.syn, t.bob, t.zion, t.alice, "synapse-hosted");
  });

  for (const version of ["1", "6", "10", "11", "12"]) {
    it(`room version ${version}: a room created on Zion, joined from Synapse, messages both ways`, async () => {
      await joinAndMessage(t.zion, t.alice, t.syn, t.bob, version);
    });
    it(`room version ${version}: a room created on Synapse, joined from Zion, messages both ways`, async () => {
      await joinAndMessage(t.syn, t.bob, t.zion, t.alice, version);
    });
  }
  it("matrix-js-sdk clients: a Synapse user joins a Zion room by alias and both chat through their SDK's /sync", async () => {
    await sdkChat(t.zion, t.alice, t.syn, t.bob, "sdk-zion");
  });

  it("matrix-js-sdk clients: a Zion user joins a Synapse room by alias and both chat through their SDK's /sync", async () => {
    await sdkChat(t.syn, t.bob, t.zion, t.alice, "sdk-synapse");
  });

  it("Zion -> Synapse invite: seen in the Synapse user's /sync with the room's name, accepted with /join", async () => {
    await inviteAccepted(t.zion, t.alice, t.syn, t.bob);
  });

  it("Zion -> Synapse invite: rejected with /leave, which reaches Zion's room", async () => {
    await inviteRejected(t.zion, t.alice, t.syn, t.bob);
  });

  it("Synapse -> Zion invite: seen in the Zion user's /sync with the room's name, accepted with /join", async () => {
    await inviteAccepted(t.syn, t.bob, t.zion, t.alice);
  });

  it("Synapse -> Zion invite: rejected with /leave, which reaches Synapse's room", async () => {
    await inviteRejected(t.syn, t.bob, t.zion, t.alice);
  });

  it("leave and re-join, kick and ban: a Synapse user in a Zion room", async () => {
    await leaveKickBan(t.zion, t.alice, t.syn, t.bob);
  });

  it("leave and re-join, kick and ban: a Zion user in a Synapse room", async () => {
    await leaveKickBan(t.syn, t.bob, t.zion, t.alice);
  });

  it("Synapse joins a Zion room with omit_members=true and sees every member", async () => {
    const roomId = await crowdedJoin(t.zion, t.alice, t.syn, t.bob, ["carol", "dave", "erin"]);
    const sendJoins = t.synapse.log().split("\n").filter((l) => l.includes(`/send_join/${enc(roomId).replace("!", "%21")}`) && l.includes("Completed request: 200"));
    assert.ok(sendJoins.some((l) => l.includes("omit_members=true")), `Synapse's send_join did not ask omit_members=true:\n${sendJoins.join("\n")}`);
  });
});
