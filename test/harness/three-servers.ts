/**
 * Three Zion child processes federating over loopback as `hs1.test`, `hs2.test` and `hs3.test` (127.0.21.1, .2, .3,
 * or the same in 127.0.44.0/24 when another test file holds those),
 * each found by name through real DNS (dnsmasq), each a different way the specification allows
 * (https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names):
 *
 *   hs1.test  `.well-known` delegation: https://hs1.test/.well-known/matrix/server (served by hs1 itself on 443)
 *             says {"m.server": "fed.hs1.test:8448"} (step 3.2)
 *   hs2.test  SRV: `_matrix-fed._tcp.hs2.test` -> fed.hs2.test:8449, and hs2.test has no address at all (step 4)
 *   hs3.test  A record, port 8448 (step 6)
 *
 * TLS certificates come from the test CA. Every server has its own dnsmasq, whose answers for the two others point at
 * a TCP proxy for that (viewer, target) pair, 127.0.21.<10 * viewer + target> (hs1 reaches hs2 through 127.0.21.12),
 * so a test can partition two servers (`cut`) while both still reach the third, and can count the connections one
 * server opened to another (`connections`). Users are matrix-js-sdk 37.5 clients on each server's client listener,
 * whose port is fixed so clients keep working across a restart (`stop`/`kill`/`start` of a server).
 *
 *   const net = await startThreeServers({ hs1: { federation_domain_whitelist: ["hs1.test", "hs2.test"] } });
 *   const alice = await net.register("hs1", "alice");
 *   net.cut("hs1", "hs2"); ... net.heal("hs1", "hs2");
 *   await net.stop();
 */
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, Direction, type MatrixClient } from "matrix-js-sdk";
import { startDnsmasq, type DnsRecords, type Dnsmasq } from "./dnsmasq.js";
import { FederatedZionProcess } from "./federated-zion.js";
import { freePort } from "./ports.js";
import { OPEN_REGISTRATION } from "./rooms-server.js";
import { quietLogger } from "./sdk-logger.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";
import { createTestCa, type TestCa } from "./test-ca.js";

export type HsName = "hs1" | "hs2" | "hs3";
export const HS_NAMES: readonly HsName[] = ["hs1", "hs2", "hs3"];
const NUMBER: Record<HsName, number> = { hs1: 1, hs2: 2, hs3: 3 };
/**
 * The blocks the three servers, their proxies and DNS servers live in: one per run at a time (a lock file each), two
 * so that the runner's two concurrent files never wait for each other. The addresses below are within the block.
 */
const SLOTS: readonly string[] = ["127.0.21", "127.0.44"];
const serverIp = (slot: string, hs: HsName): string => `${slot}.${NUMBER[hs]}`;
/** Where `viewer` reaches `target`: the proxy's address (or the target itself for viewer == target). */
const viewedIp = (slot: string, viewer: HsName, target: HsName): string => (viewer === target ? serverIp(slot, target) : `${slot}.${10 * NUMBER[viewer] + NUMBER[target]}`);
/** The TCP ports each server is reached on (hs1's 443 serves its `.well-known`). */
const PORTS: Record<HsName, readonly number[]> = { hs1: [443, 8448], hs2: [8449], hs3: [8448] };

/** What `viewer`'s DNS server answers. */
function recordsFor(slot: string, viewer: HsName): DnsRecords {
  const at = (t: HsName) => [viewedIp(slot, viewer, t)];
  return {
    a: { "hs1.test": at("hs1"), "fed.hs1.test": at("hs1"), "fed.hs2.test": at("hs2"), "hs3.test": at("hs3") },
    srv: [{ name: "_matrix-fed._tcp.hs2.test", target: "fed.hs2.test", port: 8449 }],
  };
}

/** A user on one of the servers, driven by matrix-js-sdk. */
export interface ThreeUser {
  readonly hs: HsName;
  readonly userId: string;
  readonly sdk: MatrixClient;
}

export interface ThreeServers {
  readonly ca: TestCa;
  readonly hs: Readonly<Record<HsName, FederatedZionProcess>>;
  readonly dns: Readonly<Record<HsName, Dnsmasq>>;
  /** Registers `username` on `hs` (password `${username} password 1`). */
  register(hs: HsName, username: string): Promise<ThreeUser>;
  /** Connections `from` has opened to `to` (through the proxies) since the start. */
  connections(from: HsName, to: HsName): number;
  /** `a` and `b` can no longer reach each other (open connections are reset); both still reach the third. */
  cut(a: HsName, b: HsName): void;
  heal(a: HsName, b: HsName): void;
  stop(): Promise<void>;
}

/** homeserver.yaml keys every server gets (open registration, rate limits out of the way of the tests' bursts). */
function baseConfig(): Record<string, unknown> {
  return {
    ...OPEN_REGISTRATION,
    // Fast enough retries that a server brought back is caught up with in seconds, not Synapse's 10 minutes.
    federation: { destination_min_retry_interval: "500ms", destination_retry_multiplier: 2, destination_max_retry_interval: "5s" },
  };
}

/**
 * A slot's addresses and fixed ports are the same for every run, so test files using this harness (which the runner
 * may start two at a time) each take a free slot: a lock file per slot holding the owner's pid, taken over when that
 * process is gone; with every slot taken, the file waits for one.
 */
const lockOf = (slot: string) => join(tmpdir(), `zion-three-servers-${slot}.lock`);

