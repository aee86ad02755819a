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
  aliasJoinScenario, crowdedJoin, inviteAccepted, inviteRejected, joinAndMessage, leaveKickBan, pagesBackThroughHistory, presenceBothWays,
  receiptsBothWays, sdkChat, typingBothWays,
} from "./room-scenarios.js";
import { createRoom, enc, join, joinedMembers, ok, peerSide, seeMembership, zionSide, type Side, type SideUser } from "../harness/room-sides.js";

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
    ({ dendrite, zion: zionServer, zionName } = await startDendriteAndZion({
      dir, dendriteHost: DENDRITE_HOST, zionHost: ZION_HOST, allowRange: "127.0.33.0/24",
      // The harness turns presence off; here it crosses both ways.
      dendriteConfig: { global: { presence: { enable_inbound: true, enable_outbound: true } } },
    }));
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

  it("room version 12: Dendrite 0.13.8 has none (1 to 11 only), refuses to create one, and refuses the domain-less id of Zion's at /join", async () => {
    // Dendrite predates room version 12 (its room ids have no server part): this asserts what it does.
    const caps = await ok(den, "GET", "/_matrix/client/v3/capabilities", dora.token);
    const available = Object.keys((caps["capabilities"] as { "m.room_versions": { available: object } })["m.room_versions"].available).filter((v) => /^\d+$/.test(v));
    assert.deepEqual(available.map(Number).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const create = await den.call("POST", "/_matrix/client/v3/createRoom", dora.token, { room_version: "12" });
    assert.equal(create.status, 400, create.text);
    assert.equal(create.json["errcode"], "M_UNSUPPORTED_ROOM_VERSION");
    const roomId = await createRoom(zion, alice, { room_version: "12" });
    const j = await den.call("POST", `/_matrix/client/v3/join/${enc(roomId)}?server_name=${enc(zion.serverName)}`, dora.token, {});
    assert.equal(j.status, 400, j.text);
    assert.equal(j.json["errcode"], "M_UNKNOWN");
    assert.match(String(j.json["error"]), /is invalid: at least one ':' is expected in the room id/);
    assert.deepEqual(await joinedMembers(zion, alice, roomId), [alice.userId]);
  });

  it("a Dendrite user joins a Zion room of four members (send_join without omit_members) and both servers list all five", async () => {
    await crowdedJoin(zion, alice, den, dora, ["carol", "dave", "erin"]);
  });

  it("a Zion user joins a Dendrite room of four members and both servers list all five", async () => {
    await crowdedJoin(den, dora, zion, alice, ["dan", "dee", "dot"]);
  });

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

  it("backfill: a Zion user pages back through 50 messages sent in a Dendrite room before joining (Zion backfills from Dendrite)", async () => {
    await pagesBackThroughHistory(den, dora, zion, alice, 50);
  });

  it("backfill: a Dendrite user pages back through 50 messages sent in a Zion room before joining (Dendrite backfills from Zion)", async () => {
    await pagesBackThroughHistory(zion, alice, den, dora, 50);
  });

  it("leave and re-join, kick and ban: a Dendrite user in a Zion room", async () => {
    await leaveKickBan(zion, alice, den, dora);
  });

  it("leave and re-join, kick and ban: a Zion user in a Dendrite room", async () => {
    await leaveKickBan(den, dora, zion, alice);
  });

  describe("typing, read receipts and presence", () => {
    const rooms: Record<string, string> = {};
    before(async () => {
      rooms["zion"] = await createRoom(zion, alice, {});
      await join(den, dora, rooms["zion"], [zion.serverName]);
      await seeMembership(zion, alice, rooms["zion"], dora.userId, "join");
      rooms["dendrite"] = await createRoom(den, dora, {});
      await join(zion, alice, rooms["dendrite"], [den.serverName]);
      await seeMembership(den, dora, rooms["dendrite"], alice.userId, "join");
    });

    it("presence both ways (Dendrite with presence.enable_inbound and enable_outbound)", async () => {
      await presenceBothWays(zion, alice, den, dora);
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
