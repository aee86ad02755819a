/**
 * The homeservers the federation benchmark measures, behind one interface: start, the client-API base URL, the
 * federation server name, registering a local user, the root of the process tree (for CPU seconds and RSS from
 * /proc), the version, and stop. Each implementation reuses the test harnesses (test/harness/server.ts for Zion,
 * synapse.ts and dendrite.ts for the pinned peers), so the benchmark runs exactly what the interop tests run.
 *
 * Every target is named by its IP literal (`<ip>` with the federation listener on 8448) and trusts the test CA; the
 * simulated remotes are IP literals too, so no target resolves a name: the DNS step of discovery is outside the
 * measurement for all three alike. All three keep their data in SQLite in a fresh folder, or, with `postgres` in the
 * setup (the benchmark's `--postgres` runs), in a fresh database of one private PostgreSQL (test/harness/postgres.ts).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startDendrite, type DendriteHandle } from "../../test/harness/dendrite.js";
import { requestJson } from "../../test/harness/peer-process.js";
import { freePort } from "../../test/harness/ports.js";
import type { TestDatabase } from "../../test/harness/postgres.js";
import { startTestServer, type TestServer } from "../../test/harness/server.js";
import { startSynapse, type SynapseHandle } from "../../test/harness/synapse.js";
import type { TestCa } from "../../test/harness/test-ca.js";

export type TargetName = "zion" | "synapse" | "dendrite";
export const TARGET_NAMES: readonly TargetName[] = ["zion", "synapse", "dendrite"];
export type DatabaseKind = "sqlite" | "postgres";

export interface LocalUser {
  readonly userId: string;
  readonly token: string;
}

export interface Target {
  readonly name: TargetName;
  /** What the target says of itself at /_matrix/federation/v1/version once started. */
  readonly version: string;
  /** http://<ip>:<port>, the plain client API. */
  readonly clientUrl: string;
  /** The federation server name (the IP literal the target's TLS listener serves on 8448). */
  readonly serverName: string;
  /** The pid at the root of the target's process tree. */
  readonly pid: number;
  registerUser(localpart: string): Promise<LocalUser>;
  stop(): Promise<void>;
}

export interface TargetSetup {
  readonly ca: TestCa;
  /** The address the target binds (both listeners). */
  readonly ip: string;
  /** The CIDR the target may send federation traffic to (the benchmark's /24). */
  readonly allowRange: string;
  /** A folder for the target's data (created). */
  readonly dir: string;
  /** Zion only: write a V8 CPU profile (`--cpu-prof`) into this folder when the process exits. */
  readonly cpuProfileDir?: string;
  /** An empty PostgreSQL database for the target's data instead of SQLite in `dir`. */
  readonly postgres?: TestDatabase;
}

const ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");

/** The `database.args` of a Synapse-style homeserver.yaml (Zion's and Synapse's) for a test database. */
const psycopg2Args = (pg: TestDatabase) => ({ host: pg.host, port: pg.port, user: pg.user, ...(pg.password ? { password: pg.password } : {}), database: pg.database });

const PASSWORD = "bench password 1";

async function registerOpen(clientUrl: string, localpart: string): Promise<LocalUser> {
  const r = await fetch(`${clientUrl}/_matrix/client/v3/register`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: localpart, password: PASSWORD, auth: { type: "m.login.dummy" } }),
  });
  const body = (await r.json()) as { user_id?: string; access_token?: string };
  if (!r.ok || !body.user_id || !body.access_token) throw new Error(`registering ${localpart}: ${r.status} ${JSON.stringify(body)}`);
  return { userId: body.user_id, token: body.access_token };
}