async function tryLock(lock: string): Promise<boolean> {
  try {
    const f = await open(lock, "wx");
    await f.writeFile(String(process.pid));
    await f.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  const owner = Number(await readFile(lock, "utf8").catch(() => ""));
  let alive = owner > 0;
  if (alive) {
    try {
      process.kill(owner, 0);
    } catch {
      alive = false;
    }
  }
  if (!alive) await rm(lock, { force: true });
  return false;
}

async function takeSlot(timeoutMs: number): Promise<{ slot: string; unlock: () => Promise<void> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const slot of SLOTS) {
      if (await tryLock(lockOf(slot))) return { slot, unlock: () => rm(lockOf(slot), { force: true }) };
    }
    if (Date.now() > deadline) throw new Error(`every three-server address block (${SLOTS.join(", ")}) is still in use after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function startThreeServers(extra: Partial<Record<HsName, Record<string, unknown>>> = {}): Promise<ThreeServers> {
  const { slot, unlock } = await takeSlot(600_000);
  const dir = await mkdtemp(join(tmpdir(), "zion-three-"));
  const ca = await createTestCa(dir);
  const proxies: Array<{ from: HsName; to: HsName; proxy: TcpProxy }> = [];
  const dns = {} as Record<HsName, Dnsmasq>;
  const hs = {} as Record<HsName, FederatedZionProcess>;
  const stopAll = async (): Promise<void> => {
    await Promise.all(Object.values(hs).map((s) => s.remove()));
    await Promise.all(proxies.map((p) => p.proxy.close()));
    await Promise.all(Object.values(dns).map((d) => d.stop()));
    await rm(dir, { recursive: true, force: true });
    await unlock();
  };
  try {
    for (const viewer of HS_NAMES) {
      dns[viewer] = await startDnsmasq(recordsFor(slot, viewer), { address: `${slot}.${100 + NUMBER[viewer]}` });
      for (const target of HS_NAMES) {
        if (target === viewer) continue;
        for (const port of PORTS[target]) {
          proxies.push({ from: viewer, to: target, proxy: await startTcpProxy({ host: viewedIp(slot, viewer, target), port }, { host: serverIp(slot, target), port }) });
        }
      }
    }
    for (const name of HS_NAMES) {
      const ip = serverIp(slot, name);
      const own: Record<string, unknown> = name === "hs1" ? { serve_server_wellknown: true, well_known_server: "fed.hs1.test:8448" } : {};
      hs[name] = new FederatedZionProcess(ca, dns[name], `${name}.test`, ip, { ...baseConfig(), ...own, ...(extra[name] ?? {}) }, {
        ipRangeWhitelist: [`${slot}.0/24`],
        client: { host: ip, port: await freePort(ip) },
        timeoutMs: 30_000,
        ...(name === "hs1"
          ? {
              certificateNames: ["fed.hs1.test"],
              extraListeners: [{ port: 443, bind_addresses: [ip], type: "http", tls: true, resources: [{ names: ["health"] }] }],
            }
          : {}),
        ...(name === "hs2" ? { federationPort: 8449 } : {}),
      });
    }
    await Promise.all(HS_NAMES.map((n) => hs[n].start()));
  } catch (e) {
    await stopAll();
    throw e;
  }
  const between = (a: HsName, b: HsName) => proxies.filter((p) => (p.from === a && p.to === b) || (p.from === b && p.to === a));
  return {
    ca,
    hs,
    dns,
    async register(name, username) {
      const baseUrl = hs[name].clientUrl;
      const anon = createClient({ baseUrl, logger: quietLogger });
      const r = await anon.registerRequest({ username, password: `${username} password 1`, auth: { type: "m.login.dummy" } });
      return { hs: name, userId: r.user_id, sdk: createClient({ baseUrl, accessToken: r.access_token!, userId: r.user_id, deviceId: r.device_id!, logger: quietLogger }) };
    },
    connections: (from, to) => proxies.filter((p) => p.from === from && p.to === to).reduce((n, p) => n + p.proxy.accepted(), 0),
    cut: (a, b) => between(a, b).forEach((p) => p.proxy.cut()),
    heal: (a, b) => between(a, b).forEach((p) => p.proxy.heal()),
    stop: stopAll,
  };
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs` with `what` and the last value seen. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, describeLast?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}${describeLast ? `: ${describeLast()}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface TimelineEvent {
  readonly event_id: string;
  readonly type: string;
  readonly sender: string;
  readonly state_key?: string;
  readonly content: Record<string, unknown>;
}

/** The room's whole timeline as `user` sees it through `/messages`, oldest first. */
export async function timelineOf(user: ThreeUser, roomId: string): Promise<TimelineEvent[]> {
  const out: TimelineEvent[] = [];
  let from: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const r = await user.sdk.createMessagesRequest(roomId, from, 500, Direction.Backward);
    out.push(...(r.chunk as unknown as TimelineEvent[]));
    if (!r.end || r.chunk.length === 0) break;
    from = r.end;
  }
  return out.reverse();
}

/** The bodies of the `m.room.message` events in `user`'s view of the room, oldest first. */
export async function messageBodies(user: ThreeUser, roomId: string): Promise<string[]> {
  return (await timelineOf(user, roomId)).filter((e) => e.type === "m.room.message").map((e) => String(e.content["body"]));
}
