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
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkServerIdentity as tlsCheckServerIdentity, type PeerCertificate } from "node:tls";
import { stringify } from "yaml";
import { freePort } from "./ports.js";
import { DEFAULT_IP_RANGE_BLACKLIST } from "../../src/federation/discovery/ip-ranges.js";

/** The repository root (this file compiles to dist/test/harness/synapse.js). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "scripts", "install-synapse.sh"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("synapse harness: cannot find the repository root (scripts/install-synapse.sh)");
}

/** The pinned version from test/interop/SYNAPSE_VERSION. */
export function pinnedSynapseVersion(): string {
  return readFileSync(join(repoRoot(), "test", "interop", "SYNAPSE_VERSION"), "utf8").trim();
}

let cachedPython: string | undefined;
/**
 * The venv python that runs the pinned Synapse. `ZION_SYNAPSE_PYTHON` overrides; otherwise
 * scripts/install-synapse.sh is run (it reuses an existing venv and prints the python path on its last line).
 */
export function synapsePython(): string {
  if (cachedPython !== undefined) return cachedPython;
  const override = process.env["ZION_SYNAPSE_PYTHON"];
  if (override) return (cachedPython = override);
  const r = spawnSync("bash", [join(repoRoot(), "scripts", "install-synapse.sh")], {
    encoding: "utf8",
    timeout: 600_000,
    env: withoutProxies(process.env),
  });
  const lines = (r.stdout ?? "").trim().split("\n");
  const last = lines[lines.length - 1] ?? "";
  if (r.status !== 0 || !existsSync(last)) {
    throw new Error(`synapse harness: scripts/install-synapse.sh failed (status ${r.status}):\n${r.stderr ?? ""}`);
  }
  return (cachedPython = last);
}

