/**
 * A real Synapse as a throwaway federation peer for tests (issue 6).
 *
 * `startSynapse(options)` writes a test-friendly homeserver.yaml into a fresh directory, starts the pinned Synapse
 * (test/interop/SYNAPSE_VERSION, installed by scripts/install-synapse.sh into a venv outside the repository) with the
 * environment's proxy variables removed, waits for `/health` (120 s budget, failing at once with the log tail if the
 * child exits), and returns a handle: URLs, server name, version, `registerUser(...)`, `httpsJson`-style helpers and
 * `stop()`. The facts behind every config key are in /work/shared/interop/SYNAPSE.md and docs/synapse-peer.md.
 *
 * Names: by default the server name is the IP literal `<bindHost>:<federation port>`, which needs no DNS, no hosts
 * file and no root. For name-based scenarios, `namespace.hosts` / `namespace.resolvConf` run Synapse inside a
 * private mount namespace (`unshare --mount --propagation private`, root only) with those files bind-mounted over
 * /etc/hosts and /etc/resolv.conf, so the machine's own files are never edited.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import {
  asRegisteredUser, inMountNamespace, passwordLogin, peerExecutable, peerRequests, pinnedVersion, registerWithSharedSecret,
  requestJson, spawnPeer, withoutProxies, type PeerHandle, type PeerOptions, type RegisteredUser,
} from "./peer-process.js";
import { freePort } from "./ports.js";
import { DEFAULT_IP_RANGE_BLACKLIST } from "../../src/federation/discovery/ip-ranges.js";

/** The pinned version from test/interop/SYNAPSE_VERSION. */
export function pinnedSynapseVersion(): string {
  return pinnedVersion("SYNAPSE_VERSION");
}

/**
 * The venv python that runs the pinned Synapse. `ZION_SYNAPSE_PYTHON` overrides; otherwise
 * scripts/install-synapse.sh is run (it reuses an existing venv and prints the python path on its last line).
 */
export const synapsePython = peerExecutable({
  override: "ZION_SYNAPSE_PYTHON", script: "install-synapse.sh", who: "synapse", timeoutMs: 600_000,
  env: () => withoutProxies(process.env),
});

/** Synapse needs fixed ports in its config; interop tests import freePort and the request helpers from here too. */
export { freePort };
export { requestJson, withoutProxies, type HttpReply, type RegisteredUser } from "./peer-process.js";

export interface SynapseOptions extends PeerOptions {
  /** The CA Synapse trusts for outbound federation (`federation_custom_ca_list`), PEM file. */
  readonly caCertPath: string;
  /** Top-level keys replacing the generated ones (like a second `-c` file). */
  readonly extraConfig?: Readonly<Record<string, unknown>>;
  /** A signing key file's text (`ed25519 <version> <seed>`); when absent Synapse generates one at start-up. */
  readonly signingKey?: string;
}

export interface SynapseHandle extends PeerHandle {
  /**
   * Clears Synapse's back-off for a destination (admin API `reset_connection`, with an admin registered on first
   * use). Resolves to the HTTP status: 200 reset, 400 nothing to reset, 404 a destination Synapse never contacted.
   */
  resetFederationBackoff(destination: string): Promise<number>;
}

const REGISTRATION_SECRET = "interop-secret";

/** Synapse's default ip_range_blacklist (the same list as Zion's default) without the loopback ranges. */
const BLOCKLIST_WITHOUT_LOOPBACK = DEFAULT_IP_RANGE_BLACKLIST.filter((r) => r !== "127.0.0.0/8" && r !== "::1/128");

