/**
 * The homeserver.yaml schema, in Synapse's key names so an operator's file
 * carries over. Objects are strict: a key the schema does not know becomes
 * one warning (see parse.ts), never a failure. Durations and sizes accept
 * Synapse's suffixes (duration.ts). Paths stay as written here; parse.ts
 * resolves them against the config file's folder.
 *
 * Synapse's reference: https://element-hq.github.io/synapse/latest/usage/configuration/config_documentation.html
 */
import { isIP } from "node:net";
import { z } from "zod";
import { checkServerName } from "../core/ids/index.js";
import { DEFAULT_ROOM_VERSION, ROOM_VERSIONS, isKnownRoomVersion } from "../core/room-versions/index.js";
import { parseDuration, parseSize, describe } from "./duration.js";

/** zod's message for a missing key is "expected X, received undefined": say "required" instead. */
function required(what: string): { error: (iss: { input: unknown }) => string | undefined } {
  return { error: (iss) => (iss.input === undefined ? `is required: ${what}` : undefined) };
}

const duration = z.unknown().transform((v, ctx) => {
  const r = parseDuration(v);
  if (!r.ok) {
    ctx.addIssue({ code: "custom", message: r.reason });
    return z.NEVER;
  }
  return r.value;
});

const size = z.unknown().transform((v, ctx) => {
  const r = parseSize(v);
  if (!r.ok) {
    ctx.addIssue({ code: "custom", message: r.reason });
    return z.NEVER;
  }
  return r.value;
});

const path = z.string().min(1, "must not be empty");

const serverName = z.string(required("the domain your users and rooms belong to, e.g. example.org")).superRefine((v, ctx) => {
  const r = checkServerName(v);
  if (!r.ok) ctx.addIssue({ code: "custom", message: `${JSON.stringify(v)} is not a valid server name: ${r.reason}` });
});

const ipAddress = z.string().refine((v) => isIP(v) !== 0, { message: "must be an IPv4 or IPv6 address" });

/** An IP range in CIDR notation (a bare address means /32 or /128). */
const cidr = z.string().superRefine((v, ctx) => {
  const [addr, bits, more] = v.split("/");
  const family = addr === undefined ? 0 : isIP(addr);
  const max = family === 4 ? 32 : 128;
  const ok = family !== 0 && more === undefined && (bits === undefined || (/^[0-9]{1,3}$/.test(bits) && Number(bits) <= max));
  if (!ok) ctx.addIssue({ code: "custom", message: `${JSON.stringify(v)} is not an IP range such as 10.0.0.0/8 or fe80::/10` });
});

/** `ip:port`, `[ipv6]:port` or a bare address (port 53), normalised to `ip:port` / `[ipv6]:port`. */
const dnsServer = z.string().transform((v, ctx) => {
  let host = v;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::([0-9]{1,5}))?$/.exec(v);
  const v4 = /^([0-9.]+):([0-9]{1,5})$/.exec(v);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (v4) {
    host = v4[1]!;
    port = Number(v4[2]);
  }
  const family = isIP(host);
  if (family === 0 || port < 1 || port > 65535) {
    ctx.addIssue({ code: "custom", message: `${JSON.stringify(v)} is not a DNS server address: use "ip:port", "[ipv6]:port" or a bare IP` });
    return z.NEVER;
  }
  return family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
});

const httpUrl = z.string().superRefine((v, ctx) => {
  let u: URL | undefined;
  try {
    u = new URL(v);
  } catch {
    /* reported below */
  }
  if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) ctx.addIssue({ code: "custom", message: `${JSON.stringify(v)} is not an http(s) URL` });
});

/** Synapse's resource names; the ones Zion does not serve yet are accepted with a warning (app/). */
export const RESOURCE_NAMES = ["client", "federation", "keys", "media", "health", "metrics", "openid", "replication", "static", "consent"] as const;
export type ResourceName = (typeof RESOURCE_NAMES)[number];

