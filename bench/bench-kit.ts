/**
 * What the loopback benchmarks share: an in-process Zion with the rate limits opened, one HTTP request on a fresh
 * connection timed at its end, and quantiles.
 */
import { request } from "node:http";
import { scryptHasher } from "../src/api/index.js";
import { startTestServer, type TestServer } from "../test/harness/server.js";

const generous = { per_second: 100_000, burst_count: 100_000 };

/** A Zion on SQLite for a benchmark: open registration, no rate limits to speak of, warnings only. */
export function startBenchServer(): Promise<TestServer> {
  return startTestServer({
    config: { enable_registration: true, enable_registration_without_verification: true, rc_login: { address: generous, account: generous, failed_attempts: generous }, rc_registration: generous, rc_message: generous, log_level: "WARNING" },
    startOptions: { passwordHasher: scryptHasher({ ln: 4 }) },
  });
}

export function timedRequest(base: string, path: string, token: string, method = "GET", body?: string): Promise<{ status: number; body: string; at: bigint }> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) Object.assign(headers, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
    const req = request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), at: process.hrtime.bigint() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
