/**
 * The typed configuration the rest of Zion reads. Keys keep Synapse's
 * snake_case names so the YAML, the docs and the code say the same thing;
 * durations and sizes are numbers (ms, bytes), paths are absolute, and the
 * values Synapse derives (public_baseurl, signing_key_path, database) are
 * always present.
 */
import type { ServerName } from "../core/ids/index.js";
import type { LogLevel, RawHomeserverConfig, ResourceName } from "./schema.js";

export type { LogLevel, ResourceName };

export type ListenerConfig = RawHomeserverConfig["listeners"][number];

export interface SqliteDatabaseConfig {
  readonly name: "sqlite3";
  /** Absolute path, or ":memory:". */
  readonly args: { readonly database: string; readonly cp_min?: number | undefined; readonly cp_max?: number | undefined };
}

export interface PostgresDatabaseConfig {
  readonly name: "psycopg2";
  readonly args: {
    readonly user?: string | undefined;
    readonly password?: string | undefined;
    readonly host?: string | undefined;
    readonly port?: number | undefined;
    /** `database` or Synapse's `dbname`, whichever was given. */
    readonly database?: string | undefined;
    readonly cp_min?: number | undefined;
    readonly cp_max?: number | undefined;
    readonly sslmode?: "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full" | undefined;
    readonly application_name?: string | undefined;
  };
}

export type DatabaseConfig = SqliteDatabaseConfig | PostgresDatabaseConfig;

export type AcmeConfig = NonNullable<RawHomeserverConfig["acme"]>;

export type HomeserverConfig = Readonly<
  Omit<RawHomeserverConfig, "server_name" | "public_baseurl" | "signing_key_path" | "database" | "log_level"> & {
    server_name: ServerName;
    /** Always ends with "/"; Synapse's default is https://<server_name>/. */
    public_baseurl: string;
    signing_key_path: string;
    database: DatabaseConfig;
    /** From log_level, else log_config's root level, else "info". */
    log_level: LogLevel;
    /** The folder relative paths were resolved against (the config file's folder). */
    config_dir: string;
  }
>;