/** Zion as a child process (`zion start -c`), rate limits out of the benchmark's way as the peers' harnesses do. */
export async function startZionTarget(s: TargetSetup): Promise<Target> {
  const generous = { per_second: 1_000_000, burst_count: 1_000_000 };
  const leaf = await s.ca.issue({ ip: [s.ip], name: "zion-target" });
  const zion: TestServer = await startTestServer({
    serverName: s.ip,
    mode: "child",
    dir: s.dir,
    tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
    timeoutMs: 60_000,
    ...(s.cpuProfileDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${s.cpuProfileDir}`] } : {}),
    config: {
      listeners: [
        { port: await freePort(s.ip), bind_addresses: [s.ip], type: "http", tls: false, resources: [{ names: ["client"] }] },
        { port: 8448, bind_addresses: [s.ip], type: "http", tls: true, resources: [{ names: ["federation", "keys"] }] },
      ],
      ip_range_whitelist: [s.allowRange], federation_custom_ca_list: [s.ca.caCertPath], trusted_key_servers: [],
      enable_registration: true, enable_registration_without_verification: true,
      rc_login: { address: generous, account: generous, failed_attempts: generous },
      rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous },
      // As the Synapse target's (test/harness/synapse.ts): without it the ingest's 11th transaction in a second from
      // the room host waited rc_federation's sleep_delay (500 ms), which Synapse's and Dendrite's runs never do.
      rc_federation: { window_size: 1000, sleep_limit: 10000, sleep_delay: 10, reject_limit: 100000, concurrent: 100 },
      presence: { enabled: false },
      ...(s.postgres ? { database: { name: "psycopg2", args: { ...psycopg2Args(s.postgres), cp_max: 10 } } } : {}),
    },
  });
  const clientUrl = zion.clientUrl!;
  const v = await requestJson(`https://${s.ip}:8448/_matrix/federation/v1/version`, { ca: s.ca.caCertPem });
  const server = (v.json as { server?: { name?: string; version?: string } } | undefined)?.server;
  return {
    name: "zion", version: `${server?.name ?? "zion"} ${server?.version ?? "?"}`, clientUrl, serverName: s.ip, pid: zion.child!.pid!,
    registerUser: (localpart) => registerOpen(clientUrl, localpart),
    stop: async () => void (await zion.stop()),
  };
}

/**
 * The pinned Synapse (SQLite, the interop harness's settings: rate limits open, presence off). On PostgreSQL its
 * "postgres" extra (psycopg2) is installed into the same venv first (scripts/install-synapse.sh --postgres).
 */
export async function startSynapseTarget(s: TargetSetup): Promise<Target> {
  const leaf = await s.ca.issue({ ip: [s.ip], name: "synapse-target" });
  mkdirSync(s.dir, { recursive: true });
  if (s.postgres) execFileSync("bash", [join(ROOT, "scripts/install-synapse.sh"), "--postgres"], { stdio: ["ignore", "ignore", "inherit"], timeout: 900_000 });
  const pg = s.postgres;
  const h: SynapseHandle = await startSynapse({
    dir: s.dir, bindHost: s.ip, serverName: s.ip, ports: { federation: 8448, client: await freePort(s.ip) },
    caCertPath: s.ca.caCertPath, certPath: leaf.chainPath, keyPath: leaf.keyPath,
    ...(pg ? { extraConfig: { database: { name: "psycopg2", args: { ...psycopg2Args(pg), cp_min: 5, cp_max: 10 } } } } : {}),
  });
  return peerTarget("synapse", `synapse ${h.version}`, h, s.ip);
}

/** The pinned Dendrite monolith (SQLite or PostgreSQL, rate limiting off, the interop harness's settings). */
export async function startDendriteTarget(s: TargetSetup): Promise<Target> {
  const leaf = await s.ca.issue({ ip: [s.ip], name: "dendrite-target" });
  mkdirSync(s.dir, { recursive: true });
  const h: DendriteHandle = await startDendrite({
    dir: s.dir, bindHost: s.ip, serverName: s.ip, ports: { federation: 8448, client: await freePort(s.ip) },
    caCertPath: s.ca.caCertPath, certPath: leaf.chainPath, keyPath: leaf.keyPath,
    ...(s.postgres ? { postgres: `postgres://${encodeURIComponent(s.postgres.user)}${s.postgres.password ? `:${encodeURIComponent(s.postgres.password)}` : ""}@${s.postgres.host}:${s.postgres.port}/${encodeURIComponent(s.postgres.database)}?sslmode=disable` } : {}),
  });
  return peerTarget("dendrite", `dendrite ${h.version}`, h, s.ip);
}

function peerTarget(name: TargetName, version: string, h: SynapseHandle | DendriteHandle, serverName: string): Target {
  return {
    name, version, clientUrl: h.clientUrl, serverName, pid: h.pid,
    registerUser: async (localpart) => {
      const u = await h.registerUser({ username: localpart, password: PASSWORD });
      return { userId: u.userId, token: u.accessToken };
    },
    stop: async () => void (await h.stop()),
  };
}

export function startTarget(name: TargetName, s: TargetSetup): Promise<Target> {
  const setup = { ...s, dir: join(s.dir, s.postgres ? `${name}-postgres` : name) };
  if (name === "zion") return startZionTarget(setup);
  if (name === "synapse") return startSynapseTarget(setup);
  return startDendriteTarget(setup);
}
