/**
 * Initial and empty incremental /sync of a user in many busy rooms (issue 13's targets: the initial sync of a
 * user in 100 rooms of 1,000 events each, lazy-loading members, under 500 ms; an incremental sync with nothing new
 * under 5 ms of server time). An in-process Zion on SQLite; ROOMS rooms, each with MEMBERS members (the syncing
 * user among them) and EVENTS_PER_ROOM events in all, the messages sent by the members in turn. The rooms are
 * seeded through the room pipeline (RoomService.sendOnce, which writes a room's concurrent sends in batches), not
 * over HTTP. Then /sync over HTTP with a filter that lazy-loads members: RUNS initial syncs (each a fresh request
 * with no since; the first one is reported apart, as it reads a cold cache), and QUIET_SYNCS incremental ones with
 * nothing new (timeout=0; the HTTP round trip on loopback is an upper bound of the server time). Printed, never
 * asserted.
 *
 * With ZION_BENCH_DATA=<dir> the seeded database is kept in that folder, and a later run restarts on it instead of
 * seeding again (seeding writes 100,000 events, minutes on this machine): its first sync is then the first after a
 * start, on a database whose pages the OS may not hold in memory yet.
 *
 *   npm run bench -- initial-sync
 *   ZION_BENCH_DATA=/tmp/initial-sync-db npm run bench -- initial-sync
 */
import type { UserId } from "../src/core/ids/index.js";
import { benchServer, call, joinedRoom, loginUsers, machine, ms, quantile, registerUsers } from "./lib/client.js";
import { profiled } from "./lib/profile.js";

const ROOMS = 100;
const EVENTS_PER_ROOM = 1_000;
const MEMBERS = 10;
const RUNS = 7;
const QUIET_SYNCS = 300;
const FILTER = encodeURIComponent(JSON.stringify({ room: { state: { lazy_load_members: true } } }));

const DATA = process.env["ZION_BENCH_DATA"];

const zion = await benchServer(DATA);
try {
  const base = zion.clientUrl!;
  const hs = zion.homeserver!;
  const seeded = DATA !== undefined && (await hs.storage.users.getUser(`@syncer0:${hs.config.server_name}` as UserId)) !== null;
  const [me] = seeded ? await loginUsers(base, "syncer", 1) : await registerUsers(base, "syncer", 1);
  const others: UserId[] = [];
  for (let i = 1; i < MEMBERS; i++) {
    const userId = `@member${i}:${hs.config.server_name}` as UserId;
    if (!seeded) await hs.storage.users.createUser({ userId, passwordHash: null, createdTs: 0, displayname: `Member ${i}` });
    others.push(userId);
  }
  const members = [me!.userId, ...others];

  const seed0 = process.hrtime.bigint();
  let total = 0;
  if (seeded) {
    for (const roomId of await hs.storage.rooms.getRoomsForUser(me!.userId, "join")) total += (await hs.storage.events.getRoomEventsBetween(roomId, 0, Number.MAX_SAFE_INTEGER, EVENTS_PER_ROOM + 1)).length;
  }
  for (let r = 0; seeded ? false : r < ROOMS; r++) {
    const roomId = await joinedRoom(hs, members, `room ${r}`);
    const have = (await hs.storage.events.getRoomEventsBetween(roomId, 0, Number.MAX_SAFE_INTEGER, EVENTS_PER_ROOM)).length;
    await Promise.all(Array.from({ length: EVENTS_PER_ROOM - have }, (_, i) => {
      const sender = members[i % MEMBERS]!;
      return hs.rooms.sendOnce({ userId: sender, deviceId: "SEED", endpoint: "send", roomId, txnId: `seed-${i}` }, { type: "m.room.message", sender, content: { msgtype: "m.text", body: `message ${i} in room ${r}` } });
    }));
    total += (await hs.storage.events.getRoomEventsBetween(roomId, 0, Number.MAX_SAFE_INTEGER, EVENTS_PER_ROOM + 1)).length;
  }
  const seedMs = ms(seed0);

  const path = `/_matrix/client/v3/sync?filter=${FILTER}`;
  const initial: number[] = [];
  let bytes = 0;
  let token = "";
  let joined = 0;
  await profiled("initial-sync", async () => {
    for (let i = 0; i < RUNS; i++) {
      const t0 = process.hrtime.bigint();
      const r = await call(base, path, me!.token);
      initial.push(ms(t0, r.at));
      if (r.status !== 200) throw new Error(`initial sync answered ${r.status}: ${r.body.slice(0, 200)}`);
      bytes = r.body.length;
      const j = JSON.parse(r.body) as { next_batch: string; rooms: { join: Record<string, unknown> } };
      token = j.next_batch;
      joined = Object.keys(j.rooms.join).length;
    }
  });
  const quiet: number[] = [];
  await profiled("quiet-sync", async () => {
    for (let i = 0; i < QUIET_SYNCS; i++) {
      const t0 = process.hrtime.bigint();
      const r = await call(base, `${path}&since=${token}&timeout=0`, me!.token);
      quiet.push(ms(t0, r.at));
      if (r.status !== 200) throw new Error(`incremental sync answered ${r.status}`);
    }
  });

  const warm = initial.slice(1);
  console.log(`initial-sync bench ${machine()}, SQLite`);
  console.log(`  ${ROOMS} rooms x ${EVENTS_PER_ROOM} events (${total} timeline events, ${MEMBERS} members each), ${seeded ? `seeded by an earlier run (${DATA}), restarted on it` : `seeded through the room pipeline in ${(seedMs / 1000).toFixed(1)} s`}; filter lazy_load_members, timeline limit 10:`);
  console.log(`    initial /sync (${joined} joined rooms, ${(bytes / 1024).toFixed(0)} KiB): first ${initial[0]!.toFixed(0)} ms, then median ${quantile(warm, 0.5).toFixed(0)} ms, min ${Math.min(...warm).toFixed(0)} ms, max ${Math.max(...warm).toFixed(0)} ms over ${warm.length} runs`);
  console.log(`    incremental /sync with nothing new (timeout=0, ${QUIET_SYNCS} requests, HTTP round trip on loopback, an upper bound of server time): median ${quantile(quiet, 0.5).toFixed(2)} ms, p99 ${quantile(quiet, 0.99).toFixed(2)} ms`);
} finally {
  await zion.stop();
}
