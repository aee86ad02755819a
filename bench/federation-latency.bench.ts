/**
 * Federation latency (issue 14's target: median under 20 ms on loopback from an hs1 client's send to an hs2
 * client's /sync). Two Zions, each a `zion start` child process on SQLite, federating over TLS from a throwaway test
 * CA on loopback addresses of 127.0.47.0/24 (named by IP literal, so no DNS); a room created on hs1 and joined from
 * hs2. hs2's user long-polls /sync over a connection of its own; hs1's user sends MESSAGES messages one after
 * another (PUT /send, keep-alive), each after hs2's /sync has been waiting for WAIT_MS; each sample runs from just
 * before the send until hs2's /sync answer carrying the message has arrived. Prints the median, p90 and p99 of
 * those and of the send alone, and the load average before and after. Printed, never asserted.
 *
 *   npm run bench -- federation-latency
 *   ZION_BENCH_MESSAGES=500 npm run bench -- federation-latency
 *   ZION_BENCH_PROFILE=/tmp/prof npm run bench -- federation-latency   (a --cpu-prof profile of each server)
 */
import { Agent } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/harness/ports.js";
import { startTestServer, type TestServer } from "../test/harness/server.js";
import { createTestCa } from "../test/harness/test-ca.js";
import { call, machine, ms, quantile } from "./lib/client.js";

const MESSAGES = Number(process.env["ZION_BENCH_MESSAGES"] ?? 200);
const WARMUP = 10;
/** How long hs2's /sync has been waiting before each send (so the send never races the request's arrival). */
const WAIT_MS = 30;
const IPS = ["127.0.47.1", "127.0.47.2"] as const;

