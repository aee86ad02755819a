/**
 * `zion generate-config` and the development server's first run: a commented
 * homeserver.yaml in Synapse's key names, a new signing key and a
 * self-signed certificate for the server name. Existing files are kept
 * (a key is never overwritten), so running it twice is safe.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { checkServerName } from "../core/ids/index.js";
import { StartupError } from "./errors.js";
import { generateSelfSignedCertificate } from "./self-signed.js";
import { newSigningKey, writeSigningKeyFile } from "./signing-key.js";

export interface GenerateOptions {
  readonly serverName: string;
  /** Where key, certificate, database and media go (default: the config file's folder). */
  readonly dataDir: string;
  readonly clientPort?: number;
  readonly federationPort?: number;
  readonly bindAddresses?: readonly string[];
  /** public_baseurl (default https://<server_name>/). */
  readonly publicBaseurl?: string;
  readonly logLevel?: string;
}

export interface GeneratedFiles {
  readonly signingKeyPath: string;
  readonly certificatePath: string;
  readonly privateKeyPath: string;
  readonly created: readonly string[];
}

function hostOf(serverName: string): string {
  const r = checkServerName(serverName);
  if (!r.ok) throw new StartupError([`--server-name: ${JSON.stringify(serverName)} is not a valid server name: ${r.reason}`]);
  return r.value.host;
}

const q = (s: string): string => JSON.stringify(s);

/** Creates the signing key and self-signed certificate when missing. */
export function ensureIdentityFiles(serverName: string, dataDir: string): GeneratedFiles {
  const host = hostOf(serverName);
  const base = host.replace(/[^A-Za-z0-9.-]/g, "_");
  const signingKeyPath = join(dataDir, `${base}.signing.key`);
  const certificatePath = join(dataDir, `${base}.tls.crt`);
  const privateKeyPath = join(dataDir, `${base}.tls.key`);
  const created: string[] = [];
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(signingKeyPath)) {
    writeSigningKeyFile(signingKeyPath, [newSigningKey()]);
    created.push(signingKeyPath);
  }
  if (!existsSync(certificatePath) || !existsSync(privateKeyPath)) {
    generateSelfSignedCertificate(host, certificatePath, privateKeyPath);
    created.push(certificatePath, privateKeyPath);
  }
  return { signingKeyPath, certificatePath, privateKeyPath, created };
}

function isLoopbackAddress(address: string): boolean {
  return address === "::1" || /^127\./.test(address) || address.toLowerCase() === "::ffff:127.0.0.1";
}

/** Whether public_baseurl is this listener itself: plain http, on its port, at one of its addresses (or localhost). */
function servesDirectly(baseurl: string, port: number, bind: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(baseurl);
  } catch {
    return false;
  }
  if (u.protocol !== "http:" || Number(u.port || 80) !== port) return false;
  const host = u.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || bind.includes(host) || bind.includes("0.0.0.0") || bind.includes("::");
}