const listener = z.strictObject({
  port: z.number(required("the TCP port to listen on")).int().min(0).max(65535),
  bind_addresses: z.array(ipAddress).min(1, "must list at least one address").default(["::", "0.0.0.0"]),
  tls: z.boolean().default(false),
  type: z.enum(["http", "metrics", "manhole", "replication"], required('the listener type, "http"')),
  x_forwarded: z.boolean().default(false),
  /** Zion's addition: with x_forwarded, the peers whose X-Forwarded-For counts (default: loopback, in app/). */
  trusted_proxies: z.array(cidr).optional(),
  resources: z
    .array(
      z.strictObject({
        names: z.array(z.enum(RESOURCE_NAMES)).default([]),
        compress: z.boolean().default(false),
      }),
    )
    .default([]),
  tag: z.string().optional(),
  request_id_header: z.string().optional(),
});

const base64Key = z.string().superRefine((v, ctx) => {
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(v) ? Buffer.from(v, "base64") : undefined;
  if (!bytes || bytes.length !== 32) ctx.addIssue({ code: "custom", message: "must be an unpadded base64 ed25519 public key (32 bytes)" });
});

const oldSigningKey = z.strictObject({
  key: base64Key,
  expired_ts: z.number(required("when the key stopped being used, in ms since the epoch")).int().nonnegative(),
});

const sqliteArgs = z.strictObject({
  database: path.default("homeserver.db"),
  cp_min: z.number().int().positive().optional(),
  cp_max: z.number().int().positive().optional(),
});

const postgresArgs = z.strictObject({
  user: z.string().optional(),
  password: z.string().optional(),
  host: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  database: z.string().optional(),
  dbname: z.string().optional(),
  cp_min: z.number().int().nonnegative().optional(),
  cp_max: z.number().int().positive().optional(),
  sslmode: z.enum(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]).optional(),
  application_name: z.string().optional(),
  keepalives_idle: z.number().optional(),
  keepalives_interval: z.number().optional(),
  keepalives_count: z.number().optional(),
});

const database = z.discriminatedUnion("name", [
  z.strictObject({
    name: z.literal("sqlite3"),
    args: sqliteArgs.default({ database: "homeserver.db" }),
    allow_unsafe_locale: z.boolean().optional(),
    txn_limit: z.number().int().optional(),
  }),
  z.strictObject({
    name: z.literal("psycopg2"),
    args: postgresArgs.default({}),
    allow_unsafe_locale: z.boolean().optional(),
    txn_limit: z.number().int().optional(),
  }),
]);

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Python's level names map onto pino's. */
const logLevel = z
  .string()
  .transform((v, ctx) => {
    const m: Record<string, LogLevel> = { notset: "trace", warning: "warn", critical: "fatal" };
    const lower = v.toLowerCase();
    const level = m[lower] ?? ((LOG_LEVELS as readonly string[]).includes(lower) ? (lower as LogLevel) : undefined);
    if (!level) {
      ctx.addIssue({ code: "custom", message: `unknown log level ${JSON.stringify(v)}: use one of ${LOG_LEVELS.join(", ")}` });
      return z.NEVER;
    }
    return level;
  });

const trustedKeyServer = z.strictObject({
  server_name: serverName,
  verify_keys: z.record(z.string(), base64Key).optional(),
  accept_keys_insecurely: z.boolean().optional(),
});

const acme = z.strictObject({
  enabled: z.boolean().default(false),
  directory_url: httpUrl.default("https://acme-v02.api.letsencrypt.org/directory"),
  contact_email: z.string().optional(),
  domains: z.array(z.string()).optional(),
  challenge: z.enum(["http-01", "tls-alpn-01"]).default("http-01"),
  account_key_path: path.optional(),
  storage_dir: path.optional(),
  ca_bundle: path.optional(),
});

const federationTester = z.strictObject({
  enabled: z.boolean().default(false),
});

/** One of Synapse's rate limits: `{per_second, burst_count}`, each defaulting to the limit's own default. */
function rateLimit(perSecond: number, burstCount: number) {
  return z
    .strictObject({
      per_second: z.number().positive("must be more than 0 actions per second").default(perSecond),
      burst_count: z.number().int().min(1, "must allow at least one action").default(burstCount),
    })
    .default({ per_second: perSecond, burst_count: burstCount });
}

const passwordPolicy = z.strictObject({
  enabled: z.boolean().default(false),
  minimum_length: z.number().int().min(0).default(0),
  require_digit: z.boolean().default(false),
  require_symbol: z.boolean().default(false),
  require_lowercase: z.boolean().default(false),
  require_uppercase: z.boolean().default(false),
});

