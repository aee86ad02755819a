/**
 * A Zion set up to federate with the Synapse peer on loopback: a TLS federation listener on a 127.0.4.x address
 * with a certificate from the test CA, the CA trusted for outbound federation (`federation_custom_ca_list`),
 * loopback taken out of `ip_range_blacklist`, no trusted key servers unless asked, and its log captured in memory
 * so tests can assert on the reasons it logs.
 *
 * `federation` is built by app/federation.ts from the very config the server runs with, so outbound requests made by
 * a test go through the same discovery, TLS, signing and key code as the server's own.
 */
import { Writable } from "node:stream";
import type { Clock } from "../../src/core/clock.js";
import { publicKeyBase64 } from "../../src/core/crypto/index.js";
import { createLogger, newSigningKey, systemClock } from "../../src/app/index.js";
import { createFederation, type FederationServices } from "../../src/app/federation.js";
import type { TestCa } from "../harness/test-ca.js";
import { freePort } from "../harness/synapse.js";
import { startTestServer, type TestServer } from "../harness/server.js";

/** Synapse's default blacklist less loopback (the same list the Synapse harness uses), so Zion may reach 127.x. */
export const BLACKLIST_WITHOUT_LOOPBACK = [
  "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "192.0.0.0/24", "169.254.0.0/16",
  "192.88.99.0/24", "198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
  "fe80::/10", "fc00::/7", "2001:db8::/32", "ff00::/8", "fec0::/10",
];

export interface ZionPeerOptions {
  readonly ca: TestCa;
  /** The address the federation listener binds (127.0.4.x). */
  readonly host: string;
  /** Default: the IP literal `<host>:<port>`. A DNS name gets a certificate for that name instead of the IP. */
  readonly serverName?: string;
  /** Fixed federation port (default: a free ephemeral port; it is part of an IP-literal server name). */
  readonly port?: number;
  /** homeserver.yaml keys laid over these defaults. */
  readonly config?: Readonly<Record<string, unknown>>;
}

export interface ZionPeer {
  readonly server: TestServer;
  readonly serverName: string;
  readonly port: number;
  /** https://<host>:<port> of the federation listener. */
  readonly federationUrl: string;
  readonly keyId: string;
  readonly publicKey: string;
  /** Outbound federation built from the server's own config (app/federation.ts). */
  readonly federation: FederationServices;
  /** Every JSON log line the server wrote so far. */
  logs(): Record<string, unknown>[];
  /**
   * The log lines matching `pred`, once there are at least `count` of them (polling up to `timeoutMs`, 30 s by
   * default, generous for a loaded machine): the per-request line is written when the response has been sent, so a
   * peer may already hold the answer.
   */
  waitForLogs(pred: (line: Record<string, unknown>) => boolean, count: number, timeoutMs?: number): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startZionPeer(opts: ZionPeerOptions): Promise<ZionPeer> {
  const port = opts.port ?? (await freePort(opts.host));
  const serverName = opts.serverName ?? `${opts.host}:${port}`;
  const nameHost = serverName.replace(/:\d+$/, "");
  const isIp = /^[\d.]+$/.test(nameHost);
  const leaf = await opts.ca.issue(isIp ? { ip: [nameHost] } : { dns: [nameHost] });
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString("utf8").split("\n")) {
        if (!l.startsWith("{")) continue;
        try {
          lines.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          // a partial line cannot happen with pino's sync writes; ignore anything else
        }
      }
      done();
    },
  });
  const signingKey = newSigningKey();
  const server = await startTestServer({
    serverName,
    signingKey,
    tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
    config: {
      listeners: [
        { port, bind_addresses: [opts.host], type: "http", tls: true, resources: [{ names: ["federation"] }] },
        { port: 0, bind_addresses: [opts.host], type: "http", tls: false, resources: [{ names: ["client"] }] },
      ],
      federation_custom_ca_list: [opts.ca.caCertPath],
      ip_range_blacklist: BLACKLIST_WITHOUT_LOOPBACK,
      trusted_key_servers: [],
      log_level: "info",
      ...(opts.config ?? {}),
    },
    startOptions: { logger: createLogger("info", sink) },
  });
  const clock: Clock = systemClock;
  let federation: FederationServices;
  try {
    federation = createFederation(server.config, { keys: server.homeserver!.storage.keys, signingKeys: [signingKey], clock });
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    server,
    serverName,
    port,
    federationUrl: `https://${opts.host}:${port}`,
    keyId: signingKey.keyId,
    publicKey: publicKeyBase64(signingKey),
    federation,
    logs: () => lines.slice(),
    async waitForLogs(pred, count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.filter(pred);
        if (found.length >= count || Date.now() > deadline) return found;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      await federation.close();
      await server.stop();
    },
  };
}
