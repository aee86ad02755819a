/**
 * Backfill between Zion and the pinned Synapse (issues 14 and 15), over real TLS with certificates from the test CA,
 * both named by IP literal on 127.0.31.x. A room holds 200 messages before the other server's user joins; that
 * user's client then pages back with /messages and must get all 200, in order, none twice. On Zion that history
 * comes from Synapse's /backfill (src/rooms/backfill.ts); on Synapse it comes from Zion's.
 */
import { describe, it } from "node:test";
import { synapseAndZionSuite } from "../harness/synapse-and-zion-suite.js";
import { pagesBackThroughHistory } from "./room-scenarios.js";

const SYNAPSE_HOST = "127.0.31.250";
const ZION_HOST = "127.0.31.251";
const COUNT = 200;

describe("backfill between Zion and Synapse", { timeout: 600_000 }, () => {
  const t = synapseAndZionSuite({ prefix: "zion-backfill-synapse-", synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.31.0/24" });

  it("a Zion user pages back through 200 messages sent in a Synapse room before joining (Zion backfills from Synapse)", async () => {
    await pagesBackThroughHistory(t.syn, t.bob, t.zion, t.alice, COUNT);
  });

  it("the same in room version 10", async () => {
    await pagesBackThroughHistory(t.syn, t.bob, t.zion, t.alice, COUNT, "10");
  });

  it("a Synapse user pages back through 200 messages sent in a Zion room before joining (Synapse backfills from Zion)", async () => {
    await pagesBackThroughHistory(t.zion, t.alice, t.syn, t.bob, COUNT);
  });
});
