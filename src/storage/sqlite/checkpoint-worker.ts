/**
 * The WAL checkpointer's thread (checkpointer.ts): its own connection to the database, which copies the WAL back
 * into the database file (PRAGMA wal_checkpoint(PASSIVE): as far as readers allow, never waiting for a lock) at
 * most once per `intervalMs` after the main thread reports a commit. The fsyncs a checkpoint makes then hold up
 * this thread, never the event loop.
 */
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";
import type BetterSqlite3 from "better-sqlite3";

const { path, driverPath, intervalMs } = workerData as { path: string; driverPath: string; intervalMs: number };
const Database = createRequire(import.meta.url)(driverPath) as typeof BetterSqlite3;
const db = new Database(path, { fileMustExist: true, timeout: 0 });
const port = parentPort!;

let dirty = false;
let timer: NodeJS.Timeout | null = null;
let last = 0;

function checkpoint(): void {
  timer = null;
  if (!dirty || !db.open) return;
  dirty = false;
  last = Date.now();
  try {
    const [r] = db.pragma("wal_checkpoint(PASSIVE)") as { busy: number; log: number; checkpointed: number }[];
    port.postMessage({ checkpoint: r });
  } catch (e) {
    port.postMessage({ error: (e as Error).message });
  }
}

port.on("message", (m: unknown) => {
  if (m === "close") {
    if (timer) clearTimeout(timer);
    db.close();
    port.close();
    return;
  }
  dirty = true;
  timer ??= setTimeout(checkpoint, Math.max(0, last + intervalMs - Date.now()));
});
port.postMessage({ ready: true });
