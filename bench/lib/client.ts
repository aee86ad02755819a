/**
 * The HTTP side of the client-API benchmarks: requests on loopback with the time each answer completed, users
 * registered through the API, and the quantiles the benchmarks print. Benchmarks print, never assert.
 */
import { Agent, request } from "node:http";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import { scryptHasher } from "../../src/api/index.js";
import type { RoomId, UserId } from "../../src/core/ids/index.js";
import { parseCreateRoomRequest } from "../../src/core/rooms/index.js";
import type { Homeserver } from "../../src/app/index.js";
import { startTestServer, type TestServer } from "../../test/harness/server.js";

export interface Answer {
  readonly status: number;
  readonly body: string;
  /** process.hrtime.bigint() when the whole answer had arrived. */
  readonly at: bigint;
}

/** One request; `agent` false (the default) opens a connection of its own, as a long-polling client holds one. */
export function call(base: string, path: string, token: string, method = "GET", body?: string, agent: Agent | false = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) Object.assign(headers, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
    const req = request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), at: process.hrtime.bigint() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

export const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

export const ms = (from: bigint, to: bigint = process.hrtime.bigint()): number => Number(to - from) / 1e6;

/** "<date> on N cores (model), /proc/loadavg ..." for a benchmark's first line. */
export function machine(): string {
  const load = readFileSync("/proc/loadavg", "utf8").trim();
  return `${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, /proc/loadavg ${load}`;
}

/**
 * An in-process Zion on SQLite with registration open and rate limits out of the way. With `dir` (created if
 * missing) it runs on the database kept there, restarting an earlier run's server (its signing key) when there is one.
 */
export function benchServer(dir?: string): Promise<TestServer> {
  const generous = { per_second: 1_000_000, burst_count: 1_000_000 };
  const earlier = dir !== undefined && existsSync(join(dir, "signing.key"));
  if (dir !== undefined) mkdirSync(dir, { recursive: true });
  return startTestServer({
    config: {
      enable_registration: true, enable_registration_without_verification: true, rc_login: { address: generous, account: generous, failed_attempts: generous }, rc_registration: generous, rc_message: generous, log_level: "WARNING",
      ...(earlier ? { signing_key_path: join(dir, "signing.key") } : {}),
    },
    startOptions: { passwordHasher: scryptHasher({ ln: 4 }) },
    ...(dir !== undefined ? { dir } : {}),
  });
}

const BENCH_PASSWORD = "bench password 1";

/** Logs in `<prefix>0..n-1`, registered by registerUsers in an earlier run on the same database. */
export async function loginUsers(base: string, prefix: string, n: number): Promise<{ userId: UserId; token: string }[]> {
  const users: { userId: UserId; token: string }[] = [];
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: `${prefix}${i}` }, password: BENCH_PASSWORD });
    const r = JSON.parse((await call(base, "/_matrix/client/v3/login", "", "POST", body)).body) as { user_id: UserId; access_token: string };
    users.push({ userId: r.user_id, token: r.access_token });
  }
  return users;
}

/** Registers `n` users `<prefix>0..n-1` through POST /register. */
export async function registerUsers(base: string, prefix: string, n: number): Promise<{ userId: UserId; token: string }[]> {
  const users: { userId: UserId; token: string }[] = [];
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify({ username: `${prefix}${i}`, password: BENCH_PASSWORD, auth: { type: "m.login.dummy" } });
    const r = JSON.parse((await call(base, "/_matrix/client/v3/register", "", "POST", body)).body) as { user_id: UserId; access_token: string };
    users.push({ userId: r.user_id, token: r.access_token });
  }
  return users;
}

/** A public v11 room created by the first user, every other user joined, through the room pipeline. */
export async function joinedRoom(hs: Homeserver, users: readonly UserId[], name?: string): Promise<RoomId> {
  const creator = users[0]!;
  const roomId = await hs.rooms.createRoom(creator, parseCreateRoomRequest({ preset: "public_chat", ...(name ? { name } : {}) }, creator, { defaultRoomVersion: "11" }));
  for (const u of users.slice(1)) await hs.rooms.join(roomId, u);
  return roomId;
}
