/**
 * A private PostgreSQL for tests, from Debian's postgresql 15 binaries.
 *
 * `startTestPostgres()` runs initdb into a fresh temporary directory and
 * starts `postgres` listening on 127.0.7.1 (the storage helper's loopback
 * range) at a free port, plus a unix socket in the same directory. initdb and
 * postgres refuse to run as root, so when the tests run as root both are
 * started as the `postgres` OS user (the spawn's uid/gid, which is what
 * `runuser -u postgres --` does) and the directory is handed to that user.
 * The package's default cluster is never used or touched.
 *
 * With ZION_TEST_PG_URL set (postgres://user:pass@host:port/db), that server is
 * used instead and only the databases created here are dropped at stop.
 *
 * Call `stop()` in an `after()` hook: it shuts the server down (fast mode) and
 * removes the directory, even when tests failed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./ports.js";

export const PG_BIN_DIR = process.env["ZION_TEST_PG_BIN"] ?? "/usr/lib/postgresql/15/bin";
const LISTEN_ADDRESS = "127.0.7.1";

/** Connection settings for one test database, in the shape openPostgresStorage takes. */
export interface TestDatabase {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
}

export interface TestPostgres {
  /** How the server was provided: started here, or ZION_TEST_PG_URL. */
  readonly source: "private" | "env";
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The directory of the server's unix socket (private servers only). */
  readonly socketDir?: string;
  /** Creates an empty database with a unique name. */
  createDatabase(prefix?: string): Promise<TestDatabase>;
  /** Stops the server (or drops the created databases when it is not ours) and removes temporary files. */
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null; // not root: run as ourselves
  const uid = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error("tests run as root but there is no 'postgres' OS user to run initdb as: install Debian's postgresql package (.ci/run does)");
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function waitReady(connect: () => Promise<void>, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
      throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${log.slice(-2000)}`);
    }
    try {
      await connect();
      return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`postgres did not accept connections within ${timeoutMs} ms: ${String(last)}`);
}

let counter = 0;
function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${++counter}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
}

async function adminQuery(conn: pg.ClientConfig, sql: string): Promise<void> {
  const client = new pg.Client(conn);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function fromEnv(url: string): TestPostgres {
  const u = new URL(url);
  const base = {
    host: decodeURIComponent(u.hostname) || "127.0.0.1",
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || "postgres",
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
  const adminDb = u.pathname.replace(/^\//, "") || "postgres";
  const created: string[] = [];
  return {
    source: "env",
    ...base,
    async createDatabase(prefix = "zion_test") {
      const name = uniqueName(prefix);
      await adminQuery({ ...base, database: adminDb }, `CREATE DATABASE ${name}`);
      created.push(name);
      return { ...base, database: name };
    },
    async stop() {
      for (const name of created.splice(0)) {
        await adminQuery({ ...base, database: adminDb }, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      }
    },
  };
}

/** Starts a private PostgreSQL (or connects to ZION_TEST_PG_URL). Throws, never skips, when it cannot. */
export async function startTestPostgres(options: { timeoutMs?: number } = {}): Promise<TestPostgres> {
  const envUrl = process.env["ZION_TEST_PG_URL"];
  if (envUrl) return fromEnv(envUrl);

  const initdb = join(PG_BIN_DIR, "initdb");
  const postgresBin = join(PG_BIN_DIR, "postgres");
  if (!existsSync(initdb) || !existsSync(postgresBin)) {
    throw new Error(`PostgreSQL binaries not found in ${PG_BIN_DIR}: install Debian's postgresql package (.ci/run does) or set ZION_TEST_PG_URL`);
  }
  const owner = postgresUser();
  // As root, use /tmp itself: a TMPDIR under /root would not be reachable by the postgres user.
  const dir = mkdtempSync(join(owner ? "/tmp" : tmpdir(), "zion-pg-"));
  const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const dataDir = join(dir, "data");
  const logFile = join(dir, "postgres.log");
  const user = "zion";
  const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LANG: "C.UTF-8", HOME: dir };

  const init = spawnSync(initdb, ["-D", dataDir, "-U", user, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], {
    cwd: dir, env, encoding: "utf8", timeout: 60_000, ...ids,
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr || init.stdout}`);
  }

  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 3; attempt++) {
    port = await freePort(LISTEN_ADDRESS);
    const logFd = openSync(logFile, "a");
    child = spawn(
      postgresBin,
      [
        "-D", dataDir, "-p", String(port), "-c", `listen_addresses=${LISTEN_ADDRESS}`, "-c", `unix_socket_directories=${dir}`,
        // A throwaway server: durability off for speed.
        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
      ],
      { cwd: dir, env, stdio: ["ignore", logFd, logFd], ...ids },
    );
    closeSync(logFd); // the child has its own copy
    const started = child;
    try {
      await waitReady(() => adminQuery({ host: LISTEN_ADDRESS, port, user, database: "postgres" }, "SELECT 1"), started, logFile, options.timeoutMs ?? 30_000);
      break;
    } catch (e) {
      started.kill("SIGKILL");
      child = undefined;
      const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
      if (attempt === 2 || !/could not bind|Address already in use/.test(log)) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  const server = child!;
  // If the test process exits without calling stop() (a crash, a cancelled run), do not leave postgres behind.
  const onExit = () => {
    if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", onExit);
  const conn = { host: LISTEN_ADDRESS, port, user };
  return {
    source: "private",
    ...conn,
    socketDir: dir,
    async createDatabase(prefix = "zion_test") {
      const name = uniqueName(prefix);
      await adminQuery({ ...conn, database: "postgres" }, `CREATE DATABASE ${name}`);
      return { ...conn, database: name };
    },
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
        server.kill("SIGINT"); // fast shutdown: disconnect clients, then exit
        const timer = setTimeout(() => server.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener("exit", onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The homeserver.yaml `database` section for a backend, for suites that run on both: SQLite (the default, so
 * nothing) or a fresh database on one PostgreSQL server started on first use (`stop()` it after the suite).
 */
export function backendDatabases(prefix: string): { config(backend: "sqlite" | "postgres"): Promise<Record<string, unknown>>; stop(): Promise<void> } {
  let pg: TestPostgres | undefined;
  let n = 0;
  return {
    async config(backend) {
      if (backend === "sqlite") return {};
      pg ??= await startTestPostgres();
      const db = await pg.createDatabase(`${prefix}_${++n}`);
      return { database: { name: "psycopg2", args: { host: db.host, port: db.port, user: db.user, ...(db.password ? { password: db.password } : {}), database: db.database, cp_max: 4 } } };
    },
    async stop() {
      await pg?.stop();
    },
  };
}
