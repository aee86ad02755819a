/**
 * The homeservers the federation benchmark measures, behind one interface: start, the client-API base URL, the
 * federation server name, registering a local user, the root of the process tree (for CPU seconds and RSS from
 * /proc), the version, and stop. Each implementation reuses the test harnesses (test/harness/server.ts for Zion,
 * synapse.ts and dendrite.ts for the pinned peers), so the benchmark runs exactly what the interop tests run.
 *
 * Every target is named by its IP literal (`<ip>` with the federation listener on 8448) and trusts the test CA; the
 * simulated remotes are IP literals too, so no target resolves a name: the DNS step of discovery is outside the
 * measurement for all three alike. All three keep their data in SQLite in a fresh folder.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startDendrite, type DendriteHandle } from "../../test/harness/dendrite.js";
import { requestJson } from "../../test/harness/peer-process.js";
import { freePort } from "../../test/harness/ports.js";
import { startTestServer, type TestServer } from "../../test/harness/server.js";
import { startSynapse, type SynapseHandle } from "../../test/harness/synapse.js";
import type { TestCa } from "../../test/harness/test-ca.js";

export type TargetName = "zion" | "synapse" | "dendrite";
export const TARGET_NAMES: readonly TargetName[] = ["zion", "synapse", "dendrite"];

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
}

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

/** The pinned Synapse (SQLite, the interop harness's settings: rate limits open, presence off). */
export async function startSynapseTarget(s: TargetSetup): Promise<Target> {
  const leaf = await s.ca.issue({ ip: [s.ip], name: "synapse-target" });
  mkdirSync(s.dir, { recursive: true });
  const h: SynapseHandle = await startSynapse({
    dir: s.dir, bindHost: s.ip, serverName: s.ip, ports: { federation: 8448, client: await freePort(s.ip) },
    caCertPath: s.ca.caCertPath, certPath: leaf.chainPath, keyPath: leaf.keyPath,
  });
  return peerTarget("synapse", `synapse ${h.version}`, h, s.ip);
}

/** The pinned Dendrite monolith (SQLite, rate limiting off, the interop harness's settings). */
export async function startDendriteTarget(s: TargetSetup): Promise<Target> {
  const leaf = await s.ca.issue({ ip: [s.ip], name: "dendrite-target" });
  mkdirSync(s.dir, { recursive: true });
  const h: DendriteHandle = await startDendrite({
    dir: s.dir, bindHost: s.ip, serverName: s.ip, ports: { federation: 8448, client: await freePort(s.ip) },
    caCertPath: s.ca.caCertPath, certPath: leaf.chainPath, keyPath: leaf.keyPath,
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
  const setup = { ...s, dir: join(s.dir, name) };
  if (name === "zion") return startZionTarget(setup);
  if (name === "synapse") return startSynapseTarget(setup);
  return startDendriteTarget(setup);
}
