/**
 * /sync long-polling (issue 13's targets: median < 50 ms, p99 < 200 ms; incremental sync with nothing new < 5 ms
 * of server time). An in-process Zion on SQLite; CLIENTS users joined to one room, each with a long-polling
 * /sync over its own loopback connection, the clients in a process of their own (bench/lib/long-poll-clients.ts);
 * one message is sent through PUT /send and the time from just before the send until each waiting request has its
 * answer is recorded, over ROUNDS rounds, with the server process's CPU time per round. Then the round trip of an
 * incremental /sync with nothing new (timeout=0), which bounds its server time from above. Printed, never
 * asserted.
 *
 *   npm run bench -- sync
 */
import { fork } from "node:child_process";
import { benchServer, machine, quantile, joinedRoom, registerUsers } from "./lib/client.js";
import { profiled } from "./lib/profile.js";

const CLIENTS = 200;
const ROUNDS = 10;
const QUIET_SYNCS = 500;

const zion = await benchServer();
const clients = fork(new URL("./lib/long-poll-clients.js", import.meta.url));
try {
  const base = zion.clientUrl!;
  const hs = zion.homeserver!;
  const users = await registerUsers(base, "bench", CLIENTS);
  const roomId = await joinedRoom(hs, users.map((u) => u.userId));

  const ask = <T>(m: object, kind: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const on = (r: { kind: string; error?: string }) => {
        if (r.kind !== kind && r.kind !== "error") return;
        clients.off("message", on);
        if (r.kind === "error") reject(new Error(r.error));
        else resolve(r as T);
      };
      clients.on("message", on);
      clients.send(m);
    });

  await ask({ kind: "start", base, roomId, tokens: users.map((u) => u.token) }, "started");
  const samples: number[] = [];
  const cpuRounds: number[] = [];
  await profiled("sync-wake", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await ask({ kind: "poll", round }, "polling");
      const deadline = Date.now() + 60_000;
      while (hs.notifier.waiting() < CLIENTS) {
        if (Date.now() > deadline) throw new Error(`round ${round}: ${hs.notifier.waiting()} of ${CLIENTS} long polls waiting after a minute (one answered early?)`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const cpu0 = process.cpuUsage();
      const { samples: s } = await ask<{ samples: number[] }>({ kind: "send", round }, "sent");
      const cpu = process.cpuUsage(cpu0);
      cpuRounds.push((cpu.user + cpu.system) / 1000);
      samples.push(...s);
    }
  });
  const { quiet } = await ask<{ quiet: number[] }>({ kind: "quiet", n: QUIET_SYNCS }, "quiet");

  console.log(`sync bench ${machine()}, SQLite`);
  console.log(`  ${CLIENTS} long-polling clients (in another process) in one room, one message sent (PUT /send), ${ROUNDS} rounds (${samples.length} samples):`);
  console.log(`    send start -> each waiting /sync answered with it: median ${quantile(samples, 0.5).toFixed(1)} ms, p99 ${quantile(samples, 0.99).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms`);
  console.log(`    CPU time of the server process from the send to the last answer: median ${quantile(cpuRounds, 0.5).toFixed(1)} ms per round (${((quantile(cpuRounds, 0.5) * 1000) / CLIENTS).toFixed(0)} µs per woken request)`);
  console.log(`  incremental /sync with nothing new (timeout=0, ${QUIET_SYNCS} requests, HTTP round trip on loopback, an upper bound of server time):`);
  console.log(`    median ${quantile(quiet, 0.5).toFixed(2)} ms, p99 ${quantile(quiet, 0.99).toFixed(2)} ms`);
} finally {
  if (clients.connected) clients.disconnect();
  clients.kill();
  await zion.stop();
}
