/**
 * Which better-sqlite3 Zion loads. Version 12 is the one Node 20 can run (13 crashes there). On Node 24.19 and later,
 * version 12 aborts the process ("Assertion failed: (env) != nullptr" in RemoveEnvironmentCleanupHook) whenever the
 * garbage collector finalises one of its statements outside JavaScript, at exit or in an idle GC; version 13 moved to
 * Node-API and does not. package.json therefore carries 13 as the optional dependency `better-sqlite3-node22`, which
 * npm installs only where Node is 22 or later (its engines field), and this module prefers it there.
 */
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

const require = createRequire(import.meta.url);

function pickDriver(): string {
  if (Number(process.versions.node.split(".")[0]) >= 22) {
    try {
      return require.resolve("better-sqlite3-node22");
    } catch {
      // not installed (an install made under Node 20): fall back to 12
    }
  }
  return require.resolve("better-sqlite3");
}

/** The resolved path of the driver module in use (worker threads in tests load the same one). */
export const SQLITE_DRIVER_PATH: string = pickDriver();

/** better-sqlite3's Database class, from the driver chosen above (12 and 13 share this API). */
export const Database = require(SQLITE_DRIVER_PATH) as typeof BetterSqlite3;
