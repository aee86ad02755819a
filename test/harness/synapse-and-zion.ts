/**
 * A Synapse peer and a Zion side by side for the room interop tests: one test CA, each server named by its IP
 * literal, Synapse on `synapseHost` and Zion as zion-beside-peer.ts starts it on `zionHost`. Zion runs in
 * `<dir>/zion` and Synapse in `<dir>/synapse`, kept at stop, so a scenario may stop either and start it again on its
 * database (`startZionAgain`, `startSynapseAgain`).
 */
import { join } from "node:path";
import type { TestServer } from "./server.js";
import { startSynapse, type SynapseHandle } from "./synapse.js";
import { createTestCa, type TestCa } from "./test-ca.js";
import { startZionBesidePeer, type ZionBesidePeerOptions } from "./zion-beside-peer.js";

export interface SynapseAndZion {
  readonly ca: TestCa;
  readonly synapse: SynapseHandle;
  readonly zion: TestServer;
  /** Zion's server name, `<zionHost>:<port>`. */
  readonly zionName: string;
  /**
   * Starts Zion again on the same folder, database, signing key, name and federation port (after the caller stopped
   * `zion`); its client listener gets a new port, so read `clientUrl` from the server this returns.
   */
  startZionAgain(): Promise<TestServer>;
  /** Starts Synapse again on the same folder, database, signing key, name and ports (after the caller stopped it). */
  startSynapseAgain(): Promise<SynapseHandle>;
}

export async function startSynapseAndZion(o: ZionBesidePeerOptions & {
  readonly dir: string;
  readonly synapseHost: string;
  readonly synapseConfig?: Readonly<Record<string, unknown>>;
}): Promise<SynapseAndZion> {
  const ca = await createTestCa(join(o.dir, "ca"));
  const sLeaf = await ca.issue({ ip: [o.synapseHost], name: "synapse" });
  const synapseOptions = { dir: join(o.dir, "synapse"), bindHost: o.synapseHost, caCertPath: ca.caCertPath, certPath: sLeaf.chainPath, keyPath: sLeaf.keyPath, ...(o.synapseConfig ? { extraConfig: o.synapseConfig } : {}) };
  const [synapse, { zion, zionName, startAgain }] = await Promise.all([startSynapse(synapseOptions), startZionBesidePeer(ca, { ...o, zionDir: join(o.dir, "zion") })]);
  const startSynapseAgain = () =>
    startSynapse({ ...synapseOptions, serverName: synapse.serverName, ports: { federation: synapse.federationPort, client: synapse.clientPort } });
  return { ca, synapse, zion, zionName, startZionAgain: startAgain, startSynapseAgain };
}