/** The text of a commented homeserver.yaml. */
export function renderHomeserverYaml(options: GenerateOptions, files: Pick<GeneratedFiles, "signingKeyPath" | "certificatePath" | "privateKeyPath">): string {
  const clientPort = options.clientPort ?? 8008;
  const federationPort = options.federationPort ?? 8448;
  const bind = options.bindAddresses ?? ["127.0.0.1"];
  const dataDir = resolve(options.dataDir);
  const bindYaml = `[${bind.map(q).join(", ")}]`;
  const baseurl = options.publicBaseurl ?? `https://${hostOf(options.serverName)}/`;
  const loopbackOnly = bind.every(isLoopbackAddress);
  const bindNote = loopbackOnly
    ? `# bind_addresses ${bindYaml} is loopback only: nothing outside this machine can connect to these listeners.
# That suits development, or a reverse proxy on this machine. For other servers to reach federation on port
# ${federationPort}, listen on a reachable address, e.g. bind_addresses: ["::", "0.0.0.0"] (then restart).
`
    : "";
  // A proxy is expected in front of the plain listener when clients are told to use another URL than the listener
  // itself (the default public_baseurl, https on 443, is a proxy terminating TLS).
  const direct = servesDirectly(baseurl, clientPort, bind);
  const forwarded = direct
    ? `    # No x_forwarded: public_baseurl names this listener itself, so no reverse proxy is expected in front of it.
`
    : `    # A reverse proxy serves ${baseurl} and forwards here: x_forwarded takes the client's address from its
    # X-Forwarded-For header, believed only from trusted_proxies (loopback by default; list the proxy's address
    # there if it runs on another host). If no proxy is in front of this listener, remove this line.
    x_forwarded: true
`;
  return `# Zion homeserver configuration, in Synapse's key names (docs/configuration.md lists every key).
# Generated by \`zion generate-config\`. Relative paths are resolved against this file's folder.

# The domain your users and rooms belong to (@alice:${options.serverName}). It cannot change later.
server_name: ${q(options.serverName)}

# Where clients reach this server; /.well-known/matrix/client advertises it.
public_baseurl: ${q(baseurl)}

pid_file: ${q(join(dataDir, "homeserver.pid"))}

${bindNote}listeners:
  # Client API (and federation, for a reverse proxy that terminates TLS on 443).
  - port: ${clientPort}
    bind_addresses: ${bindYaml}
    type: http
    tls: false
${forwarded}    resources:
      - names: [client, federation]
  # Federation over TLS on the Matrix port, with the certificate below. Peers connect here directly, so no x_forwarded.
  - port: ${federationPort}
    bind_addresses: ${bindYaml}
    type: http
    tls: true
    resources:
      - names: [federation]

# A self-signed certificate for development. Other servers only accept a certificate from a public CA
# for ${options.serverName}: replace these paths, or enable the acme: section.
tls_certificate_path: ${q(files.certificatePath)}
tls_private_key_path: ${q(files.privateKeyPath)}

# The server's ed25519 signing key, in Synapse's format (a Synapse key file works as it is).
signing_key_path: ${q(files.signingKeyPath)}
# Keys this server used before, still published with their expiry:
# old_signing_keys:
#   "ed25519:old_1": { key: "<unpadded base64 public key>", expired_ts: 1700000000000 }
key_refresh_interval: 1d

# SQLite by default; for PostgreSQL:
# database:
#   name: psycopg2
#   args: { user: zion, password: secret, host: localhost, port: 5432, database: zion, cp_max: 10 }
database:
  name: sqlite3
  args:
    database: ${q(join(dataDir, "homeserver.db"))}

media_store_path: ${q(join(dataDir, "media_store"))}

# trace, debug, info, warn, error (or Synapse's log_config: a Python logging YAML whose root.level is used).
log_level: ${options.logLevel ?? "info"}

# Serve /.well-known/matrix/server, delegating federation to this server's TLS listener.
serve_server_wellknown: false

enable_registration: false
enable_registration_without_verification: false
# Shared-secret registration: "zion register-user -c this-file -u NAME -p PASSWORD" (or Synapse's register_new_matrix_user).
registration_shared_secret: ${q(randomBytes(24).toString("base64url"))}
default_room_version: "11"

# Federation (the operator's guide keys).
federation_enabled: true
# federation_domain_whitelist: [friend.example, other.example]
send_presence_to_federation: true
federation_verify_certificates: true
federation_client_minimum_tls_version: "1.2"
trusted_key_servers:
  - server_name: "matrix.org"
# Outbound DNS through these servers instead of the system's (split-horizon setups):
# dns_servers: ["10.0.0.53:53"]

presence:
  enabled: true

# Certificates from an ACME CA (Let's Encrypt by default):
# acme:
#   enabled: true
#   contact_email: ops@${hostOf(options.serverName)}
#   domains: [${q(hostOf(options.serverName))}]
#   challenge: http-01

# Prometheus metrics at /_synapse/metrics and /metrics (docs/metrics.md): set enable_metrics and add to listeners
#   - port: 9000
#     type: metrics
#     bind_addresses: ["127.0.0.1"]
enable_metrics: false

# The federation tester's HTTP API (/api/report, /federation-tester):
federation_tester:
  enabled: false

# A web client (Hydrogen) at /_zion/client/ on the client listener, pointed at public_baseurl; / redirects there:
web_client:
  enabled: false
# Or redirect / to a web client hosted elsewhere (Synapse's key):
# web_client_location: https://app.element.io/
`;
}

/** Writes homeserver.yaml (never over an existing one), the key and the certificate. */
export function generateConfig(configPath: string, options: GenerateOptions): GeneratedFiles & { configPath: string } {
  const file = resolve(configPath);
  if (existsSync(file)) throw new StartupError([`--config-path: ${file} exists already; move it away or choose another path`]);
  const files = ensureIdentityFiles(options.serverName, resolve(options.dataDir));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, renderHomeserverYaml(options, files), { mode: 0o600 });
  return { ...files, configPath: file, created: [file, ...files.created] };
}
