/** TransactionStore and DestinationStore over SQL: inbound txn dedupe and outbound back-off state. */
import type { ServerName } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { DestinationState, DestinationStore, StoredTransactionResponse, TransactionStore } from "../../ports.js";
import { exec, num, numOrNull, query, queryOne, str, type Row, type SqlRunner, type UnitOfWork } from "../uow.js";

/** Records an inbound transaction's answer unless one is stored already; the answer that stands (also persist.ts). */
export function* recordTransactionResponse(origin: ServerName, txnId: string, response: JsonObject, receivedTs: number): UnitOfWork<StoredTransactionResponse> {
  const inserted = yield* exec(
    `INSERT INTO received_transactions (origin, transaction_id, response_json, received_ts) VALUES (?, ?, ?, ?)
     ON CONFLICT (origin, transaction_id) DO NOTHING`,
    origin, txnId, JSON.stringify(response), receivedTs,
  );
  if (inserted === 1) return { response, receivedTs };
  const r = yield* queryOne("SELECT response_json, received_ts FROM received_transactions WHERE origin = ? AND transaction_id = ?", origin, txnId);
  return { response: JSON.parse(str(r!["response_json"])) as JsonObject, receivedTs: num(r!["received_ts"]) };
}

export function sqlTransactionStore(db: SqlRunner): TransactionStore {
  return {
    getTransactionResponse(origin, txnId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT response_json, received_ts FROM received_transactions WHERE origin = ? AND transaction_id = ?", origin, txnId);
        return r ? { response: JSON.parse(str(r["response_json"])) as JsonObject, receivedTs: num(r["received_ts"]) } : null;
      });
    },
    storeTransactionResponse(origin, txnId, response, receivedTs) {
      return db.write(() => recordTransactionResponse(origin, txnId, response, receivedTs));
    },
    purgeTransactionsBefore(beforeTs) {
      return db.write(() => exec("DELETE FROM received_transactions WHERE received_ts < ?", beforeTs));
    },
  };
}

export const DEST_COLUMNS = "destination, failure_ts, retry_last_ts, retry_interval_ms, last_successful_stream_ordering";

export function toDestination(r: Row): DestinationState {
  return {
    destination: str(r["destination"]) as ServerName,
    failureTs: numOrNull(r["failure_ts"]),
    retryLastTs: numOrNull(r["retry_last_ts"]),
    retryIntervalMs: num(r["retry_interval_ms"]),
    lastSuccessfulStreamOrdering: numOrNull(r["last_successful_stream_ordering"]),
  };
}

export function sqlDestinationStore(db: SqlRunner): DestinationStore {
  return {
    getDestination(destination) {
      return db.read(function* () {
        const r = yield* queryOne(`SELECT ${DEST_COLUMNS} FROM destinations WHERE destination = ?`, destination);
        return r ? toDestination(r) : null;
      });
    },
    recordFailure(destination, nowTs, retryIntervalMs) {
      return db.write(function* () {
        const r = yield* queryOne(
          `INSERT INTO destinations (destination, failure_ts, retry_last_ts, retry_interval_ms) VALUES (?, ?, ?, ?)
           ON CONFLICT (destination) DO UPDATE SET
             failure_ts = COALESCE(destinations.failure_ts, excluded.failure_ts),
             retry_last_ts = excluded.retry_last_ts, retry_interval_ms = excluded.retry_interval_ms
           RETURNING ${DEST_COLUMNS}`,
          destination, nowTs, nowTs, retryIntervalMs,
        );
        return toDestination(r!);
      });
    },
    async recordSuccess(destination) {
      await db.write(() =>
        exec(
          `INSERT INTO destinations (destination, failure_ts, retry_last_ts, retry_interval_ms) VALUES (?, NULL, NULL, 0)
           ON CONFLICT (destination) DO UPDATE SET failure_ts = NULL, retry_last_ts = NULL, retry_interval_ms = 0`,
          destination,
        ),
      );
    },
    async setLastSuccessfulStreamOrdering(destination, ordering) {
      await db.write(() =>
        exec(
          `INSERT INTO destinations (destination, retry_interval_ms, last_successful_stream_ordering) VALUES (?, 0, ?)
           ON CONFLICT (destination) DO UPDATE SET last_successful_stream_ordering = excluded.last_successful_stream_ordering`,
          destination, ordering,
        ),
      );
    },
    getDestinationsDueForRetry(nowTs, limit) {
      return db.read(function* () {
        const rows = yield* query(
          `SELECT ${DEST_COLUMNS} FROM destinations
           WHERE failure_ts IS NOT NULL AND retry_last_ts + retry_interval_ms <= ?
           ORDER BY retry_last_ts, destination LIMIT ?`,
          nowTs, limit,
        );
        return rows.map(toDestination);
      });
    },
  };
}
