/**
 * Storage benchmark: the same workload on SQLite (file, WAL) and on a private
 * PostgreSQL (test/harness/postgres.ts), figures and ratios from one run,
 * then the rooms figures of issue 13 (a 10,001-event state write; auth chains
 * of 1,000 members over a 3,000-event power-level history) beside the figures
 * measured before the rooms redesign. Prints; asserts nothing about time.
 *
 *   npm run bench storage
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startTestPostgres } from "../../test/harness/postgres.js";
import { pdu, eid, ALICE } from "./conformance/fixtures.js";
import type { EventToPersist, Storage } from "./ports.js";
import type { EventId, RoomId, UserId } from "../core/ids/index.js";
import { stateKeyOf, type Pdu, type StateKey } from "../core/events/pdu.js";
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

const STATE_EVENTS = 10_000; // joins after the create event: a 10,001-event state write
const PL_HISTORY = 3_000;
const MEMBERS = 1_000;

/**
 * Before the rooms redesign: the figures issue 13 quotes (main with migration 0001 only), unless
 * ZION_BENCH_BASELINE names the compiled storage folder of an older build (e.g. main's dist/src/storage),
 * which is then measured in the same run.
 */
const ISSUE_FIGURES: Readonly<Record<string, { sqlite?: number; postgres?: number }>> = {
  "10,001-event state write: longest wait of a writer of another room (ms)": { postgres: 1900 },
  "10,001-event state write: longest event-loop block (ms)": { sqlite: 480 },
  "auth chains of 1,000 members, 3,000-event PL history (ms)": { sqlite: 8600, postgres: 8600 },
};

/** create + 10,000 joins in one batch, each with the state before it, and the 10,001 keys into current state. */
function stateWrite(room: RoomId): { events: EventToPersist[]; state: Map<StateKey, EventId> } {
  const create = pdu({ id: `${room}-create`, room, type: "m.room.create", stateKey: "" });
  const events: EventToPersist[] = [{ pdu: create, stateBefore: { state: new Map() } }];
  const state = new Map<StateKey, EventId>([[stateKeyOf("m.room.create", ""), create.eventId]]);
  let prev: Pdu = create;
  for (let i = 0; i < STATE_EVENTS; i++) {
    const user = `@u${i}:zion.test` as UserId;
    const p = pdu({ id: `${room}-j${i}`, room, type: "m.room.member", stateKey: user, sender: user, content: { membership: "join" }, prev: [prev.eventId], auth: [create.eventId], depth: i + 2 });
    events.push({ pdu: p, stateBefore: { after: prev.eventId } });
    state.set(stateKeyOf("m.room.member", user), p.eventId);
    prev = p;
  }
  return { events, state };
}

