/**
 * Composition for the federation tester and the doctor (owned by the tester work; it lives in app/ because only
 * app/ may join api/, storage backends and tester/):
 *
 * - `federationTesterServerOptions(config)`: the extra routes and deps `startHomeserver` takes, when
 *   `federation_tester.enabled` is true: GET /api/report, /api/federation-ok and the /federation-tester page,
 *   each test run with this server's own DNS servers, CAs, verification settings and IP ranges.
 * - `doctorDatabase(config)`: opens the configured database WITHOUT migrating (the doctor inspects, never changes).
 */
import { existsSync } from "node:fs";
import type { HomeserverConfig } from "../config/index.js";
import type { Clock } from "../core/clock.js";
import { testerRoutes } from "../api/tester/index.js";
import type { Route } from "../api/http/route.js";
import type { Storage } from "../storage/ports.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import type { DatabaseProbe } from "../tester/doctor-local.js";
import { envFromConfig } from "../tester/env.js";
import { runFederationTest } from "../tester/federation-test.js";
import { TesterApi } from "../tester/http-api.js";
import { systemClock } from "./homeserver.js";

export function federationTesterServerOptions(
  config: HomeserverConfig, clock: Clock = systemClock,
): { extraRoutes?: readonly Route<never>[]; extraDeps?: Readonly<Record<string, unknown>> } {
  if (!config.federation_tester.enabled) return {};
  const api = new TesterApi({ run: (name) => runFederationTest(name, envFromConfig(config, clock)), clock });
  return { extraRoutes: testerRoutes as readonly Route<never>[], extraDeps: { federationTester: api } };
}

export function doctorDatabase(config: HomeserverConfig): () => Promise<DatabaseProbe & { close(): Promise<void> }> {
  return async () => {
    const db = config.database;
    let storage: Storage;
    if (db.name === "sqlite3") {
      if (db.args.database !== ":memory:" && !existsSync(db.args.database)) {
        throw new Error(`${db.args.database} does not exist yet (Zion creates it at the first start)`);
      }
      storage = await openSqliteStorage({ path: db.args.database, migrate: false });
    } else {
      const specifier = "../storage/postgres/index.js";
      const mod = (await import(specifier)) as { openPostgresStorage: (o: Record<string, unknown>) => Promise<Storage> };
      const a = db.args;
      storage = await mod.openPostgresStorage({
        ...(a.host !== undefined ? { host: a.host } : {}),
        ...(a.port !== undefined ? { port: a.port } : {}),
        ...(a.user !== undefined ? { user: a.user } : {}),
        ...(a.password !== undefined ? { password: a.password } : {}),
        ...(a.database !== undefined ? { database: a.database } : {}),
        poolMax: 1,
        connectTimeoutMs: 5000,
        migrate: false,
      });
    }
    return storage;
  };
}
