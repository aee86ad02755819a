/**
 * Start a Zion for a test, from a config object, in-process or as a child
 * process running the real CLI; stop it. Each server gets its own temporary
 * folder (signing key, self-signed certificate, SQLite database), listeners
 * on ephemeral ports (port 0) of 127.0.0.1 unless the config says otherwise,
 * and is removed at stop.
 *
 *   const zion = await startTestServer({ serverName: "zion.test" });
 *   after(() => zion.stop());
 *   await fetch(`${zion.clientUrl}/_matrix/client/versions`);
 *   await fetch(`${zion.federationUrl}/_matrix/key/v2/server`, { dispatcher: insecureAgent }); // self-signed
 *
 * `config` holds homeserver.yaml keys (Synapse names) laid over the defaults
 * below, so a test says only what it cares about.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { parseConfigWithWarnings, type HomeserverConfig } from "../../src/config/index.js";
import type { SigningKey } from "../../src/core/crypto/index.js";
import type { Storage } from "../../src/storage/ports.js";
import {
  createLogger,
  generateSelfSignedCertificate,
  newSigningKey,
  startHomeserver,
  writeSigningKeyFile,
  type Homeserver,
  type StartOptions,
} from "../../src/app/index.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled CLI (dist/src/cli/main.js), next to this compiled harness (dist/test/harness). */
export const ZION_MAIN = resolve(here, "../../src/cli/main.js");

export interface TestServerOptions {
  /** Default "zion.test". */
  readonly serverName?: string;
  /** homeserver.yaml keys laid over the defaults (top-level keys replace the defaults' ones). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** "in-process" (default) or "child" (runs `node dist/src/cli/main.js start -c ...`). */
  readonly mode?: "in-process" | "child";
  /** Use this key instead of a new one. */
  readonly signingKey?: SigningKey;
  /** Use this certificate instead of a new self-signed one (e.g. from test/harness/test-ca.ts). */
  readonly tls?: { readonly certificatePath: string; readonly privateKeyPath: string };
  /** In-process only: passed to startHomeserver (federationAuth, clock, storage, extraRoutes ...). */
  readonly startOptions?: StartOptions;
  /** In-process only: run on this storage (e.g. a PostgreSQL one from test/harness/postgres.ts) instead of SQLite; closed at stop. */
  readonly storage?: Storage;
  /** Child only: extra environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Child only: options for node itself, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  readonly nodeArgs?: readonly string[];
  /** Milliseconds to wait for the server to be ready (default 30000: a hang bound, generous for a loaded machine). */
  readonly timeoutMs?: number;
  /**
   * Run in this folder (created by the caller, kept at stop) instead of a new temporary one, so a later
   * startTestServer with the same folder, signing key and config restarts the same server on its database.
   */
  readonly dir?: string;
}

export interface TestServer {
  readonly serverName: string;
  readonly dir: string;
  readonly configPath: string;
  readonly config: HomeserverConfig;
  readonly signingKey: SigningKey;
  /** http://127.0.0.1:PORT of the first listener serving "client" (undefined if none). */
  readonly clientUrl: string | undefined;
  /** https://127.0.0.1:PORT of the first listener serving "federation" (undefined if none). */
  readonly federationUrl: string | undefined;
  /** Every bound address, in config order. */
  readonly listeners: readonly { index: number; host: string; port: number; tls: boolean; resources: readonly string[] }[];
  /** In-process mode: the running homeserver. */
  readonly homeserver: Homeserver | undefined;
  /** Child mode: the process and what it printed so far. */
  readonly child: ChildProcess | undefined;
  readonly output: { stdout: string; stderr: string };
  /** Graceful stop (SIGTERM for a child); resolves to the child's exit code (0 in-process). Removes the folder (unless `dir` was given). */
  stop(): Promise<number | null>;
}

export function defaultTestConfig(serverName: string, dir: string, tls: { certificatePath: string; privateKeyPath: string }): Record<string, unknown> {
  return {
    server_name: serverName,
    public_baseurl: "http://127.0.0.1/",
    listeners: [
      { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] },
      { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: true, resources: [{ names: ["federation"] }] },
    ],
    tls_certificate_path: tls.certificatePath,
    tls_private_key_path: tls.privateKeyPath,
    signing_key_path: join(dir, "signing.key"),
    database: { name: "sqlite3", args: { database: join(dir, "homeserver.db") } },
    media_store_path: join(dir, "media_store"),
    log_level: "warn",
    trusted_key_servers: [],
  };
}

