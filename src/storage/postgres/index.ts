/**
 * The PostgreSQL backend (pg with a Pool), selected by `database.name:
 * psycopg2` as in Synapse. Each write unit of work runs on one pooled client
 * inside BEGIN ... COMMIT, awaiting only its own statements; reads run on one
 * client without a transaction. Migrations take a transaction-scoped advisory
 * lock, so several Zion processes starting at once on one database migrate
 * one at a time.
 *
 * Only src/app/ imports this module.
 */
import pg from "pg";
import type { Storage } from "../ports.js";
import { createSqlStorage, type Dialect } from "../sql/storage.js";
import { toPostgresPlaceholders, type SqlResult, type SqlRunner, type Stmt, type UnitOfWork } from "../sql/uow.js";
import { translatePostgresError } from "./errors.js";

export interface PostgresStorageOptions {
  readonly user?: string;
  readonly password?: string;
  /** A host name, an IP address, or a directory holding the server's unix socket. */
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  /** Pool bounds, Synapse's `cp_min` / `cp_max` (defaults 1 and 10). */
  readonly poolMin?: number;
  readonly poolMax?: number;
  /** Shown in pg_stat_activity (default "zion"). */
  readonly applicationName?: string;
  /** How long to wait for a connection (default 10000 ms). */
  readonly connectTimeoutMs?: number;
  /** Apply pending migrations at open (default true). */
  readonly migrate?: boolean;
  /** Clock for migration timestamps (default Date.now). */
  readonly now?: () => number;
}

/** An arbitrary fixed key for pg_advisory_xact_lock: "zion" in ASCII. */
const MIGRATION_LOCK_KEY = 0x7a696f6e;
/** The first key of the two-key advisory locks that serialise writers of one room ("zr"). */
export const ROOM_LOCK_CLASS = 0x7a72;

export const POSTGRES_DIALECT: Dialect = {
  backend: "postgres",
  migrationLock: { sql: `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`, params: [] },
  tableExistsSql: "SELECT 1 AS one FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = ?",
  streamClaims: {
    // Claims of connections that are gone (a crashed writer) would hold readers back forever: drop them.
    reapSql: `DELETE FROM stream_claims WHERE NOT EXISTS (
      SELECT 1 FROM pg_stat_activity a WHERE a.pid = stream_claims.owner_pid AND a.backend_start::text = stream_claims.owner_started)`,
    claimSql: `INSERT INTO stream_claims (stream_name, first_position, last_position, owner_pid, owner_started)
      SELECT 'events', ?, ?, pg_backend_pid(), a.backend_start::text FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()`,
    releaseSql: "DELETE FROM stream_claims WHERE stream_name = 'events' AND first_position = ?",
  },
  // One statement, so one snapshot: the counter and the claims are read together (docs/storage.md).
  committedPositionSql: `SELECT COALESCE(
      (SELECT MIN(c.first_position) - 1 FROM stream_claims c JOIN pg_stat_activity a
         ON a.pid = c.owner_pid AND a.backend_start::text = c.owner_started WHERE c.stream_name = 'events'),
      (SELECT position FROM stream_positions WHERE stream_name = 'events')) AS position`,
  roomLockSql: `SELECT pg_advisory_xact_lock(${ROOM_LOCK_CLASS}, hashtext(?))`,
};

/** True for errors the server reported with a SQLSTATE (the connection itself is fine). */
function hasSqlState(e: unknown): boolean {
  const code = e instanceof Error ? (e as { code?: unknown }).code : undefined;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
}

class PostgresRunner implements SqlRunner {
  private readonly texts = new Map<string, string>();
  private closed = false;

  constructor(private readonly pool: pg.Pool) {}

  private text(sql: string): string {
    let t = this.texts.get(sql);
    if (t === undefined) {
      t = toPostgresPlaceholders(sql);
      this.texts.set(sql, t);
    }
    return t;
  }

