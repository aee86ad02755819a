/**
 * The embedded SQLite backend (better-sqlite3 v12): WAL journal, a busy
 * timeout for other processes holding the write lock, and one connection that
 * is this process's single writer. better-sqlite3 is synchronous, so each unit
 * of work runs start to finish inside one `BEGIN IMMEDIATE` transaction
 * without yielding to the event loop; the port stays async.
 *
 * Only src/app/ imports this module.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { Storage } from "../ports.js";
import { createSqlStorage, type Dialect } from "../sql/storage.js";
import type { SqlResult, SqlRunner, Stmt, UnitOfWork } from "../sql/uow.js";
import { Database } from "./driver.js";
import { translateSqliteError } from "./errors.js";

export interface SqliteStorageOptions {
  /** A file path, or ":memory:" for a private in-memory database. */
  readonly path: string;
  /** How long to wait for another process's write lock before failing (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** Apply pending migrations at open (default true; the doctor opens with false to inspect). */
  readonly migrate?: boolean;
  /** Fail with StorageUnavailableError instead of creating a missing file (the doctor inspects, never creates). */
  readonly mustExist?: boolean;
  /** Clock for migration timestamps (default Date.now). */
  readonly now?: () => number;
}

export const SQLITE_DIALECT: Dialect = {
  backend: "sqlite",
  migrationLock: null, // BEGIN IMMEDIATE already excludes other writers
  tableExistsSql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
  // One writer at a time: positions are taken inside the write transaction, so they commit in order and the
  // counter itself is the committed position.
  streamClaims: null,
  committedPositionSql: "SELECT position FROM stream_positions WHERE stream_name = 'events'",
  roomLockSql: null,
};

type Db = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement<unknown[], unknown>;

class SqliteRunner implements SqlRunner {
  private readonly statements = new Map<string, Statement>();
  private readonly txn: { immediate(f: () => unknown): unknown; deferred(f: () => unknown): unknown };

  constructor(private readonly db: Db) {
    const t = db.transaction((f: () => unknown) => f());
    this.txn = { immediate: (f) => t.immediate(f), deferred: (f) => t.deferred(f) };
  }

  private execute(stmt: Stmt): SqlResult {
    if (stmt.script) {
      this.db.exec(stmt.sql);
      return { rows: [], changes: 0 };
    }
    let s = this.statements.get(stmt.sql);
    if (!s) {
      s = this.db.prepare<unknown[]>(stmt.sql);
      this.statements.set(stmt.sql, s);
    }
    if (s.reader) {
      const rows = s.all(...stmt.params) as Record<string, unknown>[];
      return { rows, changes: rows.length };
    }
    return { rows: [], changes: s.run(...stmt.params).changes };
  }

  private drive<T>(work: () => UnitOfWork<T>): T {
    const g = work();
    let r = g.next();
    while (!r.done) r = g.next(this.execute(r.value));
    return r.value;
  }

  async write<T>(work: () => UnitOfWork<T>): Promise<T> {
    try {
      return this.txn.immediate(() => this.drive(work)) as T;
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  async allocateThenWrite<A, T>(allocate: () => UnitOfWork<A>, work: (allocated: A) => UnitOfWork<T>): Promise<T> {
    return this.write(function* () {
      return yield* work(yield* allocate());
    });
  }

  async read<T>(work: () => UnitOfWork<T>): Promise<T> {
    try {
      return this.txn.deferred(() => this.drive(work)) as T;
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  async close(): Promise<void> {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}

/** Opens (creating if needed) a SQLite database and applies pending migrations. */
export async function openSqliteStorage(options: SqliteStorageOptions): Promise<Storage> {
  const memory = options.path === ":memory:" || options.path === "";
  if (!memory && !options.mustExist) mkdirSync(dirname(options.path), { recursive: true });
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  let db: Db;
  try {
    db = new Database(options.path, { timeout: busyTimeoutMs, fileMustExist: options.mustExist === true });
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    if (!memory) db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
  } catch (e) {
    throw translateSqliteError(e);
  }
  const storage = createSqlStorage({ runner: new SqliteRunner(db), dialect: SQLITE_DIALECT, now: options.now ?? Date.now });
  if (options.migrate !== false) {
    try {
      await storage.migrate();
    } catch (e) {
      await storage.close();
      throw e;
    }
  }
  return storage;
}
