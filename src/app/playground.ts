/**
 * `zion playground`: a private federation on one machine. N Zion servers (`hs1.playground.test`, ...) on their own
 * loopback addresses (127.0.0.11, .12, ... by default), each with an ordinary homeserver.yaml written into the
 * playground's directory, certificates from a throwaway CA (playground-ca.ts) and names served by an in-process
 * DNS server (playground-dns.ts). A room spanning every server is created with one user on each, so federation can
 * be watched working, tested with `zion federation-test`, and the configs read as a model for a private federation
 * (docs/federation.md, "The playground").
 *
 * 1. the CA, and the DNS server on the first server's address;
 * 2. per server: a signing key, a certificate, homeserver.yaml, then the server itself (in this process);
 * 3. a user on each server (shared-secret registration, then a password login for the access token);
 * 4. the room `#playground:hs1.playground.test`, created on hs1 and joined by alias from every other server; the
 *    playground waits until every server lists every member, then each user says hello.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isIPv4 } from "node:net";
import { loadConfigWithWarnings } from "../config/index.js";
import { startHomeserver, type Homeserver } from "./homeserver.js";
import { createLogger } from "./logger.js";
import { createPlaygroundCa } from "./playground-ca.js";
import { startPlaygroundDns, type PlaygroundDns } from "./playground-dns.js";
import { registerUser } from "./register-user.js";
import { newSigningKey, writeSigningKeyFile } from "./signing-key.js";

export const PLAYGROUND_DOMAIN = "playground.test";
export const MAX_PLAYGROUND_SERVERS = 9;
const USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"];

export interface PlaygroundOptions {
  readonly servers: number;
  /** The first server's address; the others follow it (default 127.0.0.11). */
  readonly firstIp: string;
  /** Where the configs, keys, certificates and databases go (created if missing). */
  readonly dir: string;
  /** The DNS server's port on the first address (0: a free one). */
  readonly dnsPort?: number;
  /** The servers' log_level (default warn, so the playground's own output stays readable). */
  readonly logLevel?: string;
}

export interface PlaygroundServer {
  readonly name: string;
  readonly ip: string;
  readonly configPath: string;
  readonly clientUrl: string;
  readonly federationUrl: string;
  readonly user: { readonly userId: string; readonly password: string; readonly accessToken: string };
}

export interface Playground {
  readonly dir: string;
  readonly dns: string;
  readonly caPath: string;
  readonly servers: readonly PlaygroundServer[];
  readonly room: { readonly roomId: string; readonly alias: string };
  stop(): Promise<void>;
}

/** The addresses for `count` servers from `firstIp` on, or why not. */
export function playgroundAddresses(firstIp: string, count: number): string[] | string {
  if (!isIPv4(firstIp) || !firstIp.startsWith("127.")) return `${firstIp} is not an IPv4 loopback address (127.x.y.z)`;
  const parts = firstIp.split(".").map(Number);
  if (parts[3]! + count - 1 > 254) return `${count} servers from ${firstIp} would go past ${parts.slice(0, 3).join(".")}.254`;
  return Array.from({ length: count }, (_, i) => `${parts.slice(0, 3).join(".")}.${parts[3]! + i}`);
}

