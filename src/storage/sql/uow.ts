/**
 * Units of work: storage logic is written once, as a generator that yields SQL
 * statements and receives their results. A backend runs the generator inside
 * one transaction: SQLite synchronously (better-sqlite3 is synchronous, so a
 * unit of work never interleaves with another and never holds the write lock
 * across an await), PostgreSQL with an await per statement on one pooled
 * client. Nothing but SQL can happen between two statements, so no
 * transaction ever spans a network await other than the database's own.
 *
 * SQL texts use `?` placeholders; the PostgreSQL backend rewrites them to
 * `$1..$n`. One SQL text serves both engines (STYLE C8).
 */

/** A value bound to a placeholder. Booleans are stored as 0/1 integers on both engines. */
export type SqlValue = string | number | null;

export interface Stmt {
  readonly sql: string;
  readonly params: readonly SqlValue[];
  /** A multi-statement script without parameters (migrations). */
  readonly script?: boolean;
  /** Not a statement: a point where a long unit of work may let the event loop run (SQLite writes). */
  readonly pause?: boolean;
}

/** Rows come back as plain objects; BIGINT may arrive as a string from pg, so read numbers with `num`. */
export type Row = Readonly<Record<string, unknown>>;

export interface SqlResult {
  readonly rows: readonly Row[];
  /** Rows changed by INSERT/UPDATE/DELETE. */
  readonly changes: number;
}

export type UnitOfWork<T> = Generator<Stmt, T, SqlResult>;

/** Runs units of work against one database; implemented by each backend. */
export interface SqlRunner {
  /** Runs `work` in one write transaction (all or nothing). */
  write<T>(work: () => UnitOfWork<T>): Promise<T>;
  /**
   * A write whose ids are allocated first. PostgreSQL runs `allocate` in a short transaction of its own and
   * commits it before `work(allocated)` starts in the write transaction, so the counters' row locks are held for
   * the allocation only and other writers proceed; when the write fails, `release(allocated)` runs after the
   * rollback (to withdraw a stream claim). SQLite has one writer at a time, so it runs both in one transaction.
   */
  allocateThenWrite<A, T>(allocate: () => UnitOfWork<A>, work: (allocated: A) => UnitOfWork<T>, release: (allocated: A) => UnitOfWork<void>): Promise<T>;
  /** Runs `work` as reads (a consistent snapshot where the engine offers one cheaply). */
  read<T>(work: () => UnitOfWork<T>): Promise<T>;
  close(): Promise<void>;
}

export function* query(sql: string, ...params: SqlValue[]): UnitOfWork<readonly Row[]> {
  const r = yield { sql, params };
  return r.rows;
}

export function* queryOne(sql: string, ...params: SqlValue[]): UnitOfWork<Row | undefined> {
  const r = yield { sql, params };
  return r.rows[0];
}

export function* exec(sql: string, ...params: SqlValue[]): UnitOfWork<number> {
  const r = yield { sql, params };
  return r.changes;
}

/** Lets a long write give the event loop a turn here (long loops without statements call it now and then). */
export function* pause(): UnitOfWork<void> {
  yield { sql: "", params: [], pause: true };
}

export function* script(sql: string): UnitOfWork<void> {
  yield { sql, params: [], script: true };
}

/** `(?, ?, ?)` for an IN list of n values (n >= 1). */
export function placeholders(n: number): string {
  return `(${new Array<string>(n).fill("?").join(", ")})`;
}

/** `(?, ?), (?, ?)` for a multi-row VALUES list of `rows` rows of `cols` columns. */
export function valuesList(rows: number, cols: number): string {
  const one = placeholders(cols);
  return new Array<string>(rows).fill(one).join(", ");
}

/** Splits a list so that IN lists stay well under every engine's parameter limit. */
export function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A number column (pg returns BIGINT as a string). */
export function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint" || typeof v === "string") return Number(v);
  throw new TypeError(`expected a number column, got ${typeof v}`);
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

export function str(v: unknown): string {
  if (typeof v !== "string") throw new TypeError(`expected a text column, got ${typeof v}`);
  return v;
}

export function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : str(v);
}

export function bool(v: unknown): boolean {
  return num(v) !== 0;
}

/** Rewrites `?` placeholders outside quotes to PostgreSQL's `$n`. */
export function toPostgresPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === "?") {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  return out;
}
