/**
 * A Synapse peer and a Zion side by side for the room interop tests: one test CA, each server named by its IP
 * literal (Zion's with a free port), TLS certificates for those addresses, Zion with open registration and generous
 * rate limits, a plain client listener on 127.0.0.1 and its federation listener on `zionHost`, its outbound IP
 * policy allowing `allowRange` (the test's /24). Zion runs in `<dir>/zion` and Synapse in `<dir>/synapse`, kept at stop,
 * so a scenario may stop either and start it again on its database (`startZionAgain`, `startSynapseAgain`).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import { newSigningKey } from "../../src/app/index.js";
import { freePort } from "./ports.js";
import { startTestServer, type TestServer } from "./server.js";
import { startSynapse, type SynapseHandle } from "./synapse.js";
import { createTestCa, type TestCa } from "./test-ca.js";

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

const generous = { per_second: 1000, burst_count: 1000 };

export async function startSynapseAndZion(o: {
  readonly dir: string;
  readonly synapseHost: string;
  readonly zionHost: string;
  /** The CIDR Zion may reach (the test's block, e.g. "127.0.26.0/24"). */
  readonly allowRange: string;
  readonly synapseConfig?: Readonly<Record<string, unknown>>;
  readonly zionConfig?: Readonly<Record<string, unknown>>;
  /** Resources of Zion's federation listener (default federation and keys). */
  readonly zionFederationResources?: readonly string[];
}): Promise<SynapseAndZion> {
  const ca = await createTestCa(join(o.dir, "ca"));
  const sLeaf = await ca.issue({ ip: [o.synapseHost], name: "synapse" });
  const zLeaf = await ca.issue({ ip: [o.zionHost], name: "zion" });
  const zionPort = await freePort(o.zionHost);
  const zionName = `${o.zionHost}:${zionPort}`;
  const zionDir = join(o.dir, "zion");
  mkdirSync(zionDir, { recursive: true });
  const signingKey = newSigningKey();
  const synapseOptions = { dir: join(o.dir, "synapse"), bindHost: o.synapseHost, caCertPath: ca.caCertPath, certPath: sLeaf.chainPath, keyPath: sLeaf.keyPath, ...(o.synapseConfig ? { extraConfig: o.synapseConfig } : {}) };
  const startZion = () =>
    startTestServer({
      serverName: zionName,
      dir: zionDir,
      signingKey,
      tls: { certificatePath: zLeaf.chainPath, privateKeyPath: zLeaf.keyPath },
      config: {
        listeners: [
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client", "media"] }] },
          { port: zionPort, bind_addresses: [o.zionHost], type: "http", tls: true, resources: [{ names: [...(o.zionFederationResources ?? ["federation", "keys"])] }] },
        ],
        ip_range_whitelist: [o.allowRange], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [],
        enable_registration: true, enable_registration_without_verification: true,
        rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous }, rc_invites: { per_room: generous, per_user: generous, per_issuer: generous },
        ...(o.zionConfig ?? {}),
      },
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
  const [synapse, zion] = await Promise.all([startSynapse(synapseOptions), startZion()]);
  const startSynapseAgain = () =>
    startSynapse({ ...synapseOptions, serverName: synapse.serverName, ports: { federation: synapse.federationPort, client: synapse.clientPort } });
  return { ca, synapse, zion, zionName, startZionAgain: startZion, startSynapseAgain };
}
