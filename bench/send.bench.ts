/**
 * Sustained sends into one room (issue 13's target: at least 1,500 messages/s accepted on SQLite). An in-process
 * Zion on SQLite; SENDERS users joined to one room, each a client with one keep-alive connection that sends
 * `m.room.message` events through PUT /rooms/{id}/send one after another (a new txn id each) for DURATION_MS
 * after a warm-up; every answer must be 200 with an event id. Prints messages accepted per second, the latency of
 * one send, and the process's CPU time per message (server and clients share the process). Printed, never
 * asserted.
 *
 *   npm run bench -- send
 */
import { Agent } from "node:http";
import { benchServer, call, machine, ms, quantile, joinedRoom, registerUsers } from "./lib/client.js";
import { profiled } from "./lib/profile.js";

const SENDERS = 20;
const WARMUP_MS = 1_000;
const DURATION_MS = 5_000;

const zion = await benchServer();
try {
  const base = zion.clientUrl!;
  const hs = zion.homeserver!;
  const users = await registerUsers(base, "sender", SENDERS);
  const roomId = await joinedRoom(hs, users.map((u) => u.userId));
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/`;

  /** Every sender sends one message after another until `until`; returns the latencies (ms). */
  const phase = async (name: string, forMs: number): Promise<{ latencies: number[]; wallMs: number; cpuMs: number }> => {
    const latencies: number[] = [];
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const until = t0 + BigInt(forMs) * 1_000_000n;
    await Promise.all(users.map(async (u, i) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let n = 0; process.hrtime.bigint() < until; n++) {
          const start = process.hrtime.bigint();
          const body = JSON.stringify({ msgtype: "m.text", body: `${name} message ${n} from sender ${i}` });
          const r = await call(base, `${path}${name}-${i}-${n}`, u.token, "PUT", body, agent);
          if (r.status !== 200 || !String(JSON.parse(r.body)["event_id"]).startsWith("$")) throw new Error(`send answered ${r.status}: ${r.body}`);
          latencies.push(ms(start, r.at));
        }
      } finally {
        agent.destroy();
      }
    }));
    const cpu = process.cpuUsage(cpu0);
    return { latencies, wallMs: ms(t0), cpuMs: (cpu.user + cpu.system) / 1000 };
  };

  await phase("warmup", WARMUP_MS);
  const before = await hs.storage.events.maxStreamOrdering();
  const { latencies, wallMs, cpuMs } = await profiled("send", () => phase("measured", DURATION_MS));
  const persisted = (await hs.storage.events.maxStreamOrdering()) - before;

  console.log(`send bench ${machine()}, SQLite`);
  console.log(`  ${SENDERS} clients, one keep-alive connection each, sending m.room.message into one room (v11, ${SENDERS} members) for ${(wallMs / 1000).toFixed(1)} s after a ${WARMUP_MS / 1000} s warm-up:`);
  console.log(`    ${latencies.length} messages accepted (stream moved ${persisted}): ${((latencies.length * 1000) / wallMs).toFixed(0)} messages/s`);
  console.log(`    one send: median ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms`);
  console.log(`    CPU time of the process (server and clients): ${((cpuMs * 1000) / latencies.length).toFixed(0)} µs per message`);
} finally {
  await zion.stop();
}
