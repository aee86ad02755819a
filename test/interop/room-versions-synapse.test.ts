/**
 * Every room version, 1 to 12, between Zion and the pinned Synapse (issue 15), over real TLS with certificates from
 * the test CA, both named by IP literal on 127.0.37.3x: both servers offer all twelve in /capabilities, and in each
 * version a room created on one side is joined from the other with a message each way. Versions 1, 6, 10, 11 and 12
 * run in rooms-synapse.test.ts (the same scenario); this file runs the other seven.
 * https://spec.matrix.org/v1.16/rooms/
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { synapseAndZionSuite } from "../harness/synapse-and-zion-suite.js";
import { joinAndMessage } from "./room-scenarios.js";
import { ok, type Body } from "../harness/room-sides.js";

const SYNAPSE_HOST = "127.0.37.30";
const ZION_HOST = "127.0.37.31";
const ALL_VERSIONS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];
/** The versions rooms-synapse.test.ts does not run. */
const HERE = ["2", "3", "4", "5", "7", "8", "9"];

describe("every room version between Zion and Synapse", { timeout: 900_000 }, () => {
  const t = synapseAndZionSuite({ prefix: "zion-versions-synapse-", synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.37.0/24" });

  it("both servers offer every room version 1-12 as stable in /capabilities", async () => {
    for (const [side, user] of [[t.zion, t.alice], [t.syn, t.bob]] as const) {
      const caps = (await ok(side, "GET", "/_matrix/client/v3/capabilities", user.token))["capabilities"] as Body;
      const available = (caps["m.room_versions"] as { available: Record<string, string> }).available;
      for (const v of ALL_VERSIONS) assert.equal(available[v], "stable", `${side.label} offers room version ${v}: ${JSON.stringify(available)}`);
    }
  });

  for (const version of HERE) {
    it(`room version ${version}: a room created on Zion, joined from Synapse, a message each way`, async () => {
      await joinAndMessage(t.zion, t.alice, t.syn, t.bob, version);
    });
    it(`room version ${version}: a room created on Synapse, joined from Zion, a message each way`, async () => {
      await joinAndMessage(t.syn, t.bob, t.zion, t.alice, version);
    });
  }
});
