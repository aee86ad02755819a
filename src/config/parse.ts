/**
 * homeserver.yaml -> HomeserverConfig. Every bad value is reported at once,
 * each with its key path and line ("listeners[0].port (line 7): ..."); keys
 * the schema does not know produce one warning each and are otherwise
 * ignored, so a Synapse file loads as it is.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { LineCounter, parseDocument, type Document } from "yaml";
import type { ZodError } from "zod";
import type { ServerName } from "../core/ids/index.js";
import { homeserverSchema, type LogLevel } from "./schema.js";
import { knownKeysAt, nearestKey } from "./suggest.js";
import type { DatabaseConfig, HomeserverConfig } from "./types.js";

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.length === 1 ? "1 problem" : `${problems.length} problems`}\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export interface ParseOptions {
  /** Relative paths in the file are resolved against this folder (default: the current directory). */
  readonly baseDir?: string;
  /** Named in messages (default "homeserver.yaml"). */
  readonly fileName?: string;
  /** Receives one message per unknown key or ignored setting. */
  readonly warn?: (message: string) => void;
}

export interface LoadedConfig {
  readonly config: HomeserverConfig;
  readonly warnings: readonly string[];
}

type PathPart = string | number;

export function formatPath(path: readonly PathPart[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : /^[A-Za-z0-9_]+$/.test(p) ? (out ? `.${p}` : p) : `[${JSON.stringify(p)}]`;
  return out || "(top level)";
}

/** YAML null ("key:" with nothing after it) means "not set", as in Synapse. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

function deleteAt(root: unknown, path: readonly PathPart[], keys: readonly string[]): void {
  let node: unknown = root;
  for (const p of path) {
    if (node === null || typeof node !== "object") return;
    node = (node as Record<string | number, unknown>)[p];
  }
  if (node !== null && typeof node === "object") for (const k of keys) delete (node as Record<string, unknown>)[k];
}

function lineOf(doc: Document, counter: LineCounter, path: readonly PathPart[]): number | undefined {
  for (let n = path.length; n >= 1; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === "object" && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Parses and validates; throws ConfigError listing every problem. */
export function parseConfig(text: string, options: ParseOptions = {}): HomeserverConfig {
  return parseConfigWithWarnings(text, options).config;
}

export function parseConfigWithWarnings(text: string, options: ParseOptions = {}): LoadedConfig {
  const fileName = options.fileName ?? "homeserver.yaml";
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      fileName,
      doc.errors.map((e) => `line ${counter.linePos(e.pos[0]).line}: YAML syntax: ${e.message.split("\n")[0]}`),
    );
  }
  const js = dropNulls(doc.toJS({ maxAliasCount: 100 }) ?? {});
  if (js === null || typeof js !== "object" || Array.isArray(js)) {
    throw new ConfigError(fileName, ["the file must be a YAML mapping of settings (key: value)"]);
  }
  const at = (path: readonly PathPart[]): string => {
    const line = lineOf(doc, counter, path);
    return line === undefined ? formatPath(path) : `${formatPath(path)} (line ${line})`;
  };

  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    options.warn?.(m);
  };

  // First pass finds unknown keys; they are warnings, so drop them and validate again.
  let result = homeserverSchema.safeParse(js);
  if (!result.success) {
    const unknown = result.error.issues.filter((i) => i.code === "unrecognized_keys");
    if (unknown.length > 0) {
      for (const issue of unknown) {
        const known = knownKeysAt(homeserverSchema, issue.path as PathPart[]);
        for (const key of issue.keys) {
          const near = nearestKey(key, known);
          warn(`${at([...(issue.path as PathPart[]), key])}: unknown key, ignored${near ? ` (did you mean ${near}?)` : ""}`);
        }
        deleteAt(js, issue.path as PathPart[], issue.keys);
      }
      result = homeserverSchema.safeParse(js);
    }
  }
  if (!result.success) throw new ConfigError(fileName, describeIssues(result.error, at));
  const raw = result.data;
  const problems: string[] = [];
  const abs = (p: string): string => (p === ":memory:" || isAbsolute(p) ? p : resolve(baseDir, p));
  const absOpt = (p: string | undefined): string | undefined => (p === undefined ? undefined : abs(p));

  // Cross-field checks: a TLS listener needs a certificate (unless ACME provides it).
  raw.listeners.forEach((l, i) => {
    if (l.tls && !raw.acme?.enabled) {
      if (!raw.tls_certificate_path) problems.push(`${at(["listeners", i, "tls"])}: a TLS listener needs tls_certificate_path`);
      if (!raw.tls_private_key_path) problems.push(`${at(["listeners", i, "tls"])}: a TLS listener needs tls_private_key_path`);
    }
    if (l.type === "metrics" && !raw.enable_metrics) warn(`${at(["listeners", i, "type"])}: a metrics listener serves nothing unless enable_metrics is true, this listener is skipped`);
    if (l.type !== "http" && l.type !== "metrics") warn(`${at(["listeners", i, "type"])}: listener type "${l.type}" is not supported by Zion, this listener is skipped`);
  });
  // Synapse's rule: open registration needs some verification (captcha, a 3PID, a token) or an explicit confirmation.
  const verified = raw.enable_registration_captcha || raw.registrations_require_3pid.length > 0 || raw.registration_requires_token;
  if (raw.enable_registration && !verified && !raw.enable_registration_without_verification) {
    problems.push(
      `${at(["enable_registration"])}: open registration without email, captcha or token verification must be confirmed with enable_registration_without_verification: true`,
    );
  }

  let logLevel: LogLevel = raw.log_level ?? "info";
  if (raw.log_level === undefined && raw.log_config !== undefined) {
    const lvl = readPythonLogLevel(abs(raw.log_config));
    if (lvl.ok) logLevel = lvl.level;
    else problems.push(`${at(["log_config"])}: ${lvl.reason}`);
  }
  if (problems.length > 0) throw new ConfigError(fileName, problems);

  const serverName = raw.server_name as ServerName;
  const host = serverName.startsWith("[") ? serverName.slice(0, serverName.indexOf("]") + 1) : serverName.split(":")[0]!;
  const baseurl = raw.public_baseurl ?? `https://${host}/`;

  let database: DatabaseConfig;
  const db = raw.database ?? { name: "sqlite3" as const, args: { database: "homeserver.db" } };
  if (db.name === "sqlite3") {
    database = { name: "sqlite3", args: { ...db.args, database: abs(db.args.database) } };
  } else {
    const { dbname, keepalives_count: _c, keepalives_idle: _i, keepalives_interval: _v, ...rest } = db.args;
    const name = rest.database ?? dbname;
    database = { name: "psycopg2", args: { ...rest, ...(name !== undefined ? { database: name } : {}) } };
  }

  const { log_level: _l, database: _d, ...others } = raw;
  const config: HomeserverConfig = {
    ...others,
    server_name: serverName,
    public_baseurl: baseurl.endsWith("/") ? baseurl : `${baseurl}/`,
    signing_key_path: abs(raw.signing_key_path ?? `${host.replace(/[[\]:]/g, "_")}.signing.key`),
    database,
    log_level: logLevel,
    config_dir: baseDir,
    media_store_path: abs(raw.media_store_path),
    ...optional("pid_file", absOpt(raw.pid_file)),
    ...optional("tls_certificate_path", absOpt(raw.tls_certificate_path)),
    ...optional("tls_private_key_path", absOpt(raw.tls_private_key_path)),
    ...optional("log_config", absOpt(raw.log_config)),
    ...optional("registration_shared_secret_path", absOpt(raw.registration_shared_secret_path)),
    ...optional("federation_custom_ca_list", raw.federation_custom_ca_list?.map(abs)),
    ...optional(
      "acme",
      raw.acme && {
        ...raw.acme,
        ...optional("account_key_path", absOpt(raw.acme.account_key_path)),
        ...optional("storage_dir", absOpt(raw.acme.storage_dir)),
        ...optional("ca_bundle", absOpt(raw.acme.ca_bundle)),
      },
    ),
  };
  return { config, warnings };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}

