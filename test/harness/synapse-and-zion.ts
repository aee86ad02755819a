/**
 * A Synapse peer and a Zion side by side for the room interop tests: one test CA, each server named by its IP
 * literal, Synapse on `synapseHost` and Zion as zion-beside-peer.ts starts it on `zionHost`.
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
}

export async function startSynapseAndZion(o: ZionBesidePeerOptions & {
  readonly dir: string;
  readonly synapseHost: string;
  readonly synapseConfig?: Readonly<Record<string, unknown>>;
}): Promise<SynapseAndZion> {
  const ca = await createTestCa(join(o.dir, "ca"));
  const sLeaf = await ca.issue({ ip: [o.synapseHost], name: "synapse" });
  const [synapse, { zion, zionName }] = await Promise.all([
    startSynapse({ dir: join(o.dir, "synapse"), bindHost: o.synapseHost, caCertPath: ca.caCertPath, certPath: sLeaf.chainPath, keyPath: sLeaf.keyPath, ...(o.synapseConfig ? { extraConfig: o.synapseConfig } : {}) }),
    startZionBesidePeer(ca, o),
  ]);
  return { ca, synapse, zion, zionName };
}
