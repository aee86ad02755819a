/**
 * The Zion side of a room interop test against a real peer (Synapse or Dendrite): named by its IP literal with a free
 * port on `zionHost`, a TLS certificate for that address from the test CA the peer also trusts, open registration
 * and generous rate limits, a plain client listener on 127.0.0.1 and its federation listener on `zionHost`, its
 * outbound IP policy allowing `allowRange` (the test's /24). synapse-and-zion.ts and dendrite-and-zion.ts start it
 * beside their peer.
 */
import { scryptHasher } from "../../src/api/index.js";
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
}

const generous = { per_second: 1000, burst_count: 1000 };

export async function startZionBesidePeer(ca: TestCa, o: ZionBesidePeerOptions): Promise<{ zion: TestServer; zionName: string }> {
  const leaf = await ca.issue({ ip: [o.zionHost], name: "zion" });
  const zionPort = await freePort(o.zionHost);
  const zionName = `${o.zionHost}:${zionPort}`;
  const zion = await startTestServer({
    serverName: zionName,
    tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
    config: {
      listeners: [
        { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client", "media"] }] },
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
  return { zion, zionName };
}