async function stateWriteFigures(s: Storage, backend: string): Promise<Figures> {
  const f: Figures = {};
  const big = "!big:zion.test" as RoomId;
  const small = "!small:zion.test" as RoomId;
  const { events, state } = stateWrite(big);
  const waits: number[] = [];
  let smallWrites = 0;
  let writing = true;
  // Writes of another room, one after another, for as long as the big write runs.
  const other = (async () => {
    while (writing) {
      const t = performance.now();
      await s.events.persistEvents({ events: [{ pdu: pdu({ id: `small${smallWrites}`, room: small }) }], receivedTs: 0 });
      waits.push(performance.now() - t);
      smallWrites++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  await new Promise((r) => setImmediate(r));
  // The longest gap between two turns of a 1 ms ticker: a synchronous block shows up on the tick after it.
  let lastTick = performance.now();
  let maxBlock = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxBlock = Math.max(maxBlock, now - lastTick);
    lastTick = now;
  }, 1);
  const t0 = performance.now();
  await s.events.persistEvents({ events, state: [{ roomId: big, set: state }], rooms: [{ roomId: big, roomVersion: "10", creator: ALICE }], receivedTs: 0 });
  const total = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(ticker);
  writing = false;
  await other;
  waits.sort((a, b) => a - b);
  f["10,001-event state write: whole write (ms)"] = total;
  f["10,001-event state write: longest event-loop block (ms)"] = maxBlock;
  f["10,001-event state write: longest wait of a writer of another room (ms)"] = waits[waits.length - 1] ?? 0;
  f["10,001-event state write: median wait of a writer of another room (ms)"] = waits[Math.floor(waits.length / 2)] ?? 0;
  f["10,001-event state write: other room's writes meanwhile"] = smallWrites;
  void backend;
  return f;
}

/** A room with a 3,000-event power-level history and 1,000 members; auth chains, their union and an auth difference. */
async function authChainFigures(s: Storage): Promise<Figures> {
  const f: Figures = {};
  const room = "!auth:zion.test" as RoomId;
  const r = (id: string) => `${room}-${id}`;
  const events: Pdu[] = [];
  const create = pdu({ id: r("create"), room, type: "m.room.create", stateKey: "" });
  const creator = pdu({ id: r("creator"), room, type: "m.room.member", stateKey: ALICE, auth: [create.eventId], depth: 2 });
  events.push(create, creator);
  let pl = pdu({ id: r("pl0"), room, type: "m.room.power_levels", stateKey: "", auth: [create.eventId, creator.eventId], depth: 3 });
  events.push(pl);
  for (let i = 1; i < PL_HISTORY; i++) {
    pl = pdu({ id: r(`pl${i}`), room, type: "m.room.power_levels", stateKey: "", auth: [create.eventId, creator.eventId, pl.eventId], depth: 3 + i });
    events.push(pl);
  }
  const jr = pdu({ id: r("jr"), room, type: "m.room.join_rules", stateKey: "", auth: [create.eventId, creator.eventId, pl.eventId], depth: PL_HISTORY + 3 });
  events.push(jr);
  const members: EventId[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const user = `@m${i}:zion.test` as UserId;
    const m = pdu({ id: r(`m${i}`), room, type: "m.room.member", stateKey: user, sender: user, auth: [create.eventId, pl.eventId, jr.eventId], depth: PL_HISTORY + 4 });
    events.push(m);
    members.push(m.eventId);
  }
  for (let i = 0; i < events.length; i += 1000) await s.events.persistEvents({ events: events.slice(i, i + 1000).map((p) => ({ pdu: p, outlier: true })), receivedTs: 0 });
  const time = async (fn: () => Promise<unknown>, runs = 5): Promise<number> => {
    const ts: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await fn();
      ts.push(performance.now() - t);
    }
    return ts.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
  };
  let size = 0;
  f["auth chains of 1,000 members, 3,000-event PL history (ms)"] = await time(async () => {
    const chains = await s.events.getAuthChains(members);
    size = [...chains.values()].reduce((n, c) => n + c.size, 0);
  });
  f["  (ids returned, all chains)"] = size;
  f["auth chain union of 1,000 members, send_join (ms)"] = await time(() => s.events.getAuthChainIds(members));
  const forked = pdu({ id: r("plfork"), room, type: "m.room.power_levels", stateKey: "", auth: [create.eventId, creator.eventId, events[PL_HISTORY / 2 + 1]!.eventId], depth: 10 });
  await s.events.persistEvents({ events: [{ pdu: forked, outlier: true }], receivedTs: 0 });
  if (typeof s.events.getAuthChainDifference === "function") {
    f["auth difference, 2 state sets of 500 members + forked PL (ms)"] = await time(() =>
      s.events.getAuthChainDifference([[...members.slice(0, 500), pl.eventId], [...members.slice(500), forked.eventId]]),
    );
  }
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

  type Open = { sqlite: (path: string) => Promise<Storage>; postgres: (name: string) => Promise<Storage> };
  const openers = (sqliteOpen: typeof openSqliteStorage, pgOpen: typeof openPostgresStorage): Open => ({
    sqlite: (path) => sqliteOpen({ path: join(dir, path) }),
    postgres: async (name) => pgOpen({ ...(await pg.createDatabase(name)), poolMax: 4 }),
  });
  async function roomsFigures(open: Open, tag: string): Promise<Record<string, Figures>> {
    const out: Record<string, Figures> = {};
    for (const backend of ["sqlite", "postgres"] as const) {
      const s = backend === "sqlite" ? await open.sqlite(`rooms-${tag}.db`) : await open.postgres(`zion_bench_rooms_${tag}`);
      try {
        out[backend] = { ...(await stateWriteFigures(s, backend)), ...(await authChainFigures(s)) };
      } finally {
        await s.close();
      }
    }
    return out;
  }
  const baselineDir = process.env["ZION_BENCH_BASELINE"];
  let before: Record<string, { sqlite?: number | undefined; postgres?: number | undefined }> = { ...ISSUE_FIGURES };
  let beforeLabel = "the figures quoted in issue 13";
  if (baselineDir) {
    const old = await roomsFigures(
      openers(
        ((await import(join(baselineDir, "sqlite", "index.js"))) as { openSqliteStorage: typeof openSqliteStorage }).openSqliteStorage,
        ((await import(join(baselineDir, "postgres", "index.js"))) as { openPostgresStorage: typeof openPostgresStorage }).openPostgresStorage,
      ),
      "before",
    );
    before = {};
    for (const k of new Set([...Object.keys(old["sqlite"]!), ...Object.keys(old["postgres"]!)])) before[k] = { sqlite: old["sqlite"]![k], postgres: old["postgres"]![k] };
    beforeLabel = `${baselineDir}, measured in this run`;
  }
  const rooms = await roomsFigures(openers(openSqliteStorage, openPostgresStorage), "now");
  console.log(`\nrooms (issue 13): a ${STATE_EVENTS + 1}-event state write; auth chains of ${MEMBERS} members over a ${PL_HISTORY}-event power-level history`);
  console.log(`"before": ${beforeLabel}. Load average at the end: ${(await import("node:os")).loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log(["figure".padEnd(72), "sqlite".padStart(9), "before".padStart(8), "postgres".padStart(9), "before".padStart(8)].join(" "));
  const keys = [...new Set([...Object.keys(rooms["sqlite"]!), ...Object.keys(rooms["postgres"]!)])];
  const cell = (v: number | undefined, w: number) => (v === undefined ? "-" : v < 10 ? v.toFixed(1) : v.toFixed(0)).padStart(w);
  for (const k of keys) {
    console.log([k.padEnd(72), cell(rooms["sqlite"]![k], 9), cell(before[k]?.sqlite, 8), cell(rooms["postgres"]![k], 9), cell(before[k]?.postgres, 8)].join(" "));
  }
} finally {
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
