/**
 * /sync long-polling (issue 13's targets: median < 50 ms, p99 < 200 ms; incremental sync with nothing new < 5 ms
 * of server time). An in-process Zion on SQLite; CLIENTS users joined to one room, each with a long-polling
 * /sync over its own loopback connection; one message is sent through PUT /send and the time from just before
 * the send until each waiting request has its response is recorded, over ROUNDS rounds. Then the round trip of
 * an incremental /sync with nothing new (timeout=0), which bounds its server time from above. Printed, never
 * asserted.
 *
 *   npm run bench -- sync
 */
import type { RoomId } from "../src/core/ids/index.js";
import { parseCreateRoomRequest } from "../src/core/rooms/index.js";
import { benchServer, call as get, machine, quantile, registerUsers } from "./lib/client.js";
import { profiled } from "./lib/profile.js";

const CLIENTS = 200;
const ROUNDS = 5;
const QUIET_SYNCS = 500;

const zion = await benchServer();
try {
  const base = zion.clientUrl!;
  const hs = zion.homeserver!;
  const users = await registerUsers(base, "bench", CLIENTS);
  const creator = users[0]!.userId;
  const roomId: RoomId = await hs.rooms.createRoom(creator, parseCreateRoomRequest({ preset: "public_chat" }, creator, { defaultRoomVersion: "11" }));
  for (const u of users.slice(1)) await hs.rooms.join(roomId, u.userId);
  const tokens = await Promise.all(users.map(async (u) => String(JSON.parse((await get(base, "/_matrix/client/v3/sync", u.token)).body)["next_batch"])));

  const samples: number[] = [];
  const cpuRounds: number[] = [];
  await profiled("sync-wake", async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const waits = users.map((u, i) => get(base, `/_matrix/client/v3/sync?timeout=30000&since=${tokens[i]}`, u.token));
    while (hs.notifier.waiting() < CLIENTS) await new Promise((r) => setTimeout(r, 5));
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    await get(base, `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/r${round}`, users[0]!.token, "PUT", JSON.stringify({ msgtype: "m.text", body: `round ${round}` }));
    const answers = await Promise.all(waits);
    const cpu = process.cpuUsage(cpu0);
    cpuRounds.push((cpu.user + cpu.system) / 1000);
    answers.forEach((a, i) => {
      const j = JSON.parse(a.body) as { next_batch: string; rooms: { join: Record<string, { timeline: { events: { content: { body?: string } }[] } }> } };
      if (!j.rooms.join[roomId]?.timeline.events.some((e) => e.content.body === `round ${round}`)) throw new Error(`client ${i} woke without the event`);
      tokens[i] = j.next_batch;
      samples.push(Number(a.at - t0) / 1e6);
    });
  }
  });

  const quiet: number[] = [];
  const u = users[1]!;
  for (let i = 0; i < QUIET_SYNCS; i++) {
    const t0 = process.hrtime.bigint();
    const r = await get(base, `/_matrix/client/v3/sync?timeout=0&since=${tokens[1]}`, u.token);
    quiet.push(Number(r.at - t0) / 1e6);
  }

  console.log(`sync bench ${machine()}, SQLite`);
  console.log(`  ${CLIENTS} long-polling clients in one room, one message sent (PUT /send), ${ROUNDS} rounds (${samples.length} samples):`);
  console.log(`    send start -> every waiting /sync answered with it: median ${quantile(samples, 0.5).toFixed(1)} ms, p99 ${quantile(samples, 0.99).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms`);
  console.log(`    CPU time of the process (server and the 200 clients) from the send to the last answer: median ${quantile(cpuRounds, 0.5).toFixed(1)} ms per round`);
  console.log(`  incremental /sync with nothing new (timeout=0, ${QUIET_SYNCS} requests, HTTP round trip on loopback, an upper bound of server time):`);
  console.log(`    median ${quantile(quiet, 0.5).toFixed(2)} ms, p99 ${quantile(quiet, 0.99).toFixed(2)} ms`);
} finally {
  await zion.stop();
}
