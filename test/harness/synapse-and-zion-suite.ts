/**
 * The shared setup of the Synapse room interop files (test/interop/*-synapse.test.ts): inside a `describe`, it
 * registers a `before` that starts Synapse and Zion side by side (synapse-and-zion.ts) in a fresh temporary folder,
 * prints both versions, makes a `Side` of each and registers alice on Zion and bob on Synapse, and an `after` that
 * stops both and removes the folder. The handles it returns are getters read when a test runs: they follow a
 * scenario that stops a server and starts it again (`stopSynapse`/`startSynapseAgain`, `stopZion`/`startZionAgain`),
 * and the sides read the current server on every call.
 */
import { after, before } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synapseSide, zionSide, type Side, type SideUser } from "./room-sides.js";
import type { TestServer } from "./server.js";
import { startSynapseAndZion, type SynapseAndZion } from "./synapse-and-zion.js";
import { pinnedSynapseVersion, type SynapseHandle } from "./synapse.js";

export type SynapseAndZionSuiteOptions = Omit<Parameters<typeof startSynapseAndZion>[0], "dir"> & {
  /** The temporary folder's prefix, e.g. "zion-rooms-synapse-". */
  readonly prefix: string;
  /** Register alice on Zion and bob on Synapse (default true). */
  readonly users?: boolean;
};

export interface SynapseAndZionSuite {
  readonly dir: string;
  /** What startSynapseAndZion returned (its `synapse` and `zion` are the first servers; read the ones below). */
  readonly pair: SynapseAndZion;
  /** The Synapse running now. */
  readonly synapse: SynapseHandle;
  /** The Zion running now. */
  readonly zionServer: TestServer;
  readonly zionName: string;
  readonly zion: Side;
  readonly syn: Side;
  /** On Zion (absent with `users: false`). */
  readonly alice: SideUser;
  /** On Synapse (absent with `users: false`). */
  readonly bob: SideUser;
  stopSynapse(): Promise<void>;
  /** After `stopSynapse`: Synapse again on its database, key, name and ports. */
  startSynapseAgain(): Promise<SynapseHandle>;
  stopZion(): Promise<void>;
  /** After `stopZion`: Zion again on its database, key, name and federation port (a new client port). */
  startZionAgain(): Promise<TestServer>;
}

/** Call at the top of a `describe` body, before the file's own hooks (which then see the servers and users). */
export function synapseAndZionSuite(o: SynapseAndZionSuiteOptions): SynapseAndZionSuite {
  const { prefix, users = true, ...startOptions } = o;
  let dir: string | undefined;
  let pair: SynapseAndZion | undefined;
  let synapse: SynapseHandle | undefined;
  let zionServer: TestServer | undefined;
  let zion: Side | undefined;
  let syn: Side | undefined;
  let alice: SideUser | undefined;
  let bob: SideUser | undefined;
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`synapseAndZionSuite: ${what} is not there (read it in a test or a later hook)`);
    return v;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    pair = await startSynapseAndZion({ ...startOptions, dir });
    ({ synapse, zion: zionServer } = pair);
    console.log(`# Synapse ${pair.synapse.version} (pinned ${pinnedSynapseVersion()}) as ${pair.synapse.serverName}; Zion as ${pair.zionName}`);
    zion = zionSide(() => zionServer!, pair.zionName);
    syn = synapseSide(() => synapse!);
    if (users) [alice, bob] = await Promise.all([zion.register("alice"), syn.register("bob")]);
  });

  after(async () => {
    await Promise.all([synapse?.stop(), zionServer?.stop()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  return {
    get dir() { return need(dir, "dir"); },
    get pair() { return need(pair, "pair"); },
    get synapse() { return need(synapse, "synapse"); },
    get zionServer() { return need(zionServer, "zionServer"); },
    get zionName() { return need(pair, "pair").zionName; },
    get zion() { return need(zion, "zion"); },
    get syn() { return need(syn, "syn"); },
    get alice() { return need(alice, "alice"); },
    get bob() { return need(bob, "bob"); },
    async stopSynapse() {
      await need(synapse, "synapse").stop();
    },
    async startSynapseAgain() {
      synapse = await need(pair, "pair").startSynapseAgain();
      return synapse;
    },
    async stopZion() {
      await need(zionServer, "zionServer").stop();
    },
    async startZionAgain() {
      zionServer = await need(pair, "pair").startZionAgain();
      return zionServer;
    },
  };
}
