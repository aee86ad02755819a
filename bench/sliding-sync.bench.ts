/**
 * Simplified sliding sync (issue 18's targets), Zion and Synapse side by side on the same data: a user in ROOMS
 * rooms of EVENTS messages each; the first response for a list window of 20 rooms with timeline_limit 1 (target
 * < 100 ms); an incremental response after one new message (target < 5 ms of server time); a waiting connection
 * woken by a message (target < 20 ms). Both servers get the same rooms and messages (Zion written through its room
 * pipeline in-process, Synapse through its client API, which only makes the set-up slower) and then the same
 * requests over loopback HTTP: times are round trips, an upper bound of server time, and a woken connection is
 * timed from the start of the `PUT /send` to the end of its answer, on both. Printed, never asserted.
 *
 *   npm run bench -- sliding-sync [--quick] [--target zion|synapse|both] [--seed-only]
 *   ZION_BENCH_ROOMS=100 ZION_BENCH_EVENTS=10 npm run bench -- sliding-sync    (another data set)
 *
 * --quick: 100 rooms of 10 messages and fewer samples. --seed-only: write the data and report how long it took,
 * without measuring. Synapse (the pinned version, scripts/install-synapse.sh) on SQLite listens on 127.0.35.1; Zion
 * on SQLite in this process.
 *
 * Seeding Synapse through its client API is what takes long (every message is a request, and Synapse answers one
 * room's sends one after the other): SYNAPSE_SEED_CONCURRENCY rooms (default 32) are written at once over kept-alive
 * connections, each room's messages in order, and Synapse's data directory is on /dev/shm when there is one
 * (ZION_BENCH_SYNAPSE_DIR picks another), since on disk its SQLite syncs every transaction; it logs warnings only.
 * Its rate limits and presence are off (test/harness/synapse.ts).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchServer, call, machine, quantile } from "./lib/client.js";
import type { RoomId, UserId } from "../src/core/ids/index.js";
import { parseCreateRoomRequest } from "../src/core/rooms/index.js";
import { createTestCa } from "../test/harness/test-ca.js";
import { startSynapse } from "../test/harness/synapse.js";

const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick") || process.env["ZION_BENCH_QUICK"] === "1";
const targetArg = argv.includes("--target") ? argv[argv.indexOf("--target") + 1] : process.env["ZION_BENCH_TARGET"];
const TARGETS = targetArg === "zion" ? ["zion"] : targetArg === "synapse" ? ["synapse"] : ["zion", "synapse"];
const ROOMS = Number(process.env["ZION_BENCH_ROOMS"] ?? (QUICK ? 100 : 1000));
const EVENTS = Number(process.env["ZION_BENCH_EVENTS"] ?? (QUICK ? 10 : 100));
const SEED_ONLY = argv.includes("--seed-only");
const SEED_CONCURRENCY = Number(process.env["SYNAPSE_SEED_CONCURRENCY"] ?? 32);
const SYNAPSE_PARENT = process.env["ZION_BENCH_SYNAPSE_DIR"] ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
const FIRST_SAMPLES = QUICK ? 5 : 10;
const INCREMENTAL_SAMPLES = QUICK ? 15 : 30;
const WAKE_SAMPLES = QUICK ? 15 : 30;
const SYNAPSE_HOST = "127.0.35.1";
const SSS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";

const fmt = (xs: number[]) => `median ${quantile(xs, 0.5).toFixed(1)} ms, p90 ${quantile(xs, 0.9).toFixed(1)} ms, min ${Math.min(...xs).toFixed(1)} ms`;

/** What the measured phase needs of a server. */
interface Target {
  readonly name: string;
  readonly base: string;
  readonly token: string;
  readonly rooms: readonly string[];
  readonly setupS: number;
  /** Resolves once a long-polling request has reached the server and waits. */
  parked(): Promise<void>;
  stop(): Promise<void>;
}

let txn = 0;
const send = async (t: { base: string; token: string }, roomId: string, body: string, agent?: Agent): Promise<void> => {
  const r = await call(t.base, `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/b${++txn}`, t.token, "PUT", JSON.stringify({ msgtype: "m.text", body }), agent);
  if (r.status !== 200) throw new Error(`send: ${r.status} ${r.body.slice(0, 200)}`);
};

