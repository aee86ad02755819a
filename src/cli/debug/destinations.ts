/**
 * `zion debug destinations -c homeserver.yaml [--table]`: each remote server the federation sender knows, read
 * from the database (the server may be running): PDUs and EDUs queued, the transaction in flight, the last
 * success, the failure streak, the current back-off and when the next attempt is due, and the last error.
 * JSON on stdout (an array, by destination), or an aligned table with --table.
 * Exit 0; 1 when the database cannot be read or its schema is not this Zion's; 2 on bad usage or config.
 */
import type { Command } from "commander";
import { openConfiguredStorage } from "../../app/storage.js";
import { loadConfig } from "../../config/index.js";
import type { DestinationSummary } from "../../app/storage.js";
import { failUsage, printJson } from "./io.js";

const iso = (ts: number | null): string | null => (ts === null ? null : new Date(ts).toISOString());

export function destinationRow(d: DestinationSummary): Record<string, unknown> {
  return {
    destination: d.destination,
    queued_pdus: d.queuedPdus,
    queued_edus: d.queuedEdus,
    in_flight_txn_id: d.inFlightTxnId,
    last_success: iso(d.lastSuccessTs),
    failing_since: iso(d.failureTs),
    retry_interval_ms: d.retryIntervalMs,
    next_attempt: d.failureTs !== null && d.retryLastTs !== null ? iso(d.retryLastTs + d.retryIntervalMs) : null,
    last_error: d.lastError,
  };
}

function table(rows: readonly Record<string, unknown>[]): string {
  const cols = ["destination", "queued_pdus", "queued_edus", "last_success", "failing_since", "retry_interval_ms", "next_attempt", "last_error"];
  const cell = (v: unknown) => (v === null || v === undefined ? "-" : String(v));
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === vals.length - 1 ? v : v.padEnd(width[i]!))).join("  ");
  return [line(cols), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join("\n") + "\n";
}

export function registerDestinations(debug: Command): void {
  debug
    .command("destinations")
    .description("list each federation destination: queue length, last success, back-off and last error (reads the database)")
    .requiredOption("-c, --config <homeserver.yaml>", "the server whose database to read")
    .option("--table", "an aligned table instead of JSON")
    .action(async (opts: { config: string; table?: boolean }) => {
      let config;
      try {
        config = loadConfig(opts.config);
      } catch (e) {
        failUsage(`${opts.config}: ${(e as Error).message}`);
      }
      let storage;
      try {
        storage = await openConfiguredStorage(config.database, { migrate: false });
      } catch (e) {
        process.stderr.write(`${(e as Error).message.replace(/\n/g, " ")}\n`);
        process.exit(1);
      }
      try {
        if (!(await storage.isMigrated())) {
          const st = await storage.migrationStatus();
          process.stderr.write(`the database schema is at migration ${st.current}, this Zion expects ${st.latest}: start the server once to migrate it\n`);
          process.exitCode = 1;
          return;
        }
        const rows = (await storage.outbound.listDestinations()).map(destinationRow);
        if (opts.table) process.stdout.write(table(rows));
        else printJson(rows);
        process.exitCode = 0;
      } catch (e) {
        process.stderr.write(`${(e as Error).message.replace(/\n/g, " ")}\n`);
        process.exitCode = 1;
      } finally {
        await storage.close();
      }
    });
}
