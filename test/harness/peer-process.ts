/**
 * What the Synapse and Dendrite harnesses share about running a peer server for a test: the child process with its
 * output appended to a log file, killed if the test process exits first; an optional private mount namespace with
 * its own /etc/hosts and /etc/resolv.conf (so the machine's files are never edited); JSON requests to its two
 * listeners; the shared-secret registration Synapse defined and Dendrite implements; password login; the pinned
 * version and the install script that provides it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkServerIdentity as tlsCheckServerIdentity, type PeerCertificate } from "node:tls";

/** The repository root (this file compiles to dist/test/harness/peer-process.js). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "test", "interop"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("peer harness: cannot find the repository root (package.json beside test/interop)");
}

/** A peer's pinned version, from `test/interop/<file>` (a leading "v" dropped). */
export function pinnedVersion(file: string): string {
  return readFileSync(join(repoRoot(), "test", "interop", file), "utf8").trim().replace(/^v/, "");
}

/**
 * The peer's executable, looked up once: the path in the environment variable `override` when set, else the path on
 * the last line of `scripts/<script>`'s stdout (the script installs the peer, or finds it installed), which must exist.
 */
export function peerExecutable(o: {
  readonly override: string;
  readonly script: string;
  readonly who: string;
  readonly timeoutMs: number;
  readonly env: () => NodeJS.ProcessEnv;
}): () => string {
  let cached: string | undefined;
  return () => {
    if (cached !== undefined) return cached;
    const given = process.env[o.override];
    if (given) return (cached = given);
    const r = spawnSync("bash", [join(repoRoot(), "scripts", o.script)], { encoding: "utf8", timeout: o.timeoutMs, env: o.env() });
    const lines = (r.stdout ?? "").trim().split("\n");
    const last = lines[lines.length - 1] ?? "";
    if (r.status !== 0 || !existsSync(last)) {
      throw new Error(`${o.who} harness: scripts/${o.script} failed (status ${r.status}):\n${r.stderr ?? ""}`);
    }
    return (cached = last);
  };
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

/** Environment without http_proxy and friends: Synapse and Dendrite would route federation through them. */
export function withoutProxies(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (/^(https?|all|no|ftp)_proxy$/i.test(k)) continue;
    out[k] = v;
  }
  return out;
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


/** A request to a peer's plain-HTTP listener (JSON body in and out, optional access token). */
export type ClientRequest = (method: string, path: string, opts?: { readonly token?: string; readonly body?: unknown }) => Promise<HttpReply>;
/** A request to a peer's TLS listener, trusting only the given CA and checking the server name's host. */
export type FederationRequest = (
  method: string,
  path: string,
  opts?: { readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown },
) => Promise<HttpReply>;

/** The two request helpers of a peer handle. */
export function peerRequests(o: {
  readonly clientUrl: string;
  readonly federationUrl: string;
  readonly serverName: string;
  readonly caPem: string;
}): { client: ClientRequest; federation: FederationRequest } {
  // The name the certificate is checked against: the server name's host (a DNS name or the IP literal).
  const name = o.serverName;
  const tlsName = name.startsWith("[") ? name.slice(1, name.indexOf("]")) : name.replace(/:\d+$/, "");
  return {
    federation: (method, path, opts = {}) =>
      requestJson(`${o.federationUrl}${path}`, {
        method,
        ca: o.caPem,
        servername: tlsName,
        ...(opts.headers !== undefined ? { headers: opts.headers } : {}),
        ...(opts.body !== undefined ? { body: opts.body } : {}),
      }),
    client: (method, path, opts = {}) =>
      requestJson(`${o.clientUrl}${path}`, {
        method,
        ...(opts.token !== undefined ? { headers: { authorization: `Bearer ${opts.token}` } } : {}),
        ...(opts.body !== undefined ? { body: opts.body } : {}),
      }),
  };
}

/** What every peer harness takes (each adds its own options). */
export interface PeerOptions {
  /** A directory for this instance (created if missing): config, databases, signing key, the log. */
  readonly dir: string;
  /** The address both listeners bind (the Synapse interop range is 127.0.4.x, Dendrite's 127.0.8.x). */
  readonly bindHost: string;
  /** Defaults to the IP literal `<bindHost>:<federation port>` (no DNS needed). */
  readonly serverName?: string;
  /** Fixed ports; each omitted one is an ephemeral port free on bindHost. */
  readonly ports?: { readonly federation?: number; readonly client?: number };
  /** The CA the peer trusts for outbound federation, PEM file (how it is told differs per peer). */
  readonly caCertPath: string;
  /** The leaf certificate (then intermediates) and key the peer serves on its TLS federation listener. */
  readonly certPath: string;
  readonly keyPath: string;
  /**
   * Run the peer in a private mount namespace with these files bind-mounted (root only). `hosts` lines are appended
   * to a copy of the machine's /etc/hosts; `resolvConf` replaces /etc/resolv.conf (e.g. "nameserver 127.0.4.53").
   */
  readonly namespace?: MountNamespace;
  /** Readiness budget; 120 s by default (generous: a loaded 2-core machine starts Synapse in tens of seconds). */
  readonly readyTimeoutMs?: number;
}

/** What every peer handle offers. */
export interface PeerHandle {
  readonly serverName: string;
  readonly bindHost: string;
  readonly federationPort: number;
  readonly clientPort: number;
  /** `https://<bindHost>:<federation port>`: the TLS listener (federation, keys; client APIs too). */
  readonly federationUrl: string;
  /** `http://<bindHost>:<client port>`: plain HTTP, client and admin APIs (registration, health). */
  readonly clientUrl: string;
  readonly dir: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly signingKeyPath: string;
  readonly pid: number;
  /** `server.version` from `/_matrix/federation/v1/version`, fetched over TLS once ready. */
  readonly version: string;
  /** Registers a user: the shared-secret endpoint by default, or open registration with `via: "open"`. */
  registerUser(opts: {
    readonly username: string;
    readonly password?: string;
    readonly admin?: boolean;
    readonly via?: "shared-secret" | "open";
  }): Promise<RegisteredUser>;
  /** Password login (`m.login.password`), for a user registered earlier. */
  login(username: string, password?: string): Promise<RegisteredUser>;
  /** A request to the plain-HTTP listener (JSON body in and out). */
  client: ClientRequest;
  /** A request to the TLS listener, trusting the CA from the options and checking the server name's host. */
  federation: FederationRequest;
  /** The last `lines` lines of the peer's log. */
  logTail(lines?: number): string;
  /** The whole log so far. */
  log(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/** Files bind-mounted over the machine's for one peer: hosts lines appended to a copy of /etc/hosts, a resolv.conf. */
export interface MountNamespace {
  readonly hosts?: readonly string[];
  readonly resolvConf?: string;
}

/**
 * The command line for `argv`, or, with a namespace, the same under `unshare --mount --propagation private` with the
 * files written into `dir` and bind-mounted (root only). `unshare` execs sh, which execs the peer: the child PID stays
 * the peer's own, so signals reach it.
 */
export function inMountNamespace(argv: readonly string[], dir: string, ns: MountNamespace | undefined, who: string): [string, string[]] {
  if (!ns) return [argv[0]!, argv.slice(1)];
  if (process.getuid?.() !== 0) {
    throw new Error(`${who} harness: \`namespace\` needs root (unshare --mount and mount --bind); run the interop tests as root, as .ci/run does`);
  }
  const mounts: string[] = [];
  if (ns.hosts) {
    const hostsPath = join(dir, "hosts");
    const base = existsSync("/etc/hosts") ? readFileSync("/etc/hosts", "utf8") : "127.0.0.1 localhost\n";
    writeFileSync(hostsPath, `${base.trimEnd()}\n# ${who} harness\n${ns.hosts.join("\n")}\n`);
    mounts.push(`mount --bind '${hostsPath}' /etc/hosts`);
  }
  if (ns.resolvConf !== undefined) {
    const resolvPath = join(dir, "resolv.conf");
    writeFileSync(resolvPath, ns.resolvConf.trimEnd() + "\n");
    mounts.push(`mount --bind '${resolvPath}' /etc/resolv.conf`);
  }
  return ["unshare", ["--mount", "--propagation", "private", "sh", "-c", `${mounts.join(" && ")} && exec "$@"`, "sh", ...argv]];
}

export interface PeerProcess {
  readonly pid: number;
  /** How the child ended, once it has. */
  exited(): { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** The whole log so far. */
  log(): string;
  /** Its last `lines` lines. */
  logTail(lines?: number): string;
}

/** The last `lines` lines of a text. */
export function tail(text: string, lines: number): string {
  const all = text.split("\n");
  return all.slice(Math.max(0, all.length - lines - 1)).join("\n");
}

/** Peers still running: killed if the test process exits without stopping them (a crash or a cancelled run). */
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

/** Starts `command args` in `cwd`, stdout and stderr appended to `logPath`. */
export function spawnPeer(o: {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logPath: string;
}): PeerProcess {
  const logFd = openSync(o.logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(o.command, o.args, { cwd: o.cwd, stdio: ["ignore", logFd, logFd], env: o.env });
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
  const log = () => (existsSync(o.logPath) ? readFileSync(o.logPath, "utf8") : "");
  let stopped = false;
  return {
    pid: child.pid ?? -1,
    exited: () => exited,
    async stop() {
      if (stopped) return exitPromise;
      stopped = true;
      if (exited) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exitPromise;
      clearTimeout(killer);
    },
    log,
    logTail: (lines = 40) => tail(log(), lines),
  };
}

/**
 * Registers through `/_synapse/admin/v1/register`: a nonce, then the MAC Synapse defined (HMAC-SHA1 keyed with the
 * shared secret over nonce NUL username NUL password NUL admin|notadmin, synapse/rest/admin/users.py).
 */
export async function registerWithSharedSecret(
  client: ClientRequest,
  secret: string,
  u: { readonly username: string; readonly password: string; readonly admin: boolean },
): Promise<HttpReply> {
  const n = await client("GET", "/_synapse/admin/v1/register");
  const nonce = (n.json as { nonce?: unknown } | undefined)?.nonce;
  if (n.status !== 200 || typeof nonce !== "string") throw new Error(`no registration nonce: ${n.status} ${n.text}`);
  const mac = createHmac("sha1", secret)
    .update([nonce, u.username, u.password, u.admin ? "admin" : "notadmin"].join("\0"))
    .digest("hex");
  return client("POST", "/_synapse/admin/v1/register", { body: { nonce, username: u.username, password: u.password, admin: u.admin, mac } });
}

/** The user in a register or login reply; throws with the reply when it is not a 200 with a user and a token. */
export function asRegisteredUser(r: HttpReply, what: string): RegisteredUser {
  const body = r.json as { user_id?: unknown; access_token?: unknown; device_id?: unknown } | undefined;
  if (r.status !== 200 || typeof body?.user_id !== "string" || typeof body.access_token !== "string") {
    throw new Error(`${what} failed: ${r.status} ${r.text}`);
  }
  return { userId: body.user_id, accessToken: body.access_token, deviceId: String(body.device_id ?? "") };
}

/** A password login (`m.login.password` with an `m.id.user` identifier). */
export async function passwordLogin(client: ClientRequest, username: string, password: string): Promise<RegisteredUser> {
  const r = await client("POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: username }, password },
  });
  return asRegisteredUser(r, `login of ${username}`);
}
