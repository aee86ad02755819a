/**
 * Server-name resolution from cache (target: under 1 ms). Prints the median and p99 of a cached resolution, and
 * the cost of a full resolution over an in-process DNS answering at once (well-known failing immediately), for
 * the ratio. DNS here is an in-memory table so only Zion's own work is measured.
 */
import type { Clock } from "../../core/clock.js";
import { RecordingTrace } from "../trace.js";
import type { Dns, DnsResult, SrvAnswer, AddressAnswer } from "./dns.js";
import { IpRangePolicy } from "./ip-ranges.js";
import { ServerResolver } from "./resolve.js";
import { WellKnownResolver } from "./well-known.js";

const NAMES = 1000;
const clock: Clock = { now: () => 1_800_000_000_000, sleep: async () => {} };
const notFound = { ok: false as const, notFound: true, code: "ENOTFOUND", message: "not found" };

class TableDns implements Dns {
  async srv(name: string): Promise<DnsResult<SrvAnswer>> {
    return name.startsWith("_matrix-fed._tcp.") ? { ok: true, records: [{ target: `fed.${name.slice(17)}`, port: 8448, priority: 10, weight: 5 }] } : notFound;
  }
  async a(name: string): Promise<DnsResult<AddressAnswer>> {
    return { ok: true, records: [{ address: `203.0.114.${name.length % 250}`, ttl: 3600 }] };
  }
  async aaaa(): Promise<DnsResult<AddressAnswer>> { return notFound; }
  async cname(): Promise<DnsResult<string>> { return notFound; }
}

function stats(samples: number[]): { median: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p99: s[Math.floor(s.length * 0.99)]! };
}

const wellKnown = new WellKnownResolver(async () => { throw new Error("no well-known in this benchmark"); }, clock);
const resolver = new ServerResolver({ dns: new TableDns(), wellKnown, clock, ipPolicy: new IpRangePolicy() });
const names = Array.from({ length: NAMES }, (_, i) => `server${i}.example.org`);

const full: number[] = [];
for (const n of names) {
  const t = process.hrtime.bigint();
  const r = await resolver.resolve(n, { trace: new RecordingTrace() });
  full.push(Number(process.hrtime.bigint() - t) / 1e6);
  if (!r.ok) throw new Error(r.reason);
}
const cached: number[] = [];
for (let round = 0; round < 20; round++) {
  for (const n of names) {
    const t = process.hrtime.bigint();
    const r = await resolver.resolve(n);
    cached.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!r.ok || !r.fromCache) throw new Error("expected a cached answer");
  }
}
const f = stats(full);
const c = stats(cached);
console.log(`resolution, ${NAMES} names (SRV step 4, in-memory DNS): full ${f.median.toFixed(4)} ms median, ${f.p99.toFixed(4)} ms p99`);
console.log(`resolution from cache, ${cached.length} lookups: ${c.median.toFixed(4)} ms median, ${c.p99.toFixed(4)} ms p99 (target < 1 ms)`);
console.log(`full / cached: ${(f.median / c.median).toFixed(1)}x`);
