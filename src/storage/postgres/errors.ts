/** pg errors (SQLSTATE codes) -> storage's typed errors; anything else passes through unchanged. */
import { ConstraintViolationError, StorageError, StorageUnavailableError, UniqueViolationError } from "../ports.js";
import { entityOfTable } from "../sql/storage.js";

/** https://www.postgresql.org/docs/15/errcodes-appendix.html */
export function translatePostgresError(e: unknown): unknown {
  if (e instanceof StorageError || !(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  if (code === "23505") {
    const what = entityOfTable((e as { table?: string }).table);
    return new UniqueViolationError(what, `${what} already exists (${e.message})`, { cause: e });
  }
  if (typeof code === "string" && code.startsWith("23")) {
    // 23502 not_null_violation, 23503 foreign_key_violation, 23514 check_violation
    return new ConstraintViolationError(`invalid row: ${e.message}`, { cause: e });
  }
  if (
    (typeof code === "string" && (code.startsWith("08") || code.startsWith("57P") || code === "53300")) ||
    code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ECONNRESET" || code === "ETIMEDOUT" || code === "EHOSTUNREACH" ||
    /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end/.test(e.message)
  ) {
    return new StorageUnavailableError(`PostgreSQL: ${e.message}`, { cause: e });
  }
  return e;
}
