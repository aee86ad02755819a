/**
 * OutboundStore over SQL: the federation sender's durable per-destination queue (migration 0007).
 *
 * PDU rows are written by persistEvents (queueOutboundPdus below) in the events' transaction. A transaction is
 * built by marking rows with a fresh txn id and writing the federation_outbound_txns row in one unit of work, so
 * a crash at any point leaves either no transaction (the rows are still queued) or one whose id and contents are
 * fixed; completing it deletes exactly its rows.
 */
import { randomBytes } from "node:crypto";
import type { EventId, RoomId, ServerName } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { DestinationSummary, OutboundPdus, OutboundStore, OutboundTransaction, StreamOrdering } from "../../ports.js";
import { chunks, exec, num, numOrNull, query, queryOne, str, strOrNull, valuesList, type SqlValue, type SqlRunner, type UnitOfWork } from "../uow.js";
import { storedRaw } from "./events.js";
import { DEST_COLUMNS, toDestination } from "./federation.js";

/** In persistEvents' transaction: one queue row per (destination, event written to the timeline). */
export function* queueOutboundPdus(outbound: OutboundPdus, orderings: ReadonlyMap<EventId, StreamOrdering>, roomOf: ReadonlyMap<EventId, RoomId>): UnitOfWork<void> {
  const rows: SqlValue[][] = [];
  for (const id of new Set(outbound.eventIds)) {
    const o = orderings.get(id);
    if (o === undefined || o <= 0) continue; // stored already, or not on the timeline
    for (const d of new Set(outbound.destinations)) rows.push([d, o, id, roomOf.get(id)!]);
  }
  for (const part of chunks(rows, 200)) {
    yield* exec(
      `INSERT INTO federation_outbound_pdus (destination, stream_ordering, event_id, room_id) VALUES ${valuesList(part.length, 4)}
       ON CONFLICT (destination, stream_ordering) DO NOTHING`,
      ...part.flat(),
    );
  }
}

/** The stored transaction; `withEdus` / `withPdus` false skip a read known to find nothing. */
function* loadTransaction(destination: ServerName, txnId: string, originServerTs: number, withEdus: boolean, withPdus = true): UnitOfWork<OutboundTransaction> {
  const pduRows = !withPdus ? [] : yield* query(
    `SELECT q.event_id, q.stream_ordering, e.room_version, e.json FROM federation_outbound_pdus q JOIN events e ON e.event_id = q.event_id
     WHERE q.destination = ? AND q.txn_id = ? ORDER BY q.stream_ordering`,
    destination, txnId,
  );
  const eduRows = !withEdus ? [] : yield* query("SELECT edu_json FROM federation_outbound_edus WHERE destination = ? AND txn_id = ? ORDER BY edu_id", destination, txnId);
  return {
    destination,
    txnId,
    originServerTs,
    pdus: pduRows.map((r) => ({ eventId: str(r["event_id"]) as EventId, streamOrdering: num(r["stream_ordering"]), json: storedRaw(r) })),
    edus: eduRows.map((r) => JSON.parse(str(r["edu_json"])) as JsonObject),
  };
}

/**
 * A transaction id no earlier transaction of this server used: the time and 72 random bits. Not a counter row, which
 * every destination's worker would bump and which PostgreSQL would hold locked until each one's commit, so that 20
 * destinations' transactions were built one after another. The id is stored with the transaction, so a retry after a
 * crash sends the same id (and the receiver's per-origin deduplication holds).
 */
function newTxnId(nowTs: number): string {
  return `z${nowTs.toString(36)}${randomBytes(9).toString("base64url")}`;
}

function* bump(stream: string, n: number): UnitOfWork<number> {
  const row = yield* queryOne("UPDATE stream_positions SET position = position + ? WHERE stream_name = ? RETURNING position", n, stream);
  return num(row!["position"]);
}