/** Zion's own: serve the bundled web client (Hydrogen) at /_zion/client/ on client listeners. */
const webClient = z.strictObject({
  enabled: z.boolean().default(false),
});

export const homeserverSchema = z.strictObject({
  server_name: serverName,
  public_baseurl: httpUrl.optional(),
  pid_file: path.optional(),
  listeners: z.array(listener).default([]),
  tls_certificate_path: path.optional(),
  tls_private_key_path: path.optional(),
  signing_key_path: path.optional(),
  old_signing_keys: z
    .record(
      z.string().regex(/^ed25519:[A-Za-z0-9_]+$/, "key ids look like ed25519:abc_1"),
      oldSigningKey,
    )
    .default({}),
  key_refresh_interval: duration.default(86_400_000),
  database: database.optional(),
  media_store_path: path.default("media_store"),
  max_upload_size: size.default(50 * 1024 * 1024),
  // The media repository (docs/media.md), Synapse's keys and defaults.
  enable_authenticated_media: z.boolean().default(true),
  max_image_pixels: size.default(32 * 1024 * 1024),
  dynamic_thumbnails: z.boolean().default(false),
  thumbnail_sizes: z
    .array(z.strictObject({ width: z.number().int().min(1).max(10_000), height: z.number().int().min(1).max(10_000), method: z.enum(["crop", "scale"]).default("scale") }))
    .min(1, "list at least one size")
    .default([
      { width: 32, height: 32, method: "crop" },
      { width: 96, height: 96, method: "crop" },
      { width: 320, height: 240, method: "scale" },
      { width: 640, height: 480, method: "scale" },
      { width: 800, height: 600, method: "scale" },
    ]),
  unused_expiration_time: duration.default(24 * 3_600_000),
  max_pending_media_uploads: z.number().int().min(1).default(5),
  url_preview_enabled: z.boolean().default(false),
  url_preview_ip_range_blacklist: z.array(cidr).optional(),
  url_preview_ip_range_whitelist: z.array(cidr).default([]),
  max_spider_size: size.default(10 * 1024 * 1024),
  log_config: path.optional(),
  log_level: logLevel.optional(),
  serve_server_wellknown: z.boolean().default(false),
  /** Synapse's key: more forward extremities than this in a room and a dummy event merges them (src/rooms/extremities.ts). */
  dummy_events_threshold: z.number().int().min(1).default(10),
  /** Synapse's switch for the Prometheus endpoint (a `type: metrics` listener or a `metrics` resource): docs/metrics.md. */
  enable_metrics: z.boolean().default(false),
  well_known_server: z.string().optional(),
  enable_registration: z.boolean().default(false),
  enable_registration_without_verification: z.boolean().default(false),
  // Synapse accepts open registration when any of these verifies the new accounts (parse.ts checks it).
  enable_registration_captcha: z.boolean().default(false),
  registrations_require_3pid: z.array(z.enum(["email", "msisdn"])).default([]),
  registration_requires_token: z.boolean().default(false),
  registration_shared_secret: z.string().min(1, "must not be empty").optional(),
  password_config: z
    .strictObject({
      enabled: z.boolean().default(true),
      policy: passwordPolicy.default(passwordPolicy.parse({})),
    })
    .default({ enabled: true, policy: passwordPolicy.parse({}) }),
  // Synapse's lifetime of an access token issued with a refresh token (the client asked for refresh_token: true).
  refreshable_access_token_lifetime: duration.default(5 * 60_000),
  // Synapse's TURN settings for /voip/turnServer: a shared secret (coturn's use-auth-secret) or a fixed username
  // and password; turn_user_lifetime is how long the secret-derived credentials stay valid.
  turn_uris: z.array(z.string().min(1, "must not be empty")).default([]),
  turn_shared_secret: z.string().min(1, "must not be empty").optional(),
  turn_shared_secret_path: path.optional(),
  turn_username: z.string().optional(),
  turn_password: z.string().optional(),
  turn_user_lifetime: duration.default(3_600_000),
  turn_allow_guests: z.boolean().default(true),
  // Synapse's rate limits (defaults as Synapse's); rc_message, rc_joins and rc_invites wait for the room endpoints.
  rc_message: rateLimit(0.2, 10),
  rc_registration: rateLimit(0.17, 3),
  rc_login: z
    .strictObject({ address: rateLimit(0.003, 5), account: rateLimit(0.003, 5), failed_attempts: rateLimit(0.17, 3) })
    .default({ address: { per_second: 0.003, burst_count: 5 }, account: { per_second: 0.003, burst_count: 5 }, failed_attempts: { per_second: 0.17, burst_count: 3 } }),
  rc_joins: z
    .strictObject({ local: rateLimit(0.1, 10), remote: rateLimit(0.01, 10) })
    .default({ local: { per_second: 0.1, burst_count: 10 }, remote: { per_second: 0.01, burst_count: 10 } }),
  rc_invites: z
    .strictObject({ per_room: rateLimit(0.3, 10), per_user: rateLimit(0.003, 5), per_issuer: rateLimit(0.3, 10) })
    .default({ per_room: { per_second: 0.3, burst_count: 10 }, per_user: { per_second: 0.003, burst_count: 5 }, per_issuer: { per_second: 0.3, burst_count: 10 } }),
  // Synapse's inbound federation limits per origin (api/federation/rate-limit.ts).
  rc_federation: z
    .strictObject({
      window_size: z.number().int().positive().default(1000),
      sleep_limit: z.number().int().nonnegative().default(10),
      sleep_delay: z.number().int().nonnegative().default(500),
      reject_limit: z.number().int().positive().default(50),
      concurrent: z.number().int().positive().default(3),
    })
    .default({ window_size: 1000, sleep_limit: 10, sleep_delay: 500, reject_limit: 50, concurrent: 3 }),
  registration_shared_secret_path: path.optional(),
  default_room_version: z
    .union([z.string(), z.number().int()])
    .transform((v) => String(v))
    .refine(isKnownRoomVersion, { message: `unknown room version: use one of ${[...ROOM_VERSIONS.keys()].join(", ")}` })
    .default(DEFAULT_ROOM_VERSION),
  federation_enabled: z.boolean().default(true),
  federation_domain_whitelist: z.array(serverName).optional(),
  allow_public_rooms_over_federation: z.boolean().default(false),
  send_presence_to_federation: z.boolean().default(true),
  federation_verify_certificates: z.boolean().default(true),
  federation_certificate_verification_whitelist: z.array(z.string()).default([]),
  federation_custom_ca_list: z.array(path).optional(),
  federation_client_minimum_tls_version: z
    .union([z.string(), z.number()])
    .transform((v) => String(v))
    .pipe(z.enum(["1", "1.0", "1.1", "1.2", "1.3"]))
    .default("1"),
  ip_range_blacklist: z.array(cidr).optional(),
  ip_range_whitelist: z.array(cidr).default([]),
  trusted_key_servers: z.array(trustedKeyServer).default([{ server_name: "matrix.org" }]),
  suppress_key_server_warning: z.boolean().default(false),
  presence: z.strictObject({ enabled: z.boolean().default(true) }).default({ enabled: true }),
  dns_servers: z.array(dnsServer).optional(),
  acme: acme.optional(),
  federation_tester: federationTester.default({ enabled: false }),
  /** Synapse's `federation:` section: the outbound retry schedule (src/federation/sender/backoff.ts). */
  federation: z
    .strictObject({
      destination_min_retry_interval: duration.default(10 * 60_000),
      destination_retry_multiplier: z.number().min(1).default(2),
      destination_max_retry_interval: duration.default(7 * 24 * 3600_000),
      /** Joins of remote rooms ask for members omitted (send_join omit_members; rooms/partial-state.ts). */
      partial_joins: z.boolean().default(true),
    })
    .refine((f) => f.destination_max_retry_interval >= f.destination_min_retry_interval, {
      message: "destination_max_retry_interval must not be below destination_min_retry_interval",
    })
    .default({ destination_min_retry_interval: 10 * 60_000, destination_retry_multiplier: 2, destination_max_retry_interval: 7 * 24 * 3600_000, partial_joins: true }),
  // Synapse's: GET / redirects here (an http(s) URL, as Synapse requires).
  web_client_location: httpUrl.optional(),
  web_client: webClient.default({ enabled: false }),
});

export type RawHomeserverConfig = z.output<typeof homeserverSchema>;
export { describe as describeValue };
