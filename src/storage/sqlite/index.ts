/**
 * The embedded SQLite backend (better-sqlite3 v12): WAL journal, a busy
 * timeout for other processes holding the write lock, one connection that is
 * this process's single writer and one for reads. better-sqlite3 is
 * synchronous; a write runs in one `BEGIN IMMEDIATE` transaction and gives
 * the event loop a turn between statements every few milliseconds, which
 * reads cannot notice: they use the other connection and see only commits.
 * A read of one statement runs bare (a statement reads one snapshot); a read
 * of more runs in BEGIN ... COMMIT. The WAL is checkpointed by a worker thread
 * (checkpointer.ts).
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
import { Checkpointer } from "./checkpointer.js";

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

/** A write running longer than this gives the event loop a turn before its next statement. */
const WRITE_SLICE_MS = 8;

/** One connection's prepared statements. */
class Connection {
  private readonly statements = new Map<string, Statement>();
  constructor(readonly db: Db) {}

  execute(stmt: Stmt): SqlResult {
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

  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}

const NO_RESULT: SqlResult = { rows: [], changes: 0 };

/**
 * The writer connection and, for a file, a second connection for reads. Writes queue behind one another
 * (this process's single writer) and run in BEGIN IMMEDIATE ... COMMIT; a long write gives the event loop a
 * turn every WRITE_SLICE_MS between two statements, which is safe because reads use the other connection
 * (WAL: they see only committed data). A :memory: database has one connection, so its writes never yield.
 */
class SqliteRunner implements SqlRunner {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly writer: Connection,
    private readonly reader: Connection | null,
    private readonly busyTimeoutMs: number,
    private readonly checkpointer: Checkpointer | null,
  ) {}

  /**
   * BEGIN IMMEDIATE, waiting for another connection's write lock without blocking the event loop: the writer
   * connection has no busy handler, so a busy database is retried here, asynchronously, up to the busy
   * timeout. (A synchronous wait would also deadlock two connections of one process when the holder is a
   * sliced write waiting for its next event-loop turn.)
   */
  private async begin(): Promise<void> {
    const deadline = performance.now() + this.busyTimeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
      try {
        this.writer.db.exec("BEGIN IMMEDIATE");
        return;
      } catch (e) {
        if ((e as { code?: unknown }).code !== "SQLITE_BUSY" || performance.now() >= deadline) throw e;
      }
      await new Promise((res) => setTimeout(res, delay));
    }
  }

  private async run<T>(work: () => UnitOfWork<T>): Promise<T> {
    const c = this.writer;
    const sliced = this.reader !== null;
    await this.begin();
    try {
      const g = work();
      let slice = performance.now();
      let r = g.next();
      while (!r.done) {
        const stmt = r.value;
        if (sliced && (stmt.pause || performance.now() - slice > WRITE_SLICE_MS)) {
          await new Promise((res) => setImmediate(res));
          slice = performance.now();
        }
        r = g.next(stmt.pause ? NO_RESULT : c.execute(stmt));
      }
      c.db.exec("COMMIT");
      this.checkpointer?.committed();
      return r.value;
    } catch (e) {
      if (c.db.inTransaction) c.db.exec("ROLLBACK");
      throw e;
    }
  }

  write<T>(work: () => UnitOfWork<T>): Promise<T> {
    const next = this.queue.then(
      () => this.run(work),
      () => this.run(work),
    );
    this.queue = next.catch(() => {});
    return next.catch((e: unknown) => {
      throw translateSqliteError(e);
    });
  }

  allocateThenWrite<A, T>(allocate: () => UnitOfWork<A>, work: (allocated: A) => UnitOfWork<T>): Promise<T> {
    return this.write(function* () {
      return yield* work(yield* allocate());
    });
  }

  async read<T>(work: () => UnitOfWork<T>): Promise<T> {
    const c = this.reader ?? this.writer;
    try {
      if (!this.reader && c.db.inTransaction) {
        // :memory: only: a write is not sliced, so this cannot see one half done; read inside it.
        return this.drive(c, work);
      }
      // One statement reads one snapshot by itself: a unit that is one statement (most reads) runs bare, without
      // BEGIN and COMMIT around it. A unit that yields a second statement is abandoned and run again from the
      // start in a transaction, so all its statements read one snapshot (units of work are free of side effects).
      const g = work();
      let r = g.next();
      if (!r.done) {
        r = g.next(r.value.pause ? NO_RESULT : c.execute(r.value));
        if (!r.done) {
          g.return(undefined as T);
          c.db.exec("BEGIN");
          try {
            return this.drive(c, work);
          } finally {
            if (c.db.inTransaction) c.db.exec("COMMIT");
          }
        }
      }
      return r.value;
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  private drive<T>(c: Connection, work: () => UnitOfWork<T>): T {
    const g = work();
    let r = g.next();
    while (!r.done) r = g.next(r.value.pause ? NO_RESULT : c.execute(r.value));
    return r.value;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.checkpointer?.close();
    this.reader?.close();
    this.writer.close();
  }
}

function connect(path: string, busyTimeoutMs: number, fileMustExist: boolean, memory: boolean): Db {
  const db = new Database(path, { timeout: busyTimeoutMs, fileMustExist });
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  if (!memory) db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  return db;
}

/** Opens (creating if needed) a SQLite database and applies pending migrations. */
export async function openSqliteStorage(options: SqliteStorageOptions): Promise<Storage> {
  const memory = options.path === ":memory:" || options.path === "";
  if (!memory && !options.mustExist) mkdirSync(dirname(options.path), { recursive: true });
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  let runner: SqliteRunner;
  try {
    const db = connect(options.path, busyTimeoutMs, options.mustExist === true, memory);
    let reader: Db | null = null;
    try {
      reader = memory ? null : connect(options.path, busyTimeoutMs, true, false);
    } catch (e) {
      db.close();
      throw e;
    }
    db.pragma("busy_timeout = 0"); // the writer waits asynchronously (SqliteRunner.begin)
    // A file's WAL is checkpointed by a worker thread (checkpointer.ts), not inside the writer's commits.
    const checkpointer = reader ? new Checkpointer(options.path, db) : null;
    runner = new SqliteRunner(new Connection(db), reader ? new Connection(reader) : null, busyTimeoutMs, checkpointer);
  } catch (e) {
    throw translateSqliteError(e);
  }
  const storage = createSqlStorage({ runner, dialect: SQLITE_DIALECT, now: options.now ?? Date.now });
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
