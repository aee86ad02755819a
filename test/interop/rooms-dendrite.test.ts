/**
 * Rooms between Zion and the pinned Dendrite (issue 15), over real TLS with certificates from the test CA, both
 * named by IP literal on 127.0.33.x; one Dendrite (SQLite) and one Zion shared by every scenario of this file. The
 * scenarios are the Synapse file's own (room-scenarios.ts), each run in both directions: a room hosted by Zion that
 * a Dendrite user joins, and one hosted by Dendrite that a Zion user joins.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as pathJoin } from "node:path";
import { pinnedDendriteVersion, type DendriteHandle } from "../harness/dendrite.js";
import { startDendriteAndZion } from "../harness/dendrite-and-zion.js";
import type { TestServer } from "../harness/server.js";
import {
  aliasJoinScenario, inviteAccepted, inviteRejected, joinAndMessage, leaveKickBan, receiptsBothWays, sdkChat, typingBothWays,
} from "./room-scenarios.js";
import { createRoom, join, peerSide, seeMembership, zionSide, type Side, type SideUser } from "./room-sides.js";

const DENDRITE_HOST = "127.0.33.20";
const ZION_HOST = "127.0.33.21";

describe("rooms between Zion and Dendrite", { timeout: 900_000 }, () => {
  let dir: string;
  let dendrite: DendriteHandle | undefined;
  let zionServer: TestServer | undefined;
  let zion: Side;
  let den: Side;
  let alice: SideUser; // on Zion
  let dora: SideUser; // on Dendrite

  before(async () => {
    dir = mkdtempSync(pathJoin(tmpdir(), "zion-rooms-dendrite-"));
    let zionName: string;
    ({ dendrite, zion: zionServer, zionName } = await startDendriteAndZion({ dir, dendriteHost: DENDRITE_HOST, zionHost: ZION_HOST, allowRange: "127.0.33.0/24" }));
    console.log(`# Dendrite ${dendrite.version} (pinned ${pinnedDendriteVersion()}) as ${dendrite.serverName}; Zion as ${zionName}`);
    zion = zionSide(zionServer, zionName);
    den = peerSide("dendrite", dendrite);
    [alice, dora] = await Promise.all([zion.register("alice"), den.register("dora")]);
  });

  after(async () => {
    await Promise.all([dendrite?.stop(), zionServer?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs against the pinned Dendrite version", () => {
    assert.equal(dendrite!.version, pinnedDendriteVersion());
  });

  it("a Dendrite user joins a Zion room by alias: messages both ways in order, name, topic and power levels both ways", async () => {
    await aliasJoinScenario(zion, alice, den, dora, "zion-hosted");
  });

  it("a Zion user joins a Dendrite room by alias: messages both ways in order, name, topic and power levels both ways", async () => {
    await aliasJoinScenario(den, dora, zion, alice, "dendrite-hosted");
  });

  for (const version of ["1", "6", "10", "11"]) {
    it(`room version ${version}: a room created on Zion, joined by id from Dendrite, messages both ways`, async () => {
      await joinAndMessage(zion, alice, den, dora, version);
    });
    it(`room version ${version}: a room created on Dendrite, joined by id from Zion, messages both ways`, async () => {
      await joinAndMessage(den, dora, zion, alice, version);
    });
  }

  it("matrix-js-sdk clients: a Dendrite user joins a Zion room by alias and both chat through their SDK's /sync", async () => {
    await sdkChat(zion, alice, den, dora, "sdk-zion");
  });

  it("matrix-js-sdk clients: a Zion user joins a Dendrite room by alias and both chat through their SDK's /sync", async () => {
    await sdkChat(den, dora, zion, alice, "sdk-dendrite");
  });

  it("Zion -> Dendrite invite: seen in the Dendrite user's /sync with the room's name, accepted with /join", async () => {
    await inviteAccepted(zion, alice, den, dora);
  });

  it("Zion -> Dendrite invite: rejected with /leave, which reaches Zion's room", async () => {
    await inviteRejected(zion, alice, den, dora);
  });

  it("Dendrite -> Zion invite: seen in the Zion user's /sync with the room's name, accepted with /join", async () => {
    await inviteAccepted(den, dora, zion, alice);
  });

  it("Dendrite -> Zion invite: rejected with /leave, which reaches Dendrite's room", async () => {
    await inviteRejected(den, dora, zion, alice);
  });

  it("leave and re-join, kick and ban: a Dendrite user in a Zion room", async () => {
    await leaveKickBan(zion, alice, den, dora);
  });

  it("leave and re-join, kick and ban: a Zion user in a Dendrite room", async () => {
    await leaveKickBan(den, dora, zion, alice);
  });

  describe("typing and read receipts", () => {
    const rooms: Record<string, string> = {};
    before(async () => {
      rooms["zion"] = await createRoom(zion, alice, {});
      await join(den, dora, rooms["zion"], [zion.serverName]);
      await seeMembership(zion, alice, rooms["zion"], dora.userId, "join");
      rooms["dendrite"] = await createRoom(den, dora, {});
      await join(zion, alice, rooms["dendrite"], [den.serverName]);
      await seeMembership(den, dora, rooms["dendrite"], alice.userId, "join");
    });

    for (const host of ["zion", "dendrite"]) {
      it(`typing both ways, in a room hosted by ${host === "zion" ? "Zion" : "Dendrite"}`, async () => {
        await typingBothWays(zion, alice, den, dora, rooms[host]!);
      });
      it(`read receipts both ways, in a room hosted by ${host === "zion" ? "Zion" : "Dendrite"}`, async () => {
        await receiptsBothWays(zion, alice, den, dora, rooms[host]!);
      });
    }
  });
});
