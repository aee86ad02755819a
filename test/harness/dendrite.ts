/**
 * A real Dendrite as a throwaway federation peer for tests (issue 15), the second peer beside Synapse.
 *
 * `startDendrite(options)` asks the pinned Dendrite's own `generate-config` for its defaults (every key, as that
 * version writes them), lays the test settings over them (`dendriteOverrides(...)`: SQLite files and the JetStream
 * store in a fresh directory, loopback only, nothing phoning home, rate limiting off, the shared secret set), makes
 * a signing key with `generate-keys` unless one is given, and starts the monolith with a plain-HTTP listener (client
 * API, admin, health) and a TLS listener (federation, keys) on one 127.0.8.x address. Dendrite has no setting for a
 * federation CA: Go's TLS client trusts the system roots, which `SSL_CERT_FILE` (the test CA alone) and
 * `SSL_CERT_DIR` (an empty directory) replace for this process only, so certificates stay verified. It waits for
 * `/_dendrite/monitor/health` and a TLS `/_matrix/federation/v1/version` (120 s budget, failing at once with the log
 * tail if the child exits), and returns a handle like the Synapse one: URLs, server name, version, signing key,
 * `registerUser(...)` through the shared-secret endpoint Dendrite implements (`/_synapse/admin/v1/register`),
 * `login`, request helpers and `stop()`. docs/dendrite-peer.md tells the reasons behind each setting.
 *
 * The binaries come from scripts/install-dendrite.sh (`go install` from the Go module proxy into a cache directory
 * outside the repository); `ZION_DENDRITE_BIN` points the harness at another `dendrite` binary (its `generate-config`
 * and `generate-keys` beside it).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { parse, stringify } from "yaml";
import {
  asRegisteredUser, inMountNamespace, passwordLogin, peerExecutable, peerRequests, pinnedVersion, registerWithSharedSecret,
  requestJson, spawnPeer, withoutProxies, type HttpReply, type PeerHandle, type PeerOptions, type RegisteredUser,
} from "./peer-process.js";
import { freePort } from "./ports.js";

export type { HttpReply, RegisteredUser };

/** The pinned version from test/interop/DENDRITE_VERSION (without a leading "v"). */
export function pinnedDendriteVersion(): string {
  return pinnedVersion("DENDRITE_VERSION");
}

/**
 * The `dendrite` binary of the pinned version. `ZION_DENDRITE_BIN` overrides; otherwise scripts/install-dendrite.sh
 * runs (instant when the cached binaries are of the pinned version, minutes for a first build) and prints the path
 * on its last line.
 */
export const dendriteBinary = peerExecutable({
  override: "ZION_DENDRITE_BIN", script: "install-dendrite.sh", who: "dendrite", timeoutMs: 1_200_000,
  env: () => process.env,
});

/** One of the tools installed beside the dendrite binary. */
function tool(name: "generate-config" | "generate-keys"): string {
  return join(dirname(dendriteBinary()), name);
}

export interface DendriteOptions extends PeerOptions {
  /** The only CA Dendrite trusts for outbound TLS (through SSL_CERT_FILE), PEM file. */
  readonly caCertPath: string;
  /** Keys laid over the generated sections, one level down: `{ federation_api: { send_max_retries: 3 } }`. */
  readonly extraConfig?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** A signing key to use (`version` without "ed25519:", 32-byte seed); when absent `generate-keys` makes one. */
  readonly signingKey?: { readonly version: string; readonly seed: Uint8Array };
  /** Lets `registerUser({ via: "open" })` work: registration open, `-really-enable-open-registration` passed. */
  readonly openRegistration?: boolean;
  /**
   * A PostgreSQL connection string (`postgres://user@host:port/db?sslmode=disable`) that every component uses
   * instead of its SQLite file (their tables do not collide); `sql()` then has no files to read.
   */
  readonly postgres?: string;
}

