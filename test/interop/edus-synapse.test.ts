/**
 * Typing, read receipts and presence between Zion and the pinned Synapse (src/sync/edus), over real TLS with
 * certificates from the test CA, both named by IP literal on 127.0.23.x: a Synapse user joins a Zion user's room
 * over federation, then each side's typing, receipts and presence show in the other's /sync: the shared scenarios
 * of room-scenarios.ts, which rooms-dendrite.test.ts runs against Dendrite.
 */
import { before, describe, it } from "node:test";
import { synapseAndZionSuite } from "../harness/synapse-and-zion-suite.js";
import { presenceBothWays, receiptsBothWays, typingBothWays } from "./room-scenarios.js";
import { createRoom, join } from "./room-sides.js";

const SYNAPSE_HOST = "127.0.23.20";
const ZION_HOST = "127.0.23.21";

describe("typing, receipts and presence between Zion and Synapse", { timeout: 300_000 }, () => {
  const t = synapseAndZionSuite({ prefix: "zion-edus-synapse-", synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.23.0/24", synapseConfig: { presence: { enabled: true } } });
  let roomId: string;

  before(async () => {
    roomId = await createRoom(t.zion, t.alice, { name: "with synapse" });
    await join(t.syn, t.bob, roomId, [t.zionName]);
  });

  it("Zion's typing shows in Synapse's /sync, and Synapse's in Zion's", async () => {
    await typingBothWays(t.zion, t.alice, t.syn, t.bob, roomId);
  });

  it("read receipts cross both ways", async () => {
    await receiptsBothWays(t.zion, t.alice, t.syn, t.bob, roomId);
  });

  it("presence crosses both ways", async () => {
    await presenceBothWays(t.zion, t.alice, t.syn, t.bob);
  });
});