async function zionTarget(): Promise<Target> {
  const zion = await benchServer();
  const base = zion.clientUrl!;
  const hs = zion.homeserver!;
  const reg = JSON.parse((await call(base, "/_matrix/client/v3/register", "", "POST", JSON.stringify({ username: "bench", password: "bench password 1", auth: { type: "m.login.dummy" } }))).body) as { user_id: UserId; access_token: string };
  const me = reg.user_id;
  const t0 = Date.now();
  const rooms: RoomId[] = [];
  const per = 8;
  for (let i = 0; i < ROOMS; i += per) {
    await Promise.all(Array.from({ length: Math.min(per, ROOMS - i) }, async (_, j) => {
      const roomId = await hs.rooms.createRoom(me, parseCreateRoomRequest({ preset: "private_chat", name: `room ${i + j}`, room_version: "10" }, me, { defaultRoomVersion: "10" }));
      for (let e = 0; e < EVENTS; e++) await hs.rooms.send(roomId, { type: "m.room.message", sender: me, content: { msgtype: "m.text", body: `message ${e} in room ${i + j}` } });
      rooms.push(roomId);
    }));
  }
  return {
    name: "Zion", base, token: reg.access_token, rooms, setupS: (Date.now() - t0) / 1000,
    parked: async () => {
      while (hs.notifier.waiting() < 1) await new Promise((r) => setTimeout(r, 2));
    },
    stop: async () => {
      await zion.stop();
    },
  };
}