export interface DendriteHandle extends PeerHandle {
  /** Dendrite's signing key as read back from its PEM file: key ID and seed (tests sign as Dendrite with it). */
  readonly signingKey: { readonly keyId: string; readonly version: string; readonly seed: Uint8Array };
  /**
   * Rows of a read-only query on one of Dendrite's SQLite files (`dendrite_<component>.db`), e.g.
   * `sql("federationapi", "SELECT server_key_id FROM keydb_server_keys WHERE server_name = ?", name)`.
   */
  sql(component: DendriteDatabase, query: string, ...params: readonly unknown[]): Record<string, unknown>[];
}

const REGISTRATION_SECRET = "interop-secret";

/** The SQLite files of a monolith, one per component (the harness names them `dendrite_<component>.db`). */
export type DendriteDatabase =
  | "federationapi" | "keyserver" | "mediaapi" | "roomserver" | "syncapi" | "userapi" | "relayapi" | "mscs";

/** The config sections the harness changes, exported for docs and tests. Each is laid over the generated section. */
export function dendriteOverrides(o: {
  serverName: string;
  dir: string;
  signingKeyPath: string;
  openRegistration: boolean;
  postgres?: string;
}): Record<string, unknown> {
  const db = (name: string) => o.postgres
    ? { connection_string: o.postgres, max_open_conns: 10, max_idle_conns: 2, conn_max_lifetime: -1 }
    : { connection_string: `file:${join(o.dir, `dendrite_${name}.db`)}` };
  return {
    global: {
      server_name: o.serverName,
      private_key: o.signingKeyPath,
      // Nothing leaves loopback: no stats, no identity servers, no server-notices room, no metrics, no Sentry.
      report_stats: { enabled: false, endpoint: "" },
      trusted_third_party_id_servers: [],
      server_notices: { enabled: false, local_part: "_server", display_name: "Server Alert", avatar_url: "", room_name: "Server Alert" },
      metrics: { enabled: false },
      sentry: { enabled: false, dsn: "", environment: "" },
      dns_cache: { enabled: false },
      presence: { enable_inbound: false, enable_outbound: false },
      // In-process NATS (no addresses: Dendrite starts it without a listening socket), its store in the directory.
      jetstream: { storage_path: o.dir, addresses: [], in_memory: false, topic_prefix: "Dendrite" },
      cache: { max_size_estimated: "64mb", max_age: "1h" },
    },
    client_api: {
      registration_disabled: !o.openRegistration,
      registration_shared_secret: REGISTRATION_SECRET,
      guests_disabled: true,
      enable_registration_captcha: false,
      turn: { turn_user_lifetime: "", turn_uris: [], turn_shared_secret: "", turn_username: "", turn_password: "" },
      rate_limiting: { enabled: false, threshold: 5, cooloff_ms: 500, exempt_user_ids: [] },
    },
    federation_api: {
      database: db("federationapi"),
      // No notary: keys come from each origin, so every check really talks to Zion (the default asks matrix.org).
      key_perspectives: [],
      prefer_direct_fetch: true,
      // Certificates are verified (against the test CA, see SSL_CERT_FILE in startDendrite).
      disable_tls_validation: false,
      send_max_retries: 16,
    },
    app_service_api: { config_files: [], disable_tls_validation: false },
    key_server: { database: db("keyserver") },
    media_api: { database: db("mediaapi"), base_path: join(o.dir, "media"), dynamic_thumbnails: false },
    room_server: { database: db("roomserver") },
    sync_api: { database: db("syncapi"), search: { enabled: false, index_path: join(o.dir, "searchindex"), in_memory: false, language: "en" } },
    user_api: { account_database: db("userapi"), bcrypt_cost: 4, auto_join_rooms: [] },
    relay_api: { database: db("relayapi") },
    mscs: { mscs: [], database: db("mscs") },
    tracing: { enabled: false },
    // Dendrite's "std" hook writes to stderr, which the harness appends to dendrite.log.
    logging: [{ type: "std", level: "info" }],
  };
}