function configText(o: { name: string; ip: string; dir: string; dns: string; caPath: string; tls: { certPath: string; keyPath: string }; secret: string; allIps: readonly string[]; logLevel: string }): string {
  const q = (s: string) => JSON.stringify(s);
  return `# ${o.name}: one server of a \`zion playground\` federation. An ordinary homeserver.yaml (Synapse's keys):
# \`npx zion start -c ${join(o.dir, "homeserver.yaml")}\` runs this server on its own once the playground is stopped.
server_name: ${q(o.name)}
public_baseurl: ${q(`http://${o.ip}:8008/`)}
listeners:
  # The client API, plain HTTP on this server's own loopback address.
  - port: 8008
    bind_addresses: [${q(o.ip)}]
    type: http
    tls: false
    resources: [{ names: [client] }]
  # Federation over TLS on 8448, where other servers look when a name has no .well-known or SRV record.
  - port: 8448
    bind_addresses: [${q(o.ip)}]
    type: http
    tls: true
    resources: [{ names: [federation] }]
tls_certificate_path: ${q(o.tls.certPath)}
tls_private_key_path: ${q(o.tls.keyPath)}
signing_key_path: ${q(join(o.dir, "signing.key"))}
database:
  name: sqlite3
  args: { database: ${q(join(o.dir, "homeserver.db"))} }
media_store_path: ${q(join(o.dir, "media_store"))}
log_level: ${o.logLevel}

# A private federation: names come from the playground's DNS server, certificates from its own CA, and only the
# playground's servers are federated with.
dns_servers: [${q(o.dns)}]
federation_custom_ca_list: [${q(o.caPath)}]
federation_domain_whitelist: [${o.allIps.map((_, i) => q(`hs${i + 1}.${PLAYGROUND_DOMAIN}`)).join(", ")}]
# Loopback addresses are refused by default (ip_range_blacklist); let the playground's own through.
ip_range_whitelist: [${o.allIps.map((ip) => q(`${ip}/32`)).join(", ")}]
# No notary: each server fetches the others' keys from them directly.
trusted_key_servers: []
# Retry a stopped server within seconds rather than Synapse's 10 minutes, so restarts are quick to watch.
federation:
  destination_min_retry_interval: 2s
  destination_max_retry_interval: 30s
# \`npx zion register-user -c <this file> -u NAME -p PASSWORD\` adds users.
registration_shared_secret: ${q(o.secret)}
`;
}

async function call(base: string, method: string, path: string, token: string | null, body?: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(60_000),
  });
  const out = (await r.json().catch(() => ({}))) as Record<string, unknown>;
  if (!r.ok) throw new Error(`${method} ${base}${path}: ${r.status} ${String(out["errcode"] ?? "")} ${String(out["error"] ?? "")}`.trim());
  return out;
}

export async function startPlayground(opts: PlaygroundOptions, progress: (line: string) => void = () => {}): Promise<Playground> {
  const ips = playgroundAddresses(opts.firstIp, opts.servers);
  if (typeof ips === "string") throw new Error(ips);
  const names = ips.map((_, i) => `hs${i + 1}.${PLAYGROUND_DOMAIN}`);
  mkdirSync(opts.dir, { recursive: true });
  const homeservers: Homeserver[] = [];
  let dns: PlaygroundDns | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all(homeservers.map((h) => h.stop()));
    await dns?.close();
  };
  try {
    // Step 1
    const ca = createPlaygroundCa(join(opts.dir, "ca"));
    dns = await startPlaygroundDns(ips[0]!, opts.dnsPort ?? 0, new Map(names.map((n, i) => [n, ips[i]!])));
    progress(`DNS server on ${dns.server} (udp and tcp): ${names.map((n, i) => `${n} A ${ips[i]}`).join(", ")}`);
    // Step 2
    const configs: Array<{ name: string; ip: string; configPath: string; secret: string }> = [];
    for (const [i, name] of names.entries()) {
      const ip = ips[i]!;
      const dir = join(opts.dir, `hs${i + 1}`);
      mkdirSync(dir, { recursive: true });
      writeSigningKeyFile(join(dir, "signing.key"), [newSigningKey()]);
      const tls = ca.issue(name, ip, dir);
      const secret = randomBytes(18).toString("base64url");
      const configPath = join(dir, "homeserver.yaml");
      writeFileSync(configPath, configText({ name, ip, dir, dns: dns.server, caPath: ca.certPath, tls, secret, allIps: ips, logLevel: opts.logLevel ?? "warn" }));
      configs.push({ name, ip, configPath, secret });
    }
    for (const c of configs) {
      const { config, warnings } = loadConfigWithWarnings(c.configPath);
      for (const w of warnings) progress(`${c.name}: warning: ${w}`);
      homeservers.push(await startHomeserver(config, { logger: createLogger(config.log_level) }));
      progress(`${c.name} is up: client API http://${c.ip}:8008, federation https://${c.ip}:8448 (${c.configPath})`);
    }
    // Step 3
    const servers: PlaygroundServer[] = [];
    for (const [i, c] of configs.entries()) {
      const clientUrl = `http://${c.ip}:8008`;
      const username = USERS[i]!;
      const password = randomBytes(9).toString("base64url");
      const reg = await registerUser({ serverUrl: clientUrl, sharedSecret: c.secret, username, password, admin: false });
      if (!reg.ok) throw new Error(`registering ${username} on ${c.name}: ${reg.reason}`);
      const login = await call(clientUrl, "POST", "/_matrix/client/v3/login", null, { type: "m.login.password", identifier: { type: "m.id.user", user: username }, password });
      servers.push({ name: c.name, ip: c.ip, configPath: c.configPath, clientUrl, federationUrl: `https://${c.ip}:8448`, user: { userId: String(login["user_id"]), password, accessToken: String(login["access_token"]) } });
    }
    // Step 4
    const alias = `#playground:${names[0]}`;
    const first = servers[0]!;
    const created = await call(first.clientUrl, "POST", "/_matrix/client/v3/createRoom", first.user.accessToken, {
      preset: "public_chat", room_alias_name: "playground", name: "Zion playground", topic: `${servers.length} Zion servers federating on this machine`,
    });
    const roomId = String(created["room_id"]);
    for (const s of servers.slice(1)) await call(s.clientUrl, "POST", `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, s.user.accessToken, {});
    // Every server lists every member before anyone speaks: a server sends an event to the servers it knows are in
    // the room, so a hello sent before the last join reached its server would skip the last server (a join returns
    // once its own server holds the room, before the others have heard of it).
    const deadline = Date.now() + 60_000;
    for (const s of servers) {
      for (;;) {
        const joined = await call(s.clientUrl, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`, s.user.accessToken);
        if (Object.keys((joined["joined"] ?? {}) as object).length === servers.length) break;
        if (Date.now() > deadline) throw new Error(`${s.name} does not list all ${servers.length} members of ${alias} after 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    for (const s of servers) {
      await call(s.clientUrl, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/hello`, s.user.accessToken, { msgtype: "m.text", body: `hello from ${s.name}` });
    }
    const playground: Playground = { dir: opts.dir, dns: dns.server, caPath: ca.certPath, servers, room: { roomId, alias }, stop };
    writeFileSync(join(opts.dir, "playground.json"), JSON.stringify({ dir: opts.dir, dns: dns.server, ca: ca.certPath, room: playground.room, servers }, null, 2) + "\n");
    return playground;
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
}
