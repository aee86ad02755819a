/**
 * Opens the configured database and applies pending migrations:
 * `database.name: sqlite3` (the embedded default) or `psycopg2` (PostgreSQL), as in Synapse.
 */
import type { DatabaseConfig } from "../config/index.js";
import type { Storage } from "../storage/ports.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import { StartupError } from "./errors.js";

export async function openConfiguredStorage(db: DatabaseConfig, opts: { migrate?: boolean } = {}): Promise<Storage> {
  const migrate = opts.migrate === false ? { migrate: false } : {};
  try {
    if (db.name === "sqlite3") return await openSqliteStorage({ path: db.args.database, ...migrate });
    // Loaded only when configured, so a SQLite start-up never loads pg.
    const { openPostgresStorage } = await import("../storage/postgres/index.js");
    const a = db.args;
    return await openPostgresStorage({
      ...(a.host !== undefined ? { host: a.host } : {}),
      ...(a.port !== undefined ? { port: a.port } : {}),
      ...(a.user !== undefined ? { user: a.user } : {}),
      ...(a.password !== undefined ? { password: a.password } : {}),
      ...(a.database !== undefined ? { database: a.database } : {}),
      ...(a.cp_min !== undefined ? { poolMin: a.cp_min } : {}),
      ...(a.cp_max !== undefined ? { poolMax: a.cp_max } : {}),
      ...(a.application_name !== undefined ? { applicationName: a.application_name } : {}),
      ...migrate,
    });
  } catch (e) {
    const where = db.name === "sqlite3" ? db.args.database : `${db.args.host ?? "localhost"}:${db.args.port ?? 5432}/${db.args.database ?? ""}`;
    throw new StartupError([`database (${db.name} ${where}): ${(e as Error).message}`]);
  }
}
export type { DestinationSummary } from "../storage/ports.js";
