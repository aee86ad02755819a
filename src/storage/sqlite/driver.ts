/**
 * Which better-sqlite3 Zion loads. Version 12 is the one Node 20 can run (13 crashes there). On Node 24.19 and later,
 * version 12 aborts the process ("Assertion failed: (env) != nullptr" in RemoveEnvironmentCleanupHook) whenever the
 * garbage collector finalises one of its statements outside JavaScript, at exit or in an idle GC; version 13 moved to
 * Node-API and does not. package.json therefore carries 13 as the optional dependency `better-sqlite3-node22`, which
 * npm installs only where Node is 22 or later (its engines field), and this module prefers it there.
 *
 * A node_modules installed under Node 20 and run on Node 22 or later lacks that package; rather than fall back to 12
 * (and abort later), start-up stops and says to reinstall. A native module built for another Node fails to load;
 * that too stops start-up with the command to run.
 */
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

export type DriverChoice = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly message: string };

/** The driver for `nodeVersion`, resolved with `require` (real module resolution, from where Zion is installed). */
export function pickDriver(nodeVersion: string, require: NodeJS.Require): DriverChoice {
  const major = Number(nodeVersion.split(".")[0]);
  if (major >= 22) {
    try {
      return { ok: true, path: require.resolve("better-sqlite3-node22") };
    } catch {
      return {
        ok: false,
        message:
          `Node ${nodeVersion} needs better-sqlite3 13 (the optional package better-sqlite3-node22), which is not installed: ` +
          "this node_modules was installed under an older Node. Run `npm ci` (or `npm install`) again with this Node " +
          "(`npm rebuild` is not enough: the package is missing, not stale), or run Zion with the Node it was installed with.",
      };
    }
  }
  return { ok: true, path: require.resolve("better-sqlite3") };
}

/** Loads the chosen driver; a native module built for another Node is reported with the command that fixes it. */
export function loadDriver(choice: DriverChoice, require: NodeJS.Require): { ok: true; Database: typeof BetterSqlite3 } | { ok: false; message: string } {
  if (!choice.ok) return choice;
  try {
    return { ok: true, Database: require(choice.path) as typeof BetterSqlite3 };
  } catch (err) {
    const text = (err as Error).message;
    if (!/NODE_MODULE_VERSION|was compiled against a different Node\.js version|invalid ELF header|cannot open shared object/.test(text)) throw err;
    return { ok: false, message: `the SQLite driver (${choice.path}) was built for another Node than ${process.version}: run \`npm rebuild\` (or \`npm ci\`) with this Node. (${text.split("\n")[0]})` };
  }
}

const require = createRequire(import.meta.url);
const choice = pickDriver(process.versions.node, require);
const loaded = loadDriver(choice, require);
if (!loaded.ok) {
  // Before anything opens a database: one line saying what to run, exit 1 (as start does for a bad config).
  process.stderr.write(`zion: cannot start: ${loaded.message}\n`);
  process.exit(1);
}

/** The resolved path of the driver module in use (worker threads in tests load the same one). */
export const SQLITE_DRIVER_PATH: string = choice.ok ? choice.path : "";

/** better-sqlite3's Database class, from the driver chosen above (12 and 13 share this API). */
export const Database: typeof BetterSqlite3 = loaded.Database;