/** Environment without http_proxy and friends: Synapse would route federation through them (SYNAPSE.md §3). */
export function withoutProxies(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (/^(https?|all|no|ftp)_proxy$/i.test(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Synapse needs fixed ports in its config; interop tests import freePort from here too. */
export { freePort };

export interface SynapseOptions {
  /** A directory for this instance (created if missing): yaml, db, signing key, media, synapse.log. */
  readonly dir: string;
  /** The address both listeners bind, e.g. "127.0.4.1" (the Synapse interop range is 127.0.4.x). */
  readonly bindHost: string;
  /** Defaults to the IP literal `<bindHost>:<federation port>` (no DNS needed). */
  readonly serverName?: string;
  /** Fixed ports; each omitted one is an ephemeral port free on bindHost. */
  readonly ports?: { readonly federation?: number; readonly client?: number };
  /** The CA Synapse trusts for outbound federation (`federation_custom_ca_list`), PEM file. */
  readonly caCertPath: string;
  /** The leaf certificate (then intermediates) and key Synapse serves on its TLS federation listener. */
  readonly certPath: string;
  readonly keyPath: string;
  /** Top-level keys replacing the generated ones (like a second `-c` file). */
  readonly extraConfig?: Readonly<Record<string, unknown>>;
  /** A signing key file's text (`ed25519 <version> <seed>`); when absent Synapse generates one at start-up. */
  readonly signingKey?: string;
  /**
   * Run Synapse in a private mount namespace with these files bind-mounted (root only). `hosts` lines are appended
   * to a copy of the machine's /etc/hosts; `resolvConf` replaces /etc/resolv.conf (e.g. "nameserver 127.0.4.53").
   */
  readonly namespace?: { readonly hosts?: readonly string[]; readonly resolvConf?: string };
  /** Readiness budget; 120 s by default (generous: a loaded 2-core machine starts Synapse in tens of seconds). */
  readonly readyTimeoutMs?: number;
}

export interface RegisteredUser {
  readonly userId: string;
  readonly accessToken: string;
  readonly deviceId: string;
}

export interface HttpReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** The parsed body, or undefined when it is not JSON. */
  readonly json: unknown;
}

export interface SynapseHandle {
  readonly serverName: string;
  readonly bindHost: string;
  readonly federationPort: number;
  readonly clientPort: number;
  /** `https://<bindHost>:<federation port>`: TLS, client + federation + keys resources. */
  readonly federationUrl: string;
  /** `http://<bindHost>:<client port>`: plain HTTP, client + admin resources (registration, /health). */
  readonly clientUrl: string;
  readonly dir: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly signingKeyPath: string;
  readonly pid: number;
  /** `server.version` from `/_matrix/federation/v1/version`, fetched over TLS once ready. */
  readonly version: string;
  /** Registers a user: shared-secret admin API by default, or open registration with `via: "open"`. */
  registerUser(opts: {
    readonly username: string;
    readonly password?: string;
    readonly admin?: boolean;
    readonly via?: "shared-secret" | "open";
  }): Promise<RegisteredUser>;
  /** Password login (`m.login.password`), for a user registered earlier. */
  login(username: string, password?: string): Promise<RegisteredUser>;
  /**
   * Clears Synapse's back-off for a destination (admin API `reset_connection`, with an admin registered on first
   * use). Resolves to the HTTP status: 200 reset, 400 nothing to reset, 404 a destination Synapse never contacted.
   */
  resetFederationBackoff(destination: string): Promise<number>;
  /** A request to the plain-HTTP client listener (JSON body in and out). */
  client(method: string, path: string, opts?: { readonly token?: string; readonly body?: unknown }): Promise<HttpReply>;
  /** A request to the TLS federation listener, trusting the CA from the options. */
  federation(
    method: string,
    path: string,
    opts?: { readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown },
  ): Promise<HttpReply>;
  /** The last `lines` lines of synapse.log. */
  logTail(lines?: number): string;
  /** The whole of synapse.log so far. */
  log(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
}

const REGISTRATION_SECRET = "interop-secret";

/** Synapses still running: killed if the test process exits without stopping them (a crash or a cancelled run). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of running) c.kill("SIGKILL");
    });
  }
}

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

function tail(text: string, lines: number): string {
  const all = text.split("\n");
  return all.slice(Math.max(0, all.length - lines - 1)).join("\n");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One HTTP(S) request with a JSON body; never rejects on HTTP status, only on transport errors. */
export function requestJson(
  url: string,
  opts: {
    readonly method?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: unknown;
    /** PEM text of the CA to trust (https only). */
    readonly ca?: string;
    /** TLS server name to send and check, when it differs from the URL's host. */
    readonly servername?: string;
    /** Connect here instead of the URL's host (the URL's host still goes into Host and TLS checks). */
    readonly connectHost?: string;
    readonly timeoutMs?: number;
  } = {},
): Promise<HttpReply> {
  const u = new URL(url);
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (payload) {
    headers["content-type"] ??= "application/json";
    headers["content-length"] = String(payload.length);
  }
  const isHttps = u.protocol === "https:";
  const host = u.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolveReply, reject) => {
    const common = {
      method: opts.method ?? "GET",
      host: opts.connectHost ?? host,
      port: u.port || (isHttps ? 443 : 80),
      path: u.pathname + u.search,
      headers: { host: u.host, ...headers },
      timeout: opts.timeoutMs ?? 30_000,
      agent: false as const,
    };
    const onResponse = (res: import("node:http").IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolveReply({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on("error", reject);
    };
    const req = isHttps
      ? httpsRequest(
          {
            ...common,
            ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
            servername: isIpLiteral(opts.servername ?? host) ? "" : (opts.servername ?? host),
            checkServerIdentity: (_h: string, cert: PeerCertificate) =>
              // Check against the URL's host (or the explicit servername), not the address we connected to.
              checkIdentity(opts.servername ?? host, cert),
          },
          onResponse,
        )
      : httpRequest(common, onResponse);
    req.on("timeout", () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 30_000} ms: ${url}`)));
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

function checkIdentity(name: string, cert: PeerCertificate): Error | undefined {
  return tlsCheckServerIdentity(name, cert);
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
  const synapseArgv = [python, "-m", "synapse.app.homeserver", "-c", configPath];
  let command: string;
  let args: string[];
  if (options.namespace) {
    if (process.getuid?.() !== 0) {
      throw new Error("synapse harness: `namespace` needs root (unshare --mount and mount --bind); run the interop tests as root, as .ci/run does");
    }
    // `unshare` execs sh, which execs python: the child PID stays the Synapse PID, so signals reach Synapse.
    const mounts: string[] = [];
    if (options.namespace.hosts) {
      const hostsPath = join(dir, "hosts");
      const base = existsSync("/etc/hosts") ? readFileSync("/etc/hosts", "utf8") : "127.0.0.1 localhost\n";
      writeFileSync(hostsPath, `${base.trimEnd()}\n# synapse harness\n${options.namespace.hosts.join("\n")}\n`);
      mounts.push(`mount --bind '${hostsPath}' /etc/hosts`);
    }
    if (options.namespace.resolvConf !== undefined) {
      const resolvPath = join(dir, "resolv.conf");
      writeFileSync(resolvPath, options.namespace.resolvConf.trimEnd() + "\n");
      mounts.push(`mount --bind '${resolvPath}' /etc/resolv.conf`);
    }
    command = "unshare";
    args = ["--mount", "--propagation", "private", "sh", "-c", `${mounts.join(" && ")} && exec "$@"`, "sh", ...synapseArgv];
  } else {
    command = synapseArgv[0]!;
    args = synapseArgv.slice(1);
  }

  const logPath = join(dir, "synapse.log");
  const logFd = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: dir,
      stdio: ["ignore", logFd, logFd],
      env: { ...withoutProxies(process.env), PYTHONUNBUFFERED: "1" },
    });
  } finally {
    closeSync(logFd);
  }
  track(child);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((r) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      r();
    });
  });
  child.once("error", () => {
    exited ??= { code: -1, signal: null };
  });

  const readLog = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return exitPromise;
    stopped = true;
    if (exited) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exitPromise;
    clearTimeout(killer);
  };

  const clientUrl = `http://${options.bindHost}:${clientPort}`;
  const federationUrl = `https://${options.bindHost}:${federationPort}`;
  const budget = options.readyTimeoutMs ?? 120_000;
  const deadline = Date.now() + budget;
  try {
    for (;;) {
      if (exited) {
        throw new Error(
          `synapse exited during start-up (code ${exited.code}, signal ${exited.signal}); log tail:\n${tail(readLog(), 40)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`synapse not healthy after ${budget} ms; log tail:\n${tail(readLog(), 40)}`);
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

  // The name the certificate is checked against: the server name's host (a DNS name or the IP literal).
  const tlsName = serverName.startsWith("[") ? serverName.slice(1, serverName.indexOf("]")) : serverName.replace(/:\d+$/, "");
  const federation: SynapseHandle["federation"] = (method, path, opts = {}) =>
    requestJson(`${federationUrl}${path}`, {
      method,
      ca: caPem,
      servername: tlsName,
      ...(opts.headers !== undefined ? { headers: opts.headers } : {}),
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });
  const client: SynapseHandle["client"] = (method, path, opts = {}) =>
    requestJson(`${clientUrl}${path}`, {
      method,
      ...(opts.token !== undefined ? { headers: { authorization: `Bearer ${opts.token}` } } : {}),
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });

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
    throw new Error(`synapse is healthy but its TLS federation listener failed: ${String(e)}\n${tail(readLog(), 20)}`);
  }

  const registerUser: SynapseHandle["registerUser"] = async ({ username, password = "interop-pw", admin = false, via = "shared-secret" }) => {
    let r: HttpReply;
    if (via === "open") {
      r = await client("POST", "/_matrix/client/v3/register", {
        body: { username, password, auth: { type: "m.login.dummy" } },
      });
    } else {
      const n = await client("GET", "/_synapse/admin/v1/register");
      const nonce = (n.json as { nonce?: unknown } | undefined)?.nonce;
      if (n.status !== 200 || typeof nonce !== "string") throw new Error(`no registration nonce: ${n.status} ${n.text}`);
      // HMAC-SHA1 over nonce NUL username NUL password NUL admin|notadmin (synapse/rest/admin/users.py).
      const mac = createHmac("sha1", REGISTRATION_SECRET)
        .update(`${nonce}\0${username}\0${password}\0${admin ? "admin" : "notadmin"}`)
        .digest("hex");
      r = await client("POST", "/_synapse/admin/v1/register", { body: { nonce, username, password, admin, mac } });
    }
    const body = r.json as { user_id?: unknown; access_token?: unknown; device_id?: unknown } | undefined;
    if (r.status !== 200 || typeof body?.user_id !== "string" || typeof body.access_token !== "string") {
      throw new Error(`registering ${username} (${via}) failed: ${r.status} ${r.text}`);
    }
    return { userId: body.user_id, accessToken: body.access_token, deviceId: String(body.device_id ?? "") };
  };

  const login: SynapseHandle["login"] = async (username, password = "interop-pw") => {
    const r = await client("POST", "/_matrix/client/v3/login", {
      body: { type: "m.login.password", identifier: { type: "m.id.user", user: username }, password },
    });
    const body = r.json as { user_id?: unknown; access_token?: unknown; device_id?: unknown } | undefined;
    if (r.status !== 200 || typeof body?.user_id !== "string" || typeof body.access_token !== "string") {
      throw new Error(`login of ${username} failed: ${r.status} ${r.text}`);
    }
    return { userId: body.user_id, accessToken: body.access_token, deviceId: String(body.device_id ?? "") };
  };

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
    pid: child.pid ?? -1,
    version,
    registerUser,
    login,
    resetFederationBackoff,
    client,
    federation,
    logTail: (lines = 40) => tail(readLog(), lines),
    log: readLog,
    stop,
  };
}