/** User and system CPU time of a process so far (ms), from /proc (clock ticks of 10 ms). */
const cpuMsOf = (pid: number): { user: number; system: number } => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(f[11]) * 10, system: Number(f[12]) * 10 };
};
const loadavg = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const dir = mkdtempSync(join(tmpdir(), "zion-fedlat-"));
const profileDir = process.env["ZION_BENCH_PROFILE"];
const servers: TestServer[] = [];
try {
  const ca = await createTestCa(join(dir, "ca"));
  const leaf = await ca.issue({ ip: [...IPS] });
  const generous = { per_second: 1_000_000, burst_count: 1_000_000 };
  for (const [i, ip] of IPS.entries()) {
    const port = await freePort(ip);
    servers.push(await startTestServer({
      serverName: `${ip}:${port}`,
      mode: "child",
      tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
      ...(profileDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=hs${i + 1}-${process.pid}.cpuprofile`] } : {}),
      config: {
        listeners: [
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] },
          { port, bind_addresses: [ip], type: "http", tls: true, resources: [{ names: ["federation", "keys"] }] },
        ],
        ip_range_whitelist: ["127.0.47.0/24"], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [],
        enable_registration: true, enable_registration_without_verification: true,
        rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous }, rc_federation: { window_size: 1000, sleep_limit: 1_000_000, reject_limit: 1_000_000 },
        federation: { destination_min_retry_interval: "1s", destination_max_retry_interval: "2s" },
      },
    }));
  }
  const [hs1, hs2] = servers as [TestServer, TestServer];
  const json = (r: { status: number; body: string }, what: string): Record<string, unknown> => {
    if (r.status !== 200) throw new Error(`${what} answered ${r.status}: ${r.body}`);
    return JSON.parse(r.body) as Record<string, unknown>;
  };
  const register = async (hs: TestServer, username: string): Promise<string> =>
    json(await call(hs.clientUrl!, "/_matrix/client/v3/register", "", "POST", JSON.stringify({ username, password: "bench password 1", auth: { type: "m.login.dummy" } })), "register")["access_token"] as string;
  const alice = await register(hs1, "alice");
  const bob = await register(hs2, "bob");
  const roomId = json(await call(hs1.clientUrl!, "/_matrix/client/v3/createRoom", alice, "POST", JSON.stringify({ preset: "public_chat", room_version: "11" })), "createRoom")["room_id"] as string;
  json(await call(hs2.clientUrl!, `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(hs1.serverName)}`, bob, "POST", "{}"), "join");
  // hs1 must know bob joined before its sends go to hs2.
  for (let i = 0; ; i++) {
    const m = json(await call(hs1.clientUrl!, `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`, alice), "joined_members");
    if (Object.keys(m["joined"] as object).some((u) => u.startsWith("@bob:"))) break;
    if (i > 300) throw new Error("hs1 never saw bob's join");
    await new Promise((r) => setTimeout(r, 100));
  }

  const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 10 }, state: { lazy_load_members: true } }, presence: { not_types: ["*"] } }));
  let since = json(await call(hs2.clientUrl!, `/_matrix/client/v3/sync?filter=${filter}&timeout=0`, bob), "initial sync")["next_batch"] as string;
  const sendAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const syncAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sendPath = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/`;

  /** One message: hs2's /sync waits, hs1's user sends; the send's and the arrival's time from the send's start (ms). */
  const once = async (n: number): Promise<{ send: number; arrival: number }> => {
    const body = `latency ${n} ${Math.random().toString(36).slice(2)}`;
    let arrivedAt: bigint | undefined;
    const waiting = (async () => {
      for (;;) {
        const r = await call(hs2.clientUrl!, `/_matrix/client/v3/sync?filter=${filter}&timeout=30000&since=${encodeURIComponent(since)}`, bob, "GET", undefined, syncAgent);
        const s = json(r, "sync");
        since = s["next_batch"] as string;
        if (r.body.includes(body)) {
          arrivedAt = r.at;
          return;
        }
      }
    })();
    await new Promise((r) => setTimeout(r, WAIT_MS));
    const start = process.hrtime.bigint();
    const sent = await call(hs1.clientUrl!, `${sendPath}m${n}`, alice, "PUT", JSON.stringify({ msgtype: "m.text", body }), sendAgent);
    json(sent, "send");
    await waiting;
    return { send: ms(start, sent.at), arrival: ms(start, arrivedAt!) };
  };

  for (let n = 0; n < WARMUP; n++) await once(-1 - n);
  const loadBefore = loadavg();
  const pids = [hs1.child!.pid!, hs2.child!.pid!];
  const cpu0 = pids.map(cpuMsOf);
  const t0 = process.hrtime.bigint();
  const sends: number[] = [];
  const arrivals: number[] = [];
  for (let n = 0; n < MESSAGES; n++) {
    const s = await once(n);
    sends.push(s.send);
    arrivals.push(s.arrival);
  }
  const wall = ms(t0);
  const cpu = pids.map((p, i) => {
    const now = cpuMsOf(p);
    return `${((now.user - cpu0[i]!.user) / MESSAGES).toFixed(2)} ms user + ${((now.system - cpu0[i]!.system) / MESSAGES).toFixed(2)} ms system`;
  });
  // The same servers idle for as long, for what they spend without messages (timers, the WAL checkpointer).
  const idle0 = pids.map(cpuMsOf);
  await new Promise((r) => setTimeout(r, Math.min(wall, 10_000)));
  const idle = pids.map((p, i) => ((cpuMsOf(p).user + cpuMsOf(p).system - idle0[i]!.user - idle0[i]!.system) * 1000) / Math.min(wall, 10_000));
  sendAgent.destroy();
  syncAgent.destroy();
  const q = (xs: number[]) => `median ${quantile(xs, 0.5).toFixed(1)} ms, p90 ${quantile(xs, 0.9).toFixed(1)} ms, p99 ${quantile(xs, 0.99).toFixed(1)} ms, min ${Math.min(...xs).toFixed(1)} ms`;
  console.log(`federation latency bench ${machine()}, SQLite, two zion start child processes`);
  console.log(`  ${MESSAGES} messages (after ${WARMUP} warm-up ones) sent one at a time by hs1's user into a v11 room of 2 members spanning hs1 and hs2 (TLS on 127.0.47.x), each while hs2's user's /sync had waited ${WAIT_MS} ms; ${(wall / 1000).toFixed(1)} s`);
  console.log(`    send start -> hs2's /sync answered with it: ${q(arrivals)}`);
  console.log(`    send start -> hs1's PUT /send answered: ${q(sends)}`);
  console.log(`    CPU time per message (user + system, from /proc): hs1 ${cpu[0]}, hs2 ${cpu[1]}; idle afterwards hs1 ${idle[0]!.toFixed(0)} ms, hs2 ${idle[1]!.toFixed(0)} ms of CPU per second`);
  console.log(`    load average (1, 5, 15 min) before the measured messages ${loadBefore}, after ${loadavg()}`);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  if (profileDir) console.log(`  (CPU profiles of hs1 and hs2 in ${profileDir})`);
  rmSync(dir, { recursive: true, force: true });
}