function urlOf(listeners: TestServer["listeners"], resource: string): string | undefined {
  const l = listeners.find((x) => x.resources.includes(resource));
  return l && `${l.tls ? "https" : "http"}://${l.host.includes(":") ? `[${l.host}]` : l.host}:${l.port}`;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const serverName = options.serverName ?? "zion.test";
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "zion-test-"));
  const removeDir = options.dir === undefined;
  try {
    const tls = options.tls ?? { certificatePath: join(dir, "tls.crt"), privateKeyPath: join(dir, "tls.key") };
    if (!options.tls) generateSelfSignedCertificate(serverName.split(":")[0]!, tls.certificatePath, tls.privateKeyPath, 30);
    const signingKey = options.signingKey ?? newSigningKey();
    const raw: Record<string, unknown> = { ...defaultTestConfig(serverName, dir, tls), ...(options.config ?? {}) };
    if (options.mode === "child") raw["log_level"] = "info"; // the harness reads the "listening" lines
    const signingKeyPath = String(raw["signing_key_path"]);
    if (!options.config || !("signing_key_path" in options.config)) writeSigningKeyFile(signingKeyPath, [signingKey]);
    const configPath = join(dir, "homeserver.yaml");
    const text = stringify(raw);
    writeFileSync(configPath, text);
    const { config } = parseConfigWithWarnings(text, { baseDir: dir, fileName: configPath });
    if (options.mode === "child") return await startChild(serverName, dir, configPath, config, signingKey, options, removeDir);
    const homeserver = await startHomeserver(config, {
      logger: createLogger(config.log_level),
      ...(options.storage ? { storage: options.storage } : {}),
      ...(options.startOptions ?? {}),
    });
    return assemble({ serverName, dir, configPath, config, signingKey }, homeserver.listeners.map((l) => ({ ...l })), {
      removeDir,
      homeserver,
      child: undefined,
      output: { stdout: "", stderr: "" },
      stopProcess: () => homeserver.stop().then(() => 0),
    });
  } catch (e) {
    if (removeDir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function startChild(
  serverName: string,
  dir: string,
  configPath: string,
  config: HomeserverConfig,
  signingKey: SigningKey,
  options: TestServerOptions,
  removeDir: boolean,
): Promise<TestServer> {
  const proc = runZion(["start", "-c", configPath], { cwd: dir, ...(options.env ? { env: options.env } : {}), ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}) });
  const listeners: { index: number; host: string; port: number; tls: boolean; resources: readonly string[] }[] = [];
  try {
    await proc.waitForLine((line) => {
      const msg = parseLogLine(line);
      if (msg?.["msg"] === "listening") {
        listeners.push({ index: Number(msg["listener"]), host: String(msg["host"]), port: Number(msg["port"]), tls: msg["tls"] === true, resources: msg["resources"] as string[] });
      }
      return msg?.["msg"] === "ready";
    }, options.timeoutMs ?? 30_000);
  } catch (e) {
    await proc.kill();
    if (removeDir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return assemble({ serverName, dir, configPath, config, signingKey }, listeners, {
    removeDir,
    homeserver: undefined,
    child: proc.child,
    output: proc.output,
    stopProcess: () => proc.stop(),
  });
}

/** The TestServer both modes return: URLs from the listeners, and a stop() that runs once and removes the dir. */
function assemble(
  base: Pick<TestServer, "serverName" | "dir" | "configPath" | "config" | "signingKey">,
  listeners: TestServer["listeners"],
  mode: Pick<TestServer, "homeserver" | "child" | "output"> & { removeDir: boolean; stopProcess(): Promise<number | null> },
): TestServer {
  let stopped: Promise<number | null> | undefined;
  return {
    ...base,
    listeners,
    clientUrl: urlOf(listeners, "client"),
    federationUrl: urlOf(listeners, "federation"),
    homeserver: mode.homeserver,
    child: mode.child,
    output: mode.output,
    stop() {
      stopped ??= mode.stopProcess().then((code) => {
        if (mode.removeDir) rmSync(base.dir, { recursive: true, force: true });
        return code;
      });
      return stopped;
    },
  };
}

export function parseLogLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export interface ZionProcess {
  readonly child: ChildProcess;
  readonly output: { stdout: string; stderr: string };
  /** Resolves when a stdout line satisfies `test`; rejects on exit or timeout. */
  waitForLine(test: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited(): Promise<number | null>;
  /** SIGTERM and wait (SIGKILL after 10 s). */
  stop(): Promise<number | null>;
  /** SIGINT (Ctrl-C) and wait (SIGKILL after 10 s). */
  interrupt(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<number | null>;
}

/** Runs the compiled `zion` CLI with arguments. */
export function runZion(args: readonly string[], opts: { cwd: string; env?: Readonly<Record<string, string>>; nodeArgs?: readonly string[] }): ZionProcess {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ZION_MAIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  const lineListeners = new Set<(line: string) => void>();
  let partial = "";
  child.stdout!.on("data", (c: Buffer) => {
    output.stdout += c.toString();
    partial += c.toString();
    const lines = partial.split("\n");
    partial = lines.pop()!;
    for (const l of lines) for (const f of lineListeners) f(l);
  });
  child.stderr!.on("data", (c: Buffer) => (output.stderr += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exit.then((c) => (exitCode = c));
  const exited = (): Promise<number | null> => exit;
  const signalAndWait = async (signal: NodeJS.Signals, graceMs: number): Promise<number | null> => {
    if (exitCode !== undefined) return exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    try {
      return await exit;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    child,
    output,
    exited,
    waitForLine(test, timeoutMs) {
      for (const l of output.stdout.split("\n")) if (test(l)) return Promise.resolve(l);
      return new Promise<string>((resolve, reject) => {
        const done = (): void => {
          lineListeners.delete(onLine);
          clearTimeout(timer);
        };
        const onLine = (l: string): void => {
          if (test(l)) {
            done();
            resolve(l);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`zion did not print the expected line within ${timeoutMs} ms\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`));
        }, timeoutMs);
        lineListeners.add(onLine);
        void exit.then((code) => {
          if (!lineListeners.has(onLine)) return;
          done();
          reject(new Error(`zion exited (code ${code}) before printing the expected line\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`));
        });
      });
    },
    stop: () => signalAndWait("SIGTERM", 10_000),
    interrupt: () => signalAndWait("SIGINT", 10_000),
    kill: () => signalAndWait("SIGKILL", 1_000),
  };
}