/** The generated homeserver.yaml as an object (exported for docs and tests). */
export function synapseConfig(o: {
  serverName: string;
  bindHost: string;
  federationPort: number;
  clientPort: number;
  dir: string;
  caCertPath: string;
  certPath: string;
  keyPath: string;
  extraConfig?: Readonly<Record<string, unknown>>;
}): Record<string, unknown> {
  const open = { per_second: 1000, burst_count: 1000 };
  const base: Record<string, unknown> = {
    server_name: o.serverName,
    report_stats: false,
    pid_file: join(o.dir, "homeserver.pid"),
    listeners: [
      {
        port: o.federationPort,
        bind_addresses: [o.bindHost],
        type: "http",
        tls: true,
        x_forwarded: false,
        resources: [{ names: ["client", "federation"], compress: false }],
      },
      {
        port: o.clientPort,
        bind_addresses: [o.bindHost],
        type: "http",
        tls: false,
        x_forwarded: false,
        resources: [{ names: ["client"], compress: false }],
      },
    ],
    tls_certificate_path: o.certPath,
    tls_private_key_path: o.keyPath,
    signing_key_path: join(o.dir, "signing.key"),
    database: { name: "sqlite3", args: { database: join(o.dir, "homeserver.db") } },
    media_store_path: join(o.dir, "media_store"),
    federation_custom_ca_list: [o.caCertPath],
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    ip_range_blacklist: BLOCKLIST_WITHOUT_LOOPBACK,
    enable_registration: true,
    enable_registration_without_verification: true,
    registration_shared_secret: REGISTRATION_SECRET,
    bcrypt_rounds: 4,
    presence: { enabled: false },
    caches: { sync_response_cache_duration: 0 },
    federation: {
      client_timeout: "20s",
      max_short_retry_delay: "1s",
      max_long_retry_delay: "2s",
      max_long_retries: 3,
      destination_min_retry_interval: "2s",
      destination_max_retry_interval: "10s",
    },
    rc_message: open,
    rc_registration: open,
    rc_login: { address: open, account: open, failed_attempts: open },
    rc_joins: { local: open, remote: open },
    rc_joins_per_room: open,
    rc_invites: { per_room: open, per_user: open, per_issuer: open },
    rc_room_creation: open,
    rc_presence: { per_user: open },
    rc_federation: { window_size: 1000, sleep_limit: 10000, sleep_delay: 10, reject_limit: 100000, concurrent: 100 },
    federation_rr_transactions_per_room_per_second: 1000,
  };
  return { ...base, ...(o.extraConfig ?? {}) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts a Synapse and waits until it is healthy and serving TLS. Always pair with `stop()` in `after()`. */
export async function startSynapse(options: SynapseOptions): Promise<SynapseHandle> {
  const dir = resolve(options.dir);
  mkdirSync(join(dir, "media_store"), { recursive: true });
  const federationPort = options.ports?.federation ?? (await freePort(options.bindHost));
  const clientPort = options.ports?.client ?? (await freePort(options.bindHost));
  const serverName = options.serverName ?? `${options.bindHost}:${federationPort}`;
  const caPem = readFileSync(options.caCertPath, "utf8");

  const config = synapseConfig({
    serverName,
    bindHost: options.bindHost,
    federationPort,
    clientPort,
    dir,
    caCertPath: resolve(options.caCertPath),
    certPath: resolve(options.certPath),
    keyPath: resolve(options.keyPath),
    ...(options.extraConfig !== undefined ? { extraConfig: options.extraConfig } : {}),
  });
  const configPath = join(dir, "homeserver.yaml");
  writeFileSync(configPath, stringify(config));
  const signingKeyPath = String(config["signing_key_path"]);
  if (options.signingKey !== undefined) writeFileSync(signingKeyPath, options.signingKey.trim() + "\n");

  const python = synapsePython();
  const [command, args] = inMountNamespace([python, "-m", "synapse.app.homeserver", "-c", configPath], dir, options.namespace, "synapse");
  const logPath = join(dir, "synapse.log");
  const peer = spawnPeer({ command, args, cwd: dir, logPath, env: { ...withoutProxies(process.env), PYTHONUNBUFFERED: "1" } });
  const { stop } = peer;

  const clientUrl = `http://${options.bindHost}:${clientPort}`;
  const federationUrl = `https://${options.bindHost}:${federationPort}`;
  const budget = options.readyTimeoutMs ?? 120_000;
  const deadline = Date.now() + budget;
  try {
    for (;;) {
      const exited = peer.exited();
      if (exited) {
        throw new Error(
          `synapse exited during start-up (code ${exited.code}, signal ${exited.signal}); log tail:\n${peer.logTail(40)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`synapse not healthy after ${budget} ms; log tail:\n${peer.logTail(40)}`);
      }
      try {
        const r = await requestJson(`${clientUrl}/health`, { timeoutMs: 2000 });
        if (r.status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
  } catch (e) {
    await stop();
    throw e;
  }

  const { federation, client } = peerRequests({ clientUrl, federationUrl, serverName, caPem });

  let version: string;
  try {
    const v = await federation("GET", "/_matrix/federation/v1/version");
    const server = (v.json as { server?: { name?: unknown; version?: unknown } } | undefined)?.server;
    if (v.status !== 200 || typeof server?.version !== "string") {
      throw new Error(`unexpected /_matrix/federation/v1/version reply ${v.status}: ${v.text}`);
    }
    version = server.version;
  } catch (e) {
    await stop();
    throw new Error(`synapse is healthy but its TLS federation listener failed: ${String(e)}\n${peer.logTail(20)}`);
  }

  const registerUser: SynapseHandle["registerUser"] = async ({ username, password = "interop-pw", admin = false, via = "shared-secret" }) => {
    const r = via === "open"
      ? await client("POST", "/_matrix/client/v3/register", { body: { username, password, auth: { type: "m.login.dummy" } } })
      : await registerWithSharedSecret(client, REGISTRATION_SECRET, { username, password, admin });
    return asRegisteredUser(r, `registering ${username} (${via})`);
  };

  const login: SynapseHandle["login"] = (username, password = "interop-pw") => passwordLogin(client, username, password);

  let admin: Promise<RegisteredUser> | undefined;
  const resetFederationBackoff: SynapseHandle["resetFederationBackoff"] = async (destination) => {
    admin ??= registerUser({ username: "harness-admin", admin: true });
    const { accessToken } = await admin;
    const r = await client("POST", `/_synapse/admin/v1/federation/destinations/${encodeURIComponent(destination)}/reset_connection`, {
      token: accessToken,
      body: {},
    });
    return r.status;
  };

  return {
    serverName,
    bindHost: options.bindHost,
    federationPort,
    clientPort,
    federationUrl,
    clientUrl,
    dir,
    configPath,
    logPath,
    signingKeyPath,
    pid: peer.pid,
    version,
    registerUser,
    login,
    resetFederationBackoff,
    client,
    federation,
    logTail: peer.logTail,
    log: peer.log,
    stop,
  };
}