async function synapseTarget(): Promise<Target> {
  const dir = mkdtempSync(join(SYNAPSE_PARENT, "zion-bench-sss-"));
  const ca = await createTestCa(join(dir, "ca"));
  const leaf = await ca.issue({ ip: [SYNAPSE_HOST], name: "synapse" });
  // Warnings only: Synapse's default logs a line per request, which a seeding of 100,000 requests pays for.
  const logConfig = join(dir, "log.yaml");
  writeFileSync(logConfig, "version: 1\nformatters: {p: {format: '%(asctime)s %(name)s %(levelname)s %(message)s'}}\nhandlers: {console: {class: logging.StreamHandler, formatter: p}}\nroot: {level: WARNING, handlers: [console]}\ndisable_existing_loggers: false\n");
  const synapse = await startSynapse({ dir: join(dir, "synapse"), bindHost: SYNAPSE_HOST, caCertPath: ca.caCertPath, certPath: leaf.chainPath, keyPath: leaf.keyPath, extraConfig: { log_config: logConfig } });
  const stop = async () => {
    await synapse.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const u = await synapse.registerUser({ username: "bench", via: "open" });
    const t = { base: synapse.clientUrl, token: u.accessToken };
    const t0 = Date.now();
    const rooms: string[] = [];
    // A pool of SEED_CONCURRENCY writers, each taking the next room when its room is done.
    const agent = new Agent({ keepAlive: true, maxSockets: SEED_CONCURRENCY });
    let next = 0;
    let done = 0;
    const writer = async () => {
      for (let i = next++; i < ROOMS; i = next++) {
        const r = await call(t.base, "/_matrix/client/v3/createRoom", t.token, "POST", JSON.stringify({ preset: "private_chat", name: `room ${i}`, room_version: "10" }), agent);
        if (r.status !== 200) throw new Error(`createRoom: ${r.status} ${r.body.slice(0, 200)}`);
        const roomId = (JSON.parse(r.body) as { room_id: string }).room_id;
        for (let e = 0; e < EVENTS; e++) await send(t, roomId, `message ${e} in room ${i}`, agent);
        rooms.push(roomId);
        if (++done % Math.max(1, Math.floor(ROOMS / 10)) === 0) console.error(`  Synapse seeding: ${done}/${ROOMS} rooms after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(SEED_CONCURRENCY, ROOMS) }, writer));
    } finally {
      agent.destroy();
    }
    return {
      name: `Synapse ${synapse.version} (data in ${SYNAPSE_PARENT})`, base: t.base, token: t.token, rooms, setupS: (Date.now() - t0) / 1000,
      // Synapse says nothing about waiting requests: give the request time to arrive and park.
      parked: () => new Promise((r) => setTimeout(r, 300)),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function measure(t: Target): Promise<string[]> {
  const body = (connId: string) => JSON.stringify({
    conn_id: connId,
    lists: { all: { ranges: [[0, 19]], timeline_limit: 1, required_state: [["m.room.name", ""], ["m.room.avatar", ""], ["m.room.encryption", ""], ["m.room.member", "$ME"]] } },
    extensions: { to_device: { enabled: true }, e2ee: { enabled: true } },
  });
  const window = Math.min(20, t.rooms.length);
  const first: number[] = [];
  let pos = "";
  for (let i = 0; i < FIRST_SAMPLES; i++) {
    const t0 = process.hrtime.bigint();
    const r = await call(t.base, SSS, t.token, "POST", body(`first${i}`));
    first.push(Number(r.at - t0) / 1e6);
    const j = JSON.parse(r.body) as { pos: string; rooms: Record<string, unknown> };
    if (r.status !== 200 || Object.keys(j.rooms).length !== window) throw new Error(`${t.name}: unexpected first response: ${r.status} ${r.body.slice(0, 200)}`);
    pos = j.pos;
  }

  const incremental: number[] = [];
  const conn = `first${FIRST_SAMPLES - 1}`;
  for (let i = 0; i < INCREMENTAL_SAMPLES; i++) {
    await send(t, t.rooms[i % t.rooms.length]!, `incremental ${i}`);
    const t0 = process.hrtime.bigint();
    const r = await call(t.base, `${SSS}?pos=${encodeURIComponent(pos)}&timeout=0`, t.token, "POST", body(conn));
    incremental.push(Number(r.at - t0) / 1e6);
    const j = JSON.parse(r.body) as { pos: string; rooms: Record<string, unknown> };
    if (r.status !== 200 || Object.keys(j.rooms).length !== 1) throw new Error(`${t.name}: expected one room in the incremental response: ${r.status} ${r.body.slice(0, 300)}`);
    pos = j.pos;
  }

  const wake: number[] = [];
  for (let i = 0; i < WAKE_SAMPLES; i++) {
    const waiting = call(t.base, `${SSS}?pos=${encodeURIComponent(pos)}&timeout=30000`, t.token, "POST", body(conn));
    await t.parked();
    const t0 = process.hrtime.bigint();
    await send(t, t.rooms[(i * 7) % t.rooms.length]!, `wake ${i}`);
    const r = await waiting;
    wake.push(Number(r.at - t0) / 1e6);
    const j = JSON.parse(r.body) as { pos: string; rooms: Record<string, unknown> };
    if (r.status !== 200 || Object.keys(j.rooms).length !== 1) throw new Error(`${t.name}: expected the woken response to carry the room: ${r.status} ${r.body.slice(0, 300)}`);
    pos = j.pos;
  }
  return [
    `  ${t.name} (set up in ${t.setupS.toFixed(0)} s):`,
    `    first response (a new conn_id each, ${FIRST_SAMPLES} samples): ${fmt(first)}`,
    `    incremental response after one new message (timeout=0, ${INCREMENTAL_SAMPLES} samples): ${fmt(incremental)}`,
    `    waiting connection, PUT /send start -> response received (${WAKE_SAMPLES} samples): ${fmt(wake)}`,
  ];
}

const lines = [
  `sliding sync bench${QUICK ? " --quick" : ""} ${machine()}`,
  `  one user in ${ROOMS} rooms x ${EVENTS} messages, SQLite on both; list window [0,19], timeline_limit 1, 4 required_state entries, to_device + e2ee`,
];
for (const name of TARGETS) {
  // One server at a time, so that they do not share the two cores while measured.
  const t = name === "zion" ? await zionTarget() : await synapseTarget();
  try {
    const setup = `  ${t.name}: ${ROOMS} rooms x ${EVENTS} messages written in ${t.setupS.toFixed(0)} s (${((ROOMS * (EVENTS + 1)) / t.setupS).toFixed(0)} requests/s${name === "synapse" ? `, ${SEED_CONCURRENCY} rooms at once` : ""})`;
    const out = SEED_ONLY ? [setup] : await measure(t);
    lines.push(...out);
    console.log(out.join("\n"));
  } finally {
    await t.stop();
  }
}
console.log(`\n${lines.join("\n")}\n  /proc/loadavg at the end: ${machine().split("/proc/loadavg ")[1]}`);
