/**
 * Backfill between Zion and the pinned Synapse (issues 14 and 15), over real TLS with certificates from the test CA,
 * both named by IP literal on 127.0.31.x. A room holds 200 messages before the other server's user joins; that
 * user's client then pages back with /messages and must get all 200, in order, none twice. On Zion that history
 * comes from Synapse's /backfill (src/rooms/backfill.ts); on Synapse it comes from Zion's.
 */
import { after, before, describe, it } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as pathJoin } from "node:path";
import type { TestServer } from "../harness/server.js";
import type { SynapseHandle } from "../harness/synapse.js";
import { startSynapseAndZion } from "../harness/synapse-and-zion.js";
import { pagesBackThroughHistory } from "./room-scenarios.js";
import { synapseSide, zionSide, type Side, type SideUser } from "./room-sides.js";

const SYNAPSE_HOST = "127.0.31.250";
const ZION_HOST = "127.0.31.251";
const COUNT = 200;

describe("backfill between Zion and Synapse", { timeout: 600_000 }, () => {
  let dir: string;
  let synapse: SynapseHandle | undefined;
  let zionServer: TestServer | undefined;
  let zion: Side;
  let syn: Side;
  let alice: SideUser; // on Zion
  let bob: SideUser; // on Synapse

  before(async () => {
    dir = mkdtempSync(pathJoin(tmpdir(), "zion-backfill-synapse-"));
    let zionName: string;
    ({ synapse, zion: zionServer, zionName } = await startSynapseAndZion({ dir, synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.31.0/24" }));
    zion = zionSide(() => zionServer!, zionName);
    syn = synapseSide(synapse);
    [alice, bob] = await Promise.all([zion.register("alice"), syn.register("bob")]);
  });

  after(async () => {
    await Promise.all([synapse?.stop(), zionServer?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a Zion user pages back through 200 messages sent in a Synapse room before joining (Zion backfills from Synapse)", async () => {
    await pagesBackThroughHistory(syn, bob, zion, alice, COUNT);
  });

  it("the same in room version 10", async () => {
    await pagesBackThroughHistory(syn, bob, zion, alice, COUNT, "10");
  });

  it("a Synapse user pages back through 200 messages sent in a Zion room before joining (Synapse backfills from Zion)", async () => {
    await pagesBackThroughHistory(zion, alice, syn, bob, COUNT);
  });
});