/** The generated config with the harness's sections and then `extra` laid over it, one level down. */
export function dendriteConfig(
  generated: Readonly<Record<string, unknown>>,
  overrides: Readonly<Record<string, unknown>>,
  extra: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...generated };
  for (const layer of [overrides, extra]) {
    for (const [section, value] of Object.entries(layer)) {
      const base = out[section];
      const mergeable = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
      out[section] = mergeable(base) && mergeable(value) ? { ...(base as object), ...(value as object) } : value;
    }
  }
  return out;
}

/** Dendrite's key file: a "MATRIX PRIVATE KEY" PEM block with a Key-ID header and the seed as its body. */
export function dendriteKeyPem(version: string, seed: Uint8Array): string {
  if (seed.length !== 32) throw new Error(`dendrite harness: an ed25519 seed is 32 bytes, got ${seed.length}`);
  return `-----BEGIN MATRIX PRIVATE KEY-----\nKey-ID: ed25519:${version}\n\n${Buffer.from(seed).toString("base64")}\n-----END MATRIX PRIVATE KEY-----\n`;
}

/** Reads back the key ID and seed of a Dendrite key file. */
export function parseDendriteKeyPem(pem: string): { keyId: string; version: string; seed: Uint8Array } {
  const m = /-----BEGIN MATRIX PRIVATE KEY-----\r?\n((?:[^\n]*:[^\n]*\r?\n)*)\r?\n([A-Za-z0-9+/=\s]+?)-----END MATRIX PRIVATE KEY-----/.exec(pem);
  if (!m) throw new Error("dendrite harness: no MATRIX PRIVATE KEY block in the key file");
  const keyId = /^Key-ID:\s*(\S+)\s*$/m.exec(m[1]!)?.[1];
  if (!keyId?.startsWith("ed25519:")) throw new Error("dendrite harness: the key file has no ed25519 Key-ID header");
  const seed = new Uint8Array(Buffer.from(m[2]!.replace(/\s+/g, ""), "base64"));
  if (seed.length !== 32) throw new Error(`dendrite harness: the key file's seed is ${seed.length} bytes, not 32`);
  return { keyId, version: keyId.slice("ed25519:".length), seed };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts a Dendrite and waits until it is healthy and serving TLS. Always pair with `stop()` in `after()`. */
export async function startDendrite(options: DendriteOptions): Promise<DendriteHandle> {
  const dir = resolve(options.dir);
  const noSystemCas = join(dir, "no-system-cas");
  mkdirSync(noSystemCas, { recursive: true });
  const federationPort = options.ports?.federation ?? (await freePort(options.bindHost));
  const clientPort = options.ports?.client ?? (await freePort(options.bindHost));
  const serverName = options.serverName ?? `${options.bindHost}:${federationPort}`;
  const caPem = readFileSync(options.caCertPath, "utf8");
  const binary = dendriteBinary();

  const signingKeyPath = join(dir, "matrix_key.pem");
  if (options.signingKey) {
    writeFileSync(signingKeyPath, dendriteKeyPem(options.signingKey.version, options.signingKey.seed));
  } else if (!existsSync(signingKeyPath)) {
    const k = spawnSync(tool("generate-keys"), ["--private-key", signingKeyPath], { encoding: "utf8", timeout: 60_000 });
    if (k.status !== 0) throw new Error(`dendrite harness: generate-keys failed: ${k.stderr}`);
  }
  const signingKey = parseDendriteKeyPem(readFileSync(signingKeyPath, "utf8"));

  const gen = spawnSync(tool("generate-config"), ["-dir", dir, "-server", serverName], { encoding: "utf8", timeout: 60_000 });
  if (gen.status !== 0) throw new Error(`dendrite harness: generate-config failed: ${gen.stderr}`);
  const config = dendriteConfig(
    parse(gen.stdout) as Record<string, unknown>,
    dendriteOverrides({ serverName, dir, signingKeyPath, openRegistration: options.openRegistration ?? false, ...(options.postgres ? { postgres: options.postgres } : {}) }),
    options.extraConfig ?? {},
  );
  const configPath = join(dir, "dendrite.yaml");
  writeFileSync(configPath, stringify(config));

  const argv = [
    binary,
    "-config", configPath,
    "-http-bind-address", `${options.bindHost}:${clientPort}`,
    "-https-bind-address", `${options.bindHost}:${federationPort}`,
    "-tls-cert", resolve(options.certPath),
    "-tls-key", resolve(options.keyPath),
    ...(options.openRegistration ? ["-really-enable-open-registration"] : []),
  ];
  const [command, args] = inMountNamespace(argv, dir, options.namespace, "dendrite");
  const logPath = join(dir, "dendrite.log");
  const peer = spawnPeer({
    command, args, cwd: dir, logPath,
    // Proxies removed (Go's federation transport honours them), no pprof listener (PPROFLISTEN would open one on
    // any address); the test CA is the only trust anchor.
    env: { ...withoutProxies(process.env), PPROFLISTEN: "", SSL_CERT_FILE: resolve(options.caCertPath), SSL_CERT_DIR: noSystemCas },
  });

  const clientUrl = `http://${options.bindHost}:${clientPort}`;
  const federationUrl = `https://${options.bindHost}:${federationPort}`;
  const { federation, client } = peerRequests({ clientUrl, federationUrl, serverName, caPem });

  // Ready: health 200 on the HTTP listener, then the version over TLS (the two listeners start independently).
  const budget = options.readyTimeoutMs ?? 120_000;
  const deadline = Date.now() + budget;
  let version: string | undefined;
  let lastError = "";
  try {
    while (version === undefined) {
      const exited = peer.exited();
      if (exited) {
        throw new Error(`dendrite exited during start-up (code ${exited.code}, signal ${exited.signal}); log tail:\n${peer.logTail(40)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`dendrite not ready after ${budget} ms (${lastError}); log tail:\n${peer.logTail(40)}`);
      }
      try {
        const h = await requestJson(`${clientUrl}/_dendrite/monitor/health`, { timeoutMs: 2000 });
        if (h.status !== 200) {
          lastError = `health ${h.status} ${h.text}`;
        } else {
          const v = await federation("GET", "/_matrix/federation/v1/version");
          const server = (v.json as { server?: { version?: unknown } } | undefined)?.server;
          if (v.status === 200 && typeof server?.version === "string") version = server.version;
          else lastError = `version ${v.status} ${v.text}`;
        }
      } catch (e) {
        lastError = String(e); // not listening yet
      }
      if (version === undefined) await sleep(250);
    }
  } catch (e) {
    await peer.stop();
    throw e;
  }

  const registerUser: DendriteHandle["registerUser"] = async ({ username, password = "interop-pw", admin = false, via = "shared-secret" }) => {
    if (via === "open") {
      // User-interactive auth: the first call returns a session, the second completes m.login.dummy in it.
      const first = await client("POST", "/_matrix/client/v3/register", { body: { username, password } });
      const session = (first.json as { session?: unknown } | undefined)?.session;
      if (first.status !== 401 || typeof session !== "string") return asRegisteredUser(first, `registering ${username} (open)`);
      const r = await client("POST", "/_matrix/client/v3/register", {
        body: { username, password, auth: { type: "m.login.dummy", session } },
      });
      return asRegisteredUser(r, `registering ${username} (open)`);
    }
    const r = await registerWithSharedSecret(client, REGISTRATION_SECRET, { username, password, admin });
    return asRegisteredUser(r, `registering ${username} (shared secret)`);
  };

  const login: DendriteHandle["login"] = (username, password = "interop-pw") => passwordLogin(client, username, password);

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
    signingKey,
    pid: peer.pid,
    version,
    registerUser,
    login,
    client,
    federation,
    sql: (component, query, ...params) => {
      const db = new Database(join(dir, `dendrite_${component}.db`), { readonly: true, fileMustExist: true });
      try {
        return db.prepare(query).all(...params) as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
    logTail: peer.logTail,
    log: peer.log,
    stop: peer.stop,
  };
}
