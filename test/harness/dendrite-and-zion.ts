/**
 * A Dendrite peer and a Zion side by side for the room interop tests (the Dendrite counterpart of
 * synapse-and-zion.ts): one test CA, each server named by its IP literal, Dendrite on `dendriteHost` (SQLite, its
 * shared-secret registration on, see dendrite.ts) and Zion as zion-beside-peer.ts starts it on `zionHost`.
 */
import { join } from "node:path";
import { startDendrite, type DendriteHandle, type DendriteOptions } from "./dendrite.js";
import type { TestServer } from "./server.js";
import { createTestCa, type TestCa } from "./test-ca.js";
import { startZionBesidePeer, type ZionBesidePeerOptions } from "./zion-beside-peer.js";

export interface DendriteAndZion {
  readonly ca: TestCa;
  readonly dendrite: DendriteHandle;
  readonly zion: TestServer;
  /** Zion's server name, `<zionHost>:<port>`. */
  readonly zionName: string;
}

export async function startDendriteAndZion(o: ZionBesidePeerOptions & {
  readonly dir: string;
  readonly dendriteHost: string;
  readonly dendriteConfig?: DendriteOptions["extraConfig"];
}): Promise<DendriteAndZion> {
  const ca = await createTestCa(join(o.dir, "ca"));
  const dLeaf = await ca.issue({ ip: [o.dendriteHost], name: "dendrite" });
  const [dendrite, { zion, zionName }] = await Promise.all([
    startDendrite({ dir: join(o.dir, "dendrite"), bindHost: o.dendriteHost, caCertPath: ca.caCertPath, certPath: dLeaf.chainPath, keyPath: dLeaf.keyPath, ...(o.dendriteConfig ? { extraConfig: o.dendriteConfig } : {}) }),
    startZionBesidePeer(ca, o),
  ]);
  return { ca, dendrite, zion, zionName };
}
