/**
 * `zion start` with no config: a development server for "localhost" with its
 * data under ./data (created on first run): the client API on
 * http://127.0.0.1:8008, federation on https://127.0.0.1:8448 with a
 * self-signed certificate, SQLite in data/homeserver.db.
 */
import { resolve } from "node:path";
import { parseConfigWithWarnings, type LoadedConfig } from "../config/index.js";
import { ensureIdentityFiles } from "./generate-config.js";

export interface DevOptions {
  readonly dataDir?: string;
  readonly clientPort?: number;
  readonly federationPort?: number;
  readonly bindAddress?: string;
  readonly logLevel?: string;
}

export const DEV_SERVER_NAME = "localhost";

export function devConfig(options: DevOptions = {}): LoadedConfig & { created: readonly string[] } {
  const dataDir = resolve(options.dataDir ?? "data");
  const files = ensureIdentityFiles(DEV_SERVER_NAME, dataDir);
  const bind = options.bindAddress ?? "127.0.0.1";
  const clientPort = options.clientPort ?? 8008;
  const host = bind.includes(":") ? `[${bind}]` : bind;
  const yaml = {
    server_name: DEV_SERVER_NAME,
    public_baseurl: `http://${host}:${clientPort}/`,
    listeners: [
      { port: clientPort, bind_addresses: [bind], type: "http", tls: false, resources: [{ names: ["client"] }] },
      { port: options.federationPort ?? 8448, bind_addresses: [bind], type: "http", tls: true, resources: [{ names: ["federation"] }] },
    ],
    tls_certificate_path: files.certificatePath,
    tls_private_key_path: files.privateKeyPath,
    signing_key_path: files.signingKeyPath,
    database: { name: "sqlite3", args: { database: resolve(dataDir, "homeserver.db") } },
    media_store_path: resolve(dataDir, "media_store"),
    log_level: options.logLevel ?? "info",
    trusted_key_servers: [],
  };
  // JSON is YAML: the dev config passes the same validation as an operator's file.
  const loaded = parseConfigWithWarnings(JSON.stringify(yaml), { baseDir: dataDir, fileName: "(development config)" });
  return { ...loaded, created: files.created };
}
