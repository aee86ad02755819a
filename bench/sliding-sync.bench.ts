/**
 * Simplified sliding sync (issue 18's targets): a user in ROOMS rooms of EVENTS events each; the first response
 * for a list window of 20 rooms with timeline_limit 1 (target < 100 ms); an incremental response after one new
 * message (target < 5 ms of server time); a waiting connection woken by a message (target < 20 ms). An in-process
 * Zion on SQLite; rooms and messages go through the room pipeline. Times are HTTP round trips on loopback, an upper
 * bound of server time. Printed, never asserted.
 *
 *   npm run bench -- sliding-sync
 *   ZION_BENCH_ROOMS=100 npm run bench -- sliding-sync    (a smaller data set)
 */
import { benchServer, call, quantile } from "./lib/client.js";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import type { RoomId, UserId } from "../src/core/ids/index.js";
import { parseCreateRoomRequest } from "../src/core/rooms/index.js";

const ROOMS = Number(process.env["ZION_BENCH_ROOMS"] ?? 1000);
const EVENTS = 100;
const FIRST_SAMPLES = 10;
const INCREMENTAL_SAMPLES = 30;
const WAKE_SAMPLES = 30;
const SSS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";

const fmt = (xs: number[]) => `median ${quantile(xs, 0.5).toFixed(1)} ms, p90 ${quantile(xs, 0.9).toFixed(1)} ms, min ${Math.min(...xs).toFixed(1)} ms`;

const zion = await benchServer();
try {
  const base = zion.clientUrl!;
  const hs = zion.homeserver!;
  const reg = JSON.parse((await call(base, "/_matrix/client/v3/register", "", "POST", JSON.stringify({ username: "bench", password: "bench password 1", auth: { type: "m.login.dummy" } }))).body) as { user_id: UserId; access_token: string };
  const me = reg.user_id;
  const token = reg.access_token;
  const setupStart = Date.now();
  const rooms: RoomId[] = [];
  const per = 8;
  for (let i = 0; i < ROOMS; i += per) {
    await Promise.all(Array.from({ length: Math.min(per, ROOMS - i) }, async (_, j) => {
      const roomId = await hs.rooms.createRoom(me, parseCreateRoomRequest({ preset: "private_chat", name: `room ${i + j}` }, me, { defaultRoomVersion: "11" }));
      for (let e = 0; e < EVENTS; e++) await hs.rooms.send(roomId, { type: "m.room.message", sender: me, content: { msgtype: "m.text", body: `message ${e} in room ${i + j}` } });
      rooms.push(roomId);
    }));
  }
  const setupS = (Date.now() - setupStart) / 1000;
  const body = (connId: string) => JSON.stringify({
    conn_id: connId,
    lists: { all: { ranges: [[0, 19]], timeline_limit: 1, required_state: [["m.room.name", ""], ["m.room.avatar", ""], ["m.room.encryption", ""], ["m.room.member", "$ME"]] } },
    extensions: { to_device: { enabled: true }, e2ee: { enabled: true } },
  });

  const first: number[] = [];
  let pos = "";
  for (let i = 0; i < FIRST_SAMPLES; i++) {
    const t0 = process.hrtime.bigint();
    const r = await call(base, SSS, token, "POST", body(`first${i}`));
    first.push(Number(r.at - t0) / 1e6);
    const j = JSON.parse(r.body) as { pos: string; rooms: Record<string, unknown> };
    if (r.status !== 200 || Object.keys(j.rooms).length !== 20) throw new Error(`unexpected first response: ${r.status} ${r.body.slice(0, 200)}`);
    pos = j.pos;
  }

  const incremental: number[] = [];
  const conn = `first${FIRST_SAMPLES - 1}`;
  for (let i = 0; i < INCREMENTAL_SAMPLES; i++) {
    await hs.rooms.send(rooms[i % rooms.length]!, { type: "m.room.message", sender: me, content: { msgtype: "m.text", body: `incremental ${i}` } });
    const t0 = process.hrtime.bigint();
    const r = await call(base, `${SSS}?pos=${pos}&timeout=0`, token, "POST", body(conn));
    incremental.push(Number(r.at - t0) / 1e6);
    const j = JSON.parse(r.body) as { pos: string; rooms: Record<string, unknown> };
    if (Object.keys(j.rooms).length !== 1) throw new Error(`expected one room in the incremental response, got ${Object.keys(j.rooms).length}`);
    pos = j.pos;
  }

  const wake: number[] = [];
  for (let i = 0; i < WAKE_SAMPLES; i++) {
    const waiting = call(base, `${SSS}?pos=${pos}&timeout=30000`, token, "POST", body(conn));
    while (hs.notifier.waiting() < 1) await new Promise((r) => setTimeout(r, 2));
    const t0 = process.hrtime.bigint();
    await hs.rooms.send(rooms[(i * 7) % rooms.length]!, { type: "m.room.message", sender: me, content: { msgtype: "m.text", body: `wake ${i}` } });
    const r = await waiting;
    wake.push(Number(r.at - t0) / 1e6);
    pos = (JSON.parse(r.body) as { pos: string }).pos;
  }

  const load = readFileSync("/proc/loadavg", "utf8").trim();
  console.log(`sliding sync bench ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), SQLite, /proc/loadavg ${load}`);
  console.log(`  one user in ${ROOMS} rooms x ${EVENTS} messages (set up in ${setupS.toFixed(0)} s); list window [0,19], timeline_limit 1, 4 required_state entries, to_device + e2ee`);
  console.log(`  first response (a new conn_id each, ${FIRST_SAMPLES} samples): ${fmt(first)}`);
  console.log(`  incremental response after one new message (timeout=0, ${INCREMENTAL_SAMPLES} samples): ${fmt(incremental)}`);
  console.log(`  waiting connection, message sent (room pipeline) -> response received (${WAKE_SAMPLES} samples): ${fmt(wake)}`);
} finally {
  await zion.stop();
}