  private async execute(client: pg.PoolClient, stmt: Stmt): Promise<SqlResult> {
    if (stmt.pause) {
      await new Promise((res) => setImmediate(res)); // between statements the connection waits on us anyway
      return { rows: [], changes: 0 };
    }
    if (stmt.script) {
      await client.query(stmt.sql); // simple query protocol: several statements at once
      return { rows: [], changes: 0 };
    }
    const r = await client.query(this.text(stmt.sql), stmt.params as unknown[]);
    return { rows: r.rows as Record<string, unknown>[], changes: r.rowCount ?? 0 };
  }

  private async connect(): Promise<pg.PoolClient> {
    if (this.closed) throw translatePostgresError(new Error("Cannot use a pool after calling end on the pool"));
    try {
      return await this.pool.connect();
    } catch (e) {
      throw translatePostgresError(e);
    }
  }

  async write<T>(work: () => UnitOfWork<T>): Promise<T> {
    const client = await this.connect();
    let broken = false;
    try {
      return await this.transaction(client, work);
    } catch (e) {
      broken = !(await this.rollback(client)); // the connection is gone: do not return it to the pool
      throw translatePostgresError(e);
    } finally {
      client.release(broken);
    }
  }

  async allocateThenWrite<A, T>(allocate: () => UnitOfWork<A>, work: (allocated: A) => UnitOfWork<T>, release: (allocated: A) => UnitOfWork<void>): Promise<T> {
    const client = await this.connect();
    let broken = false;
    let allocated: { value: A } | undefined;
    try {
      allocated = { value: await this.transaction(client, allocate) };
      return await this.transaction(client, () => work(allocated!.value));
    } catch (e) {
      broken = !(await this.rollback(client));
      if (allocated && !broken) {
        // Withdraw the claim now; if this fails too, readers ignore the claim once the connection is gone.
        try {
          await this.transaction(client, () => release(allocated!.value));
        } catch {
          broken = true;
        }
      }
      throw translatePostgresError(e);
    } finally {
      client.release(broken);
    }
  }

  /** BEGIN, the work, COMMIT on one client; the caller rolls back on failure. */
  private async transaction<T>(client: pg.PoolClient, work: () => UnitOfWork<T>): Promise<T> {
    await client.query("BEGIN");
    const g = work();
    let r = g.next();
    while (!r.done) r = g.next(await this.execute(client, r.value));
    await client.query("COMMIT");
    return r.value;
  }

  /** ROLLBACK; false when the connection is gone (do not return it to the pool). */
  private async rollback(client: pg.PoolClient): Promise<boolean> {
    try {
      await client.query("ROLLBACK");
      return true;
    } catch {
      return false;
    }
  }

  async read<T>(work: () => UnitOfWork<T>): Promise<T> {
    const client = await this.connect();
    let broken = false;
    try {
      const g = work();
      let r = g.next();
      while (!r.done) r = g.next(await this.execute(client, r.value));
      return r.value;
    } catch (e) {
      broken = !hasSqlState(e); // a server-reported error leaves the connection usable; anything else may not
      throw translatePostgresError(e);
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** Connects a pool to PostgreSQL and applies pending migrations. */
export async function openPostgresStorage(options: PostgresStorageOptions): Promise<Storage> {
  const config: pg.PoolConfig = {
    max: options.poolMax ?? 10,
    min: Math.min(options.poolMin ?? 1, options.poolMax ?? 10),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? "zion",
  };
  if (options.user !== undefined) config.user = options.user;
  if (options.password !== undefined) config.password = options.password;
  if (options.host !== undefined) config.host = options.host;
  if (options.port !== undefined) config.port = options.port;
  if (options.database !== undefined) config.database = options.database;
  const pool = new pg.Pool(config);
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on("error", () => {});
  const storage = createSqlStorage({ runner: new PostgresRunner(pool), dialect: POSTGRES_DIALECT, now: options.now ?? Date.now });
  try {
    if (options.migrate !== false) await storage.migrate();
    else await storage.ping();
  } catch (e) {
    await storage.close();
    throw e;
  }
  return storage;
}
