/** better-sqlite3 errors -> storage's typed errors; anything else passes through unchanged. */
import { ConstraintViolationError, StorageError, StorageUnavailableError, UniqueViolationError } from "../ports.js";
import { entityOfTable } from "../sql/storage.js";

export function translateSqliteError(e: unknown): unknown {
  if (e instanceof StorageError || !(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    // "UNIQUE constraint failed: users.user_id"
    const table = /failed: ([A-Za-z0-9_]+)\./.exec(e.message)?.[1];
    const what = entityOfTable(table);
    return new UniqueViolationError(what, `${what} already exists (${e.message})`, { cause: e });
  }
  if (typeof code === "string" && code.startsWith("SQLITE_CONSTRAINT")) {
    return new ConstraintViolationError(`invalid row: ${e.message}`, { cause: e });
  }
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED" || code === "SQLITE_CANTOPEN" || code === "SQLITE_READONLY") {
    return new StorageUnavailableError(`SQLite: ${e.message}`, { cause: e });
  }
  if (e instanceof TypeError && /database connection is not open/.test(e.message)) {
    return new StorageUnavailableError("the SQLite database is closed", { cause: e });
  }
  if (e instanceof TypeError && /Cannot open database/.test(e.message)) {
    return new StorageUnavailableError(`SQLite: ${e.message}`, { cause: e });
  }
  return e;
}
