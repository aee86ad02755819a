/**
 * A worker thread of the conformance suite: another process's connection to
 * the same database (issue: tests of several processes must not run through
 * one synchronous connection, or they cannot fail on SQLite). It imports the
 * backend's factory by URL, waits at a barrier so that every worker starts at
 * the same moment, runs one task and posts its result.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Storage } from "../ports.js";
import { pdu } from "./fixtures.js";

/** How a worker opens the database under test: `(await import(moduleUrl))[exportName](options)`. */
export interface WorkerOpen {
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly options: Readonly<Record<string, unknown>>;
}

export type WorkerTask =
  | { readonly kind: "open" }
  | { readonly kind: "persist"; readonly prefix: string; readonly batches: number; readonly perBatch: number };

export interface WorkerInput {
  readonly open: WorkerOpen;
  readonly task: WorkerTask;
  /** Int32Array over a SharedArrayBuffer: [ready count, go flag]. */
  readonly barrier: SharedArrayBuffer;
  readonly workers: number;
}

export type WorkerResult =
  | { readonly ok: true; readonly migrated: boolean; readonly current: number; readonly latest: number; readonly orderings: Array<[string, number]> }
  | { readonly ok: false; readonly error: string };

async function run(input: WorkerInput): Promise<WorkerResult> {
  const mod = (await import(input.open.moduleUrl)) as Record<string, (o: unknown) => Promise<Storage>>;
  const factory = mod[input.open.exportName];
  if (!factory) throw new Error(`${input.open.moduleUrl} has no export ${input.open.exportName}`);
  // Barrier: everyone loaded; wait for the go so that the opens (or writes) really overlap.
  const b = new Int32Array(input.barrier);
  Atomics.add(b, 0, 1);
  Atomics.notify(b, 0);
  Atomics.wait(b, 1, 0);
  const task = input.task;
  const s = await factory({ ...input.open.options, ...(task.kind === "open" ? {} : { migrate: false }) });
  try {
    const orderings: Array<[string, number]> = [];
    if (task.kind === "persist") {
      for (let i = 0; i < task.batches; i++) {
        const events = Array.from({ length: task.perBatch }, (_, k) => ({ pdu: pdu({ id: `${task.prefix}${i}-${k}` }) }));
        const r = await s.events.persistEvents({ events, receivedTs: 1 });
        for (const [id, o] of r.orderings) orderings.push([id, o]);
      }
    }
    const status = await s.migrationStatus();
    return { ok: true, migrated: await s.isMigrated(), current: status.current, latest: status.latest, orderings };
  } finally {
    await s.close();
  }
}

const input = workerData as WorkerInput;
run(input).then(
  (r) => parentPort!.postMessage(r),
  (e: unknown) => parentPort!.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies WorkerResult),
);
