/**
 * WAL checkpoints off the event loop. SQLite copies the WAL back into the database file when a commit leaves it
 * past `wal_autocheckpoint` pages, inside that commit, with an fsync of each file (synchronous = NORMAL): on a
 * busy disk one such commit blocked the event loop for tens of milliseconds (docs/storage.md). So the writer's
 * automatic checkpoints are turned off and a worker thread with its own connection checkpoints instead
 * (checkpoint-worker.ts), PASSIVE, at most every CHECKPOINT_INTERVAL_MS after a commit; a commit tells the worker
 * only when it has not been told since its last checkpoint (frames committed during one wait for the next
 * commit). Should the worker fail,
 * the writer checkpoints itself again.
 */
import { Worker } from "node:worker_threads";
import type BetterSqlite3 from "better-sqlite3";
import { SQLITE_DRIVER_PATH } from "./driver.js";

/** The most often the worker checkpoints (while commits keep coming). */
export const CHECKPOINT_INTERVAL_MS = 250;
/** SQLite's default wal_autocheckpoint, restored on the writer if the worker fails. */
const AUTOCHECKPOINT_PAGES = 1000;

export class Checkpointer {
  private readonly worker: Worker;
  private failed = false;
  /** A commit was reported and the worker has not checkpointed since: further commits need not tell it again. */
  private told = false;
  /** What the worker's latest checkpoint did: WAL frames (`log`) and how many of them are in the database now. */
  lastCheckpoint: { readonly log: number; readonly checkpointed: number } | null = null;
  private readonly exited: Promise<void>;

  constructor(path: string, private readonly writer: BetterSqlite3.Database) {
    writer.pragma("wal_autocheckpoint = 0");
    this.worker = new Worker(new URL("./checkpoint-worker.js", import.meta.url), { workerData: { path, driverPath: SQLITE_DRIVER_PATH, intervalMs: CHECKPOINT_INTERVAL_MS } });
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.on("message", (m: { error?: string; checkpoint?: { log: number; checkpointed: number } }) => {
      if (m.error !== undefined) this.fail();
      if (m.checkpoint) {
        this.lastCheckpoint = m.checkpoint;
        this.told = false;
      }
    });
    this.worker.on("error", () => this.fail());
    void this.exited.then(() => this.fail());
  }

  /** A write committed: the worker checkpoints soon. */
  committed(): void {
    if (this.failed || this.told) return;
    this.told = true;
    this.worker.postMessage("dirty");
  }

  /** Stops the worker (the writer's close then checkpoints what is left). */
  async close(): Promise<void> {
    this.worker.ref(); // closing: the worker's exit is awaited, so it keeps the process alive until then
    if (!this.failed) this.worker.postMessage("close");
    else void this.worker.terminate();
    this.failed = true;
    await this.exited;
  }

  private fail(): void {
    if (this.failed) return;
    this.failed = true;
    if (this.writer.open) this.writer.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  }
}