function* insertEdus(destinations: readonly ServerName[], edu: JsonObject, txnId: string | null): UnitOfWork<void> {
  const unique = [...new Set(destinations)];
  if (unique.length === 0) return;
  const last = yield* bump("federation_edus", unique.length);
  const json = JSON.stringify(edu);
  const rows = unique.map((d, i) => [d, last - unique.length + 1 + i, json, txnId]);
  for (const part of chunks(rows, 200)) {
    yield* exec(`INSERT INTO federation_outbound_edus (destination, edu_id, edu_json, txn_id) VALUES ${valuesList(part.length, 4)}`, ...part.flat());
  }
}

export function sqlOutboundStore(db: SqlRunner): OutboundStore {
  return {
    async enqueueEdus(destinations, edu) {
      await db.write(() => insertEdus(destinations, edu, null));
    },

    async nextTransaction(destination, limits, nowTs, extraEdus = []) {
      // Nothing in flight and nothing queued is the usual answer after a transaction completes: one read says so,
      // without a write transaction. Rows queued after this read wake the sender again (pdusQueued, enqueueEdu).
      if (extraEdus.length === 0) {
        const any = await db.read(() => queryOne(
          `SELECT 1 AS x FROM federation_outbound_txns WHERE destination = ?
           UNION ALL SELECT 1 FROM (SELECT 1 AS x FROM federation_outbound_pdus WHERE destination = ? AND txn_id IS NULL LIMIT 1) p
           UNION ALL SELECT 1 FROM (SELECT 1 AS x FROM federation_outbound_edus WHERE destination = ? AND txn_id IS NULL LIMIT 1) e`,
          destination, destination, destination,
        ));
        if (!any) return null;
      }
      return db.write(function* () {
        const open = yield* queryOne("SELECT txn_id, origin_server_ts FROM federation_outbound_txns WHERE destination = ?", destination);
        if (open) return yield* loadTransaction(destination, str(open["txn_id"]), num(open["origin_server_ts"]), true);
        const txnId = newTxnId(nowTs);
        // Exactly the oldest rows within the limits, marked in the statement that picks them (not a range: on
        // PostgreSQL a lower position may commit meanwhile, and the transaction must stay within its limits).
        const pdus = yield* query(
          `UPDATE federation_outbound_pdus SET txn_id = ? WHERE destination = ? AND txn_id IS NULL AND stream_ordering IN
             (SELECT stream_ordering FROM federation_outbound_pdus WHERE destination = ? AND txn_id IS NULL ORDER BY stream_ordering LIMIT ?)
           RETURNING stream_ordering`,
          txnId, destination, destination, limits.maxPdus,
        );
        const edus = yield* query(
          `UPDATE federation_outbound_edus SET txn_id = ? WHERE destination = ? AND txn_id IS NULL AND edu_id IN
             (SELECT edu_id FROM federation_outbound_edus WHERE destination = ? AND txn_id IS NULL ORDER BY edu_id LIMIT ?)
           RETURNING edu_id`,
          txnId, destination, destination, limits.maxEdus,
        );
        const extra = extraEdus.slice(0, Math.max(0, limits.maxEdus - edus.length));
        if (pdus.length === 0 && edus.length === 0 && extra.length === 0) return null;
        for (const e of extra) yield* insertEdus([destination], e, txnId);
        yield* exec("INSERT INTO federation_outbound_txns (destination, txn_id, origin_server_ts) VALUES (?, ?, ?)", destination, txnId, nowTs);
        return yield* loadTransaction(destination, txnId, nowTs, edus.length + extra.length > 0, pdus.length > 0);
      });
    },

    async completeTransaction(destination, txnId, nowTs) {
      await db.write(function* () {
        const done = yield* query("DELETE FROM federation_outbound_pdus WHERE destination = ? AND txn_id = ? RETURNING stream_ordering", destination, txnId);
        yield* exec("DELETE FROM federation_outbound_edus WHERE destination = ? AND txn_id = ?", destination, txnId);
        yield* exec("DELETE FROM federation_outbound_txns WHERE destination = ? AND txn_id = ?", destination, txnId);
        const ordering = done.length === 0 ? null : Math.max(...done.map((r) => num(r["stream_ordering"])));
        yield* exec(
          `INSERT INTO destinations (destination, failure_ts, retry_last_ts, retry_interval_ms, last_successful_stream_ordering, last_success_ts, last_error)
           VALUES (?, NULL, NULL, 0, ?, ?, NULL)
           ON CONFLICT (destination) DO UPDATE SET failure_ts = NULL, retry_last_ts = NULL, retry_interval_ms = 0, last_error = NULL,
             last_success_ts = excluded.last_success_ts,
             last_successful_stream_ordering = COALESCE(excluded.last_successful_stream_ordering, destinations.last_successful_stream_ordering)`,
          destination, ordering, nowTs,
        );
      });
    },

    recordFailure(destination, nowTs, retryIntervalMs, reason) {
      return db.write(function* () {
        const r = yield* queryOne(
          `INSERT INTO destinations (destination, failure_ts, retry_last_ts, retry_interval_ms, last_error) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (destination) DO UPDATE SET
             failure_ts = COALESCE(destinations.failure_ts, excluded.failure_ts),
             retry_last_ts = excluded.retry_last_ts, retry_interval_ms = excluded.retry_interval_ms, last_error = excluded.last_error
           RETURNING ${DEST_COLUMNS}`,
          destination, nowTs, nowTs, retryIntervalMs, reason.slice(0, 1000),
        );
        return toDestination(r!);
      });
    },

    keepOnlyNewestPerRoom(destination) {
      return db.write(function* () {
        return yield* exec(
          `DELETE FROM federation_outbound_pdus WHERE destination = ? AND txn_id IS NULL
             AND event_id NOT IN (SELECT x.event_id FROM event_forward_extremities x WHERE x.room_id = federation_outbound_pdus.room_id)
             AND stream_ordering < (SELECT MAX(n.stream_ordering) FROM federation_outbound_pdus n
                                    WHERE n.destination = federation_outbound_pdus.destination AND n.room_id = federation_outbound_pdus.room_id)`,
          destination,
        );
      });
    },

    queuedPduCount(destination) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT COUNT(*) AS n FROM federation_outbound_pdus WHERE destination = ? AND txn_id IS NULL", destination);
        return num(r!["n"]);
      });
    },

    destinationsWithQueue() {
      return db.read(function* () {
        const rows = yield* query(
          `SELECT destination FROM federation_outbound_pdus UNION SELECT destination FROM federation_outbound_edus
           UNION SELECT destination FROM federation_outbound_txns ORDER BY destination`,
        );
        return rows.map((r) => str(r["destination"]) as ServerName);
      });
    },

    listDestinations() {
      return db.read(function* () {
        const rows = yield* query(
          `SELECT n.destination, d.failure_ts, d.retry_last_ts, COALESCE(d.retry_interval_ms, 0) AS retry_interval_ms,
             d.last_successful_stream_ordering, d.last_success_ts, d.last_error,
             (SELECT COUNT(*) FROM federation_outbound_pdus p WHERE p.destination = n.destination) AS queued_pdus,
             (SELECT COUNT(*) FROM federation_outbound_edus e WHERE e.destination = n.destination) AS queued_edus,
             (SELECT t.txn_id FROM federation_outbound_txns t WHERE t.destination = n.destination) AS txn_id
           FROM (SELECT destination FROM destinations UNION SELECT destination FROM federation_outbound_pdus
                 UNION SELECT destination FROM federation_outbound_edus) n
           LEFT JOIN destinations d ON d.destination = n.destination
           ORDER BY n.destination`,
        );
        return rows.map((r): DestinationSummary => ({
          ...toDestination(r),
          queuedPdus: num(r["queued_pdus"]),
          queuedEdus: num(r["queued_edus"]),
          inFlightTxnId: strOrNull(r["txn_id"]),
          lastSuccessTs: numOrNull(r["last_success_ts"]),
          lastError: strOrNull(r["last_error"]),
        }));
      });
    },
  };
}
