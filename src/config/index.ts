/** homeserver.yaml: Synapse's keys, validated, with defaults and warnings. See docs/configuration.md. */
export { parseConfig, parseConfigWithWarnings, loadConfig, loadConfigWithWarnings, ConfigError, formatPath } from "./parse.js";
export type { ParseOptions, LoadedConfig } from "./parse.js";
export { parseDuration, parseSize } from "./duration.js";
export { RESOURCE_NAMES } from "./schema.js";
export type {
  HomeserverConfig,
  ListenerConfig,
  DatabaseConfig,
  SqliteDatabaseConfig,
  PostgresDatabaseConfig,
  AcmeConfig,
  LogLevel,
  ResourceName,
} from "./types.js";
export { federationEndpoint } from "./federation-endpoint.js";
export type { FederationEndpoint } from "./federation-endpoint.js";
