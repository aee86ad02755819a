/**
 * Typing, read receipts and presence between Zion and the pinned Synapse (src/sync/edus), over real TLS with
 * certificates from the test CA, both named by IP literal on 127.0.23.x: a Synapse user joins a Zion user's room
 * over federation, then each side's typing, receipts and presence show in the other's /sync: the shared scenarios
 * of room-scenarios.ts, which rooms-dendrite.test.ts runs against Dendrite.
 */
import { after, before, describe, it } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as pathJoin } from "node:path";
import type { TestServer } from "../harness/server.js";
import { startSynapseAndZion } from "../harness/synapse-and-zion.js";
import type { SynapseHandle } from "../harness/synapse.js";
import { presenceBothWays, receiptsBothWays, typingBothWays } from "./room-scenarios.js";
import { createRoom, join, peerSide, zionSide, type Side, type SideUser } from "./room-sides.js";

const SYNAPSE_HOST = "127.0.23.20";
const ZION_HOST = "127.0.23.21";

describe("typing, receipts and presence between Zion and Synapse", { timeout: 300_000 }, () => {
  let dir: string;
  let synapse: SynapseHandle | undefined;
  let zionServer: TestServer | undefined;
  let zion: Side;
  let syn: Side;
  let alice: SideUser; // on Zion
  let bob: SideUser; // on Synapse
  let roomId: string;

  before(async () => {
    dir = mkdtempSync(pathJoin(tmpdir(), "zion-edus-synapse-"));
    let zionName: string;
    ({ synapse, zion: zionServer, zionName } = await startSynapseAndZion({ dir, synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.23.0/24", synapseConfig: { presence: { enabled: true } } }));
    zion = zionSide(zionServer, zionName);
    syn = peerSide("synapse", synapse);
    [alice, bob] = await Promise.all([zion.register("alice"), syn.register("bob")]);
    roomId = await createRoom(zion, alice, { name: "with synapse" });
    await join(syn, bob, roomId, [zionName]);
  });

  after(async () => {
    await Promise.all([synapse?.stop(), zionServer?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("Zion's typing shows in Synapse's /sync, and Synapse's in Zion's", async () => {
    await typingBothWays(zion, alice, syn, bob, roomId);
  });

  it("read receipts cross both ways", async () => {
    await receiptsBothWays(zion, alice, syn, bob, roomId);
  });

  it("presence crosses both ways", async () => {
    await presenceBothWays(zion, alice, syn, bob);
  });
});
