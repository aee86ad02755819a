/**
 * A Zion child process federating over loopback: a client listener on 127.0.0.1, a TLS federation listener on
 * `ip`:8448 with a certificate for `name` from the test CA, names resolved through the test dnsmasq, and
 * `127.0.3.0/24` allowed by the outbound IP policy (the block the federation tests take their addresses from).
 *
 * `options` changes what a test needs changed (another port or IP block, more certificate names, more listeners, a
 * fixed client port); `FederatedZionProcess` is the same server kept in its own folder, so it can be stopped,
 * killed with SIGKILL and started again on the same database, key and addresses.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SigningKey } from "../../src/core/crypto/index.js";
import { newSigningKey } from "../../src/app/index.js";
import type { ServerName } from "../../src/core/ids/index.js";
import type { Dnsmasq } from "./dnsmasq.js";
import { freePort } from "./ports.js";
import { startTestServer, type TestServer, type TestServerOptions } from "./server.js";
import type { IssuedCert, TestCa } from "./test-ca.js";

export interface FederatedZionOptions extends Pick<TestServerOptions, "mode" | "startOptions"> {
  /** Port of the TLS federation listener on `ip` (default 8448). */
  readonly federationPort?: number;
  /** The outbound IP policy's allowed ranges (default ["127.0.3.0/24"]). */
  readonly ipRangeWhitelist?: readonly string[];
  /** More names the certificate covers besides `name` (a `.well-known` delegation target). */
  readonly certificateNames?: readonly string[];
  /** Listeners added after the client and federation ones (e.g. a TLS listener on 443 serving `.well-known`). */
  readonly extraListeners?: readonly Record<string, unknown>[];
  /** Bind the client listener here (default 127.0.0.1, an ephemeral port). */
  readonly client?: { readonly host: string; readonly port: number };
  /** Reuse this certificate (a restart) instead of issuing one. */
  readonly leaf?: IssuedCert;
  /** Run in this folder and keep it at stop (see startTestServer's `dir`). */
  readonly dir?: string;
  readonly signingKey?: SigningKey;
  /** Milliseconds to wait for "ready". */
  readonly timeoutMs?: number;
}

export async function startFederatedZion(
  ca: TestCa,
  dns: Dnsmasq,
  name: string,
  ip: string,
  extra: Record<string, unknown> = {},
  options: FederatedZionOptions = {},
): Promise<TestServer> {
  const leaf = options.leaf ?? (await ca.issue({ dns: [name, ...(options.certificateNames ?? [])], name }));
  const client = options.client ?? { host: "127.0.0.1", port: 0 };
  return startTestServer({
    serverName: name,
    mode: options.mode ?? "child",
    ...(options.startOptions ? { startOptions: options.startOptions } : {}),
    tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
    ...(options.dir ? { dir: options.dir } : {}),
    ...(options.signingKey ? { signingKey: options.signingKey } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    config: {
      listeners: [
        { port: client.port, bind_addresses: [client.host], type: "http", tls: false, resources: [{ names: ["client"] }] },
        { port: options.federationPort ?? 8448, bind_addresses: [ip], type: "http", tls: true, resources: [{ names: ["federation"] }] },
        ...(options.extraListeners ?? []),
      ],
      dns_servers: [dns.server],
      ip_range_whitelist: [...(options.ipRangeWhitelist ?? ["127.0.3.0/24"])],
      federation_custom_ca_list: [ca.caCertPath],
      trusted_key_servers: [],
      ...extra,
    },
  });
}

/**
 * One federated Zion that keeps its folder, key, certificate and client port across stop/kill/start, so a test can
 * take it down (gracefully or with SIGKILL) and bring it back on the same database where peers and clients expect it.
 */
export class FederatedZionProcess {
  readonly dir = mkdtempSync(join(tmpdir(), "zion-fed-"));
  readonly signingKey = newSigningKey();
  private leaf: IssuedCert | undefined;
  private server: TestServer | undefined;

  constructor(
    readonly ca: TestCa,
    readonly dns: Dnsmasq,
    readonly name: string,
    readonly ip: string,
    /** homeserver.yaml keys; a test may change them before the next start(). */
    public extra: Record<string, unknown>,
    readonly options: Omit<FederatedZionOptions, "dir" | "signingKey" | "leaf">,
  ) {}

  /** The running server (throws when stopped). */
  get current(): TestServer {
    if (!this.server) throw new Error(`${this.name} is not running`);
    return this.server;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  get clientUrl(): string {
    return this.current.clientUrl!;
  }

  async start(): Promise<TestServer> {
    if (this.server) return this.server;
    this.leaf ??= await this.ca.issue({ dns: [this.name, ...(this.options.certificateNames ?? [])], name: this.name });
    this.server = await startFederatedZion(this.ca, this.dns, this.name, this.ip, this.extra, {
      ...this.options,
      dir: this.dir,
      signingKey: this.signingKey,
      leaf: this.leaf,
    });
    return this.server;
  }

  /** Graceful stop (SIGTERM); resolves to the exit code. */
  async stop(): Promise<number | null> {
    const s = this.server;
    this.server = undefined;
    return s ? s.stop() : null;
  }

  /** SIGKILL: no chance to finish anything. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s?.child) return;
    const gone = new Promise<void>((resolve) => (s.child!.exitCode !== null || s.child!.signalCode !== null ? resolve() : s.child!.once("exit", () => resolve())));
    s.child.kill("SIGKILL");
    await gone;
    await s.stop();
  }

  /** Stops the server if running and removes its folder. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * In-process Zions named by IP literal (`ip:8448`), each with a TLS federation listener on its address (one test-CA
 * certificate with every address as an IP SAN), a client listener on 127.0.0.1, registration open, generous rate
 * limits and `allowRange` let through the outbound IP policy. No DNS: names are addresses. Stop each returned server.
 */
export async function startIpLiteralZions(
  ca: TestCa, ips: readonly string[], allowRange: string,
  startOptions: NonNullable<Parameters<typeof startTestServer>[0]>["startOptions"] = {},
  /** homeserver.yaml keys laid over each server's (index i for ips[i]), e.g. `presence: {enabled: false}`. */
  extraConfig: readonly Readonly<Record<string, unknown>>[] = [],
): Promise<{ servers: TestServer[]; names: ServerName[] }> {
  const generous = { per_second: 1000, burst_count: 1000 };
  const leaf = await ca.issue({ ip: [...ips] });
  const tls = { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath };
  const servers: TestServer[] = [];
  const names = ips.map((ip) => `${ip}:8448` as ServerName);
  for (const [i, ip] of ips.entries()) {
    servers.push(await startTestServer({
      serverName: names[i]!, tls,
      config: {
        listeners: [
          { port: 8448, bind_addresses: [ip], type: "http", tls: true, resources: [{ names: ["federation", "keys"] }] },
          { port: await freePort("127.0.0.1"), bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] },
        ],
        ip_range_whitelist: [allowRange], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [],
        enable_registration: true, enable_registration_without_verification: true,
        rc_login: { address: generous, account: generous, failed_attempts: generous },
        rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous }, rc_invites: { per_room: generous, per_user: generous, per_issuer: generous },
        ...extraConfig[i],
      },
      startOptions,
    }));
  }
  return { servers, names };
}