function describeIssues(error: ZodError, at: (path: readonly PathPart[]) => string): string[] {
  const out: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") continue;
    out.push(`${at(issue.path as PathPart[])}: ${issue.message}`);
  }
  return out;
}

/** Reads `root.level` from a Python logging config (Synapse's log_config). */
function readPythonLogLevel(file: string): { ok: true; level: LogLevel } | { ok: false; reason: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return { ok: false, reason: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return { ok: false, reason: `${file} is not valid YAML: ${doc.errors[0]!.message.split("\n")[0]}` };
  const level = doc.getIn(["root", "level"]);
  if (level === undefined || level === null) return { ok: true, level: "info" };
  const map: Record<string, LogLevel> = { DEBUG: "debug", INFO: "info", WARNING: "warn", WARN: "warn", ERROR: "error", CRITICAL: "fatal", NOTSET: "trace" };
  const l = map[String(level).toUpperCase()];
  return l ? { ok: true, level: l } : { ok: false, reason: `${file}: root.level ${JSON.stringify(level)} is not a Python log level` };
}

/** Reads and parses a config file; an unreadable file is a ConfigError too. */
export function loadConfigWithWarnings(path: string, options: Omit<ParseOptions, "baseDir" | "fileName"> = {}): LoadedConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? `${file} does not exist` : code === "EACCES" ? `${file} is not readable by this user` : `${file} cannot be read`;
    throw new ConfigError(file, [`cannot read the config file: ${why} (${code ?? String(e)})`]);
  }
  return parseConfigWithWarnings(text, { ...options, baseDir: dirname(file), fileName: file });
}

export function loadConfig(path: string, options: Omit<ParseOptions, "baseDir" | "fileName"> = {}): HomeserverConfig {
  return loadConfigWithWarnings(path, options).config;
}
