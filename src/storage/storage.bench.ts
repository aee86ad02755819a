/**
 * Storage benchmark: the same workload on SQLite (file, WAL) and on a private
 * PostgreSQL (test/harness/postgres.ts), figures and ratios from one run.
 * Prints; asserts nothing about time.
 *
 *   npm run bench storage
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startTestPostgres } from "../../test/harness/postgres.js";
import { pdu, eid, ALICE } from "./conformance/fixtures.js";
import type { Storage } from "./ports.js";
import { openSqliteStorage } from "./sqlite/index.js";
import { openPostgresStorage } from "./postgres/index.js";

const SINGLE = 500; // events persisted one per transaction
const BATCH = 100; // events per transaction in the batched run
const BATCHES = 20;
const READS = 2000; // single-event reads
const TOKENS = 2000; // access-token lookups

interface Figures {
  [name: string]: number;
}

async function time(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function workload(s: Storage): Promise<Figures> {
  const f: Figures = {};
  let prev: string[] = [];
  let n = 0;
  const next = () => {
    const id = `ev${n++}`;
    const p = pdu({ id, prev, depth: n });
    prev = [id];
    return p;
  };
  f["persist 1/txn (events/s)"] = SINGLE / ((await time(async () => {
    for (let i = 0; i < SINGLE; i++) await s.events.persistEvents({ events: [{ pdu: next() }], receivedTs: 0 });
  })) / 1000);
  f[`persist ${BATCH}/txn (events/s)`] = (BATCH * BATCHES) / ((await time(async () => {
    for (let b = 0; b < BATCHES; b++) await s.events.persistEvents({ events: Array.from({ length: BATCH }, () => ({ pdu: next() })), receivedTs: 0 });
  })) / 1000);
  f["getPdus 1 id (reads/s)"] = READS / ((await time(async () => {
    for (let i = 0; i < READS; i++) await s.events.getPdus([eid(`ev${i % n}`)]);
  })) / 1000);
  const ids = Array.from({ length: 1000 }, (_, i) => eid(`ev${i}`));
  f["getPdus 1000 ids (events/s)"] = (1000 * 10) / ((await time(async () => {
    for (let i = 0; i < 10; i++) await s.events.getPdus(ids);
  })) / 1000);
  await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: 0 });
  await s.users.createLogin({ userId: ALICE, deviceId: "D", accessToken: "tok", nowTs: 0 });
  f["access token lookup (lookups/s)"] = TOKENS / ((await time(async () => {
    for (let i = 0; i < TOKENS; i++) await s.users.getAccessTokenOwner("tok");
  })) / 1000);
  return f;
}

const dir = mkdtempSync(join(tmpdir(), "zion-bench-"));
const pg = await startTestPostgres();
try {
  const sqlite = await openSqliteStorage({ path: join(dir, "bench.db") });
  const a = await workload(sqlite);
  await sqlite.close();
  const postgres = await openPostgresStorage({ ...(await pg.createDatabase("zion_bench")), poolMax: 4 });
  const b = await workload(postgres);
  await postgres.close();
  console.log(`storage: ${SINGLE} single-event txns, ${BATCHES}x${BATCH}-event txns, ${READS} reads, ${TOKENS} token lookups`);
  console.log(`PostgreSQL is a private throwaway server with fsync off; a production server with fsync on is slower on writes.`);
  console.log(["figure".padEnd(34), "sqlite".padStart(10), "postgres".padStart(10), "sqlite/pg".padStart(10)].join(" "));
  for (const k of Object.keys(a)) {
    console.log([k.padEnd(34), a[k]!.toFixed(0).padStart(10), b[k]!.toFixed(0).padStart(10), (a[k]! / b[k]!).toFixed(2).padStart(10)].join(" "));
  }
} finally {
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
