/**
 * The Zion side of a room interop test against a real peer (Synapse or Dendrite): named by its IP literal with a free
 * port on `zionHost`, a TLS certificate for that address from the test CA the peer also trusts, open registration
 * and generous rate limits, a plain client listener on 127.0.0.1 and its federation listener on `zionHost`, its
 * outbound IP policy allowing `allowRange` (the test's /24). synapse-and-zion.ts and dendrite-and-zion.ts start it
 * beside their peer. Given `zionDir`, Zion keeps its database and signing key there, and `startAgain` starts it again
 * on them under the same name and federation port (after the caller stopped it).
 */
import { mkdirSync } from "node:fs";
import { scryptHasher } from "../../src/api/index.js";
import { newSigningKey } from "../../src/app/index.js";
import { freePort } from "./ports.js";
import { startTestServer, type TestServer } from "./server.js";
import type { TestCa } from "./test-ca.js";

export interface ZionBesidePeerOptions {
  readonly zionHost: string;
  /** The CIDR Zion may reach (the test's block, e.g. "127.0.26.0/24"). */
  readonly allowRange: string;
  /** homeserver.yaml keys laid over the ones below. */
  readonly zionConfig?: Readonly<Record<string, unknown>>;
  /** Resources of Zion's federation listener (default federation and keys). */
  readonly zionFederationResources?: readonly string[];
  /** Resources of Zion's client listener (default client and media; add "metrics" with enable_metrics to scrape it). */
  readonly zionClientResources?: readonly string[];
}

export interface ZionBesidePeer {
  readonly zion: TestServer;
  readonly zionName: string;
  /** Starts Zion again on the same folder, database, key, name and federation port; its client port is new. */
  startAgain(): Promise<TestServer>;
}

const generous = { per_second: 1000, burst_count: 1000 };

export async function startZionBesidePeer(ca: TestCa, o: ZionBesidePeerOptions & { readonly zionDir?: string }): Promise<ZionBesidePeer> {
  const leaf = await ca.issue({ ip: [o.zionHost], name: `zion-${o.zionHost}` });
  const zionPort = await freePort(o.zionHost);
  const zionName = `${o.zionHost}:${zionPort}`;
  if (o.zionDir) mkdirSync(o.zionDir, { recursive: true });
  const signingKey = newSigningKey();
  const start = () =>
    startTestServer({
      serverName: zionName,
      ...(o.zionDir ? { dir: o.zionDir } : {}),
      signingKey,
      tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
      config: {
        listeners: [
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: [...(o.zionClientResources ?? ["client", "media"])] }] },
          { port: zionPort, bind_addresses: [o.zionHost], type: "http", tls: true, resources: [{ names: [...(o.zionFederationResources ?? ["federation", "keys"])] }] },
        ],
        ip_range_whitelist: [o.allowRange], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [],
        enable_registration: true, enable_registration_without_verification: true,
        rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous },
        rc_invites: { per_room: generous, per_user: generous, per_issuer: generous },
        ...(o.zionConfig ?? {}),
      },
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
  return { zion: await start(), zionName, startAgain: start };
}
