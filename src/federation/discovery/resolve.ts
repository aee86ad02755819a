/**
 * Resolving server names: https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names
 *
 * 1. IP literal: that address, the given port or 8448; Host = the server name; certificate for the IP.
 * 2. Explicit port: AAAA/A of the hostname, that port; Host = the server name; certificate for the hostname.
 * 3. GET https://<hostname>/.well-known/matrix/server (well-known.ts). If valid, "m.server" = delegated[:port]:
 *    3.1 delegated IP literal: that IP, the port or 8448; Host = the IP (and port if given); certificate for the IP.
 *    3.2 delegated hostname with port: AAAA/A of it; Host = "delegated:port"; certificate for the delegated host.
 *    3.3 no port: SRV _matrix-fed._tcp.<delegated>; Host = delegated; certificate for the delegated host.
 *    3.4 deprecated: SRV _matrix._tcp.<delegated>, only if 3.3 found no record; same Host and certificate.
 *    3.5 no SRV: AAAA/A of the delegated host, port 8448; same Host and certificate.
 * 4. Well-known failed: SRV _matrix-fed._tcp.<hostname>; Host = hostname; certificate for the hostname.
 * 5. Deprecated: SRV _matrix._tcp.<hostname>, only if 4 found no record; same Host and certificate.
 * 6. AAAA/A of the hostname, port 8448; same Host and certificate.
 *
 * Throughout: SRV records are ordered by RFC 2782 (srv.ts); an SRV target that is a CNAME is refused (RFC 2782:
 * "the target must not be an alias"); "." as the only target means the service is decidedly absent; an SRV
 * lookup that fails (SERVFAIL, REFUSED, timeout) stops resolution rather than falling through, since only "not
 * found" permits the next step; every address passes the IP-range policy, and refused addresses are dropped
 * (and traced). The result lists every allowed address of every target, in order, so callers fall back across
 * all of them.
 */
import type { Clock } from "../../core/clock.js";
import { checkServerName, type ParsedServerName, type ServerName } from "../../core/ids/server-name.js";
import { NO_TRACE, type Trace } from "../trace.js";
import type { Dns, SrvAnswer } from "./dns.js";
import type { IpRangePolicy } from "./ip-ranges.js";
import { orderSrv } from "./srv.js";
import type { WellKnownResolver } from "./well-known.js";

export const DEFAULT_FEDERATION_PORT = 8448;

export type ResolutionStep = "1" | "2" | "3.1" | "3.2" | "3.3" | "3.4" | "3.5" | "4" | "5" | "6";

export interface ResolvedTarget {
  readonly ip: string;
  readonly port: number;
  /** The DNS name the address came from (the IP itself for literals). */
  readonly host: string;
}

export interface Resolution {
  readonly serverName: ServerName;
  /** The spec step that decided the outcome. */
  readonly step: ResolutionStep;
  /** The Host header to send. */
  readonly hostHeader: string;
  /** The name the certificate must prove (IP addresses without brackets). */
  readonly tlsName: string;
  /** Every allowed address, in the order to try. */
  readonly targets: readonly ResolvedTarget[];
  /** "m.server" when .well-known delegated. */
  readonly delegatedTo?: string;
  /** The SRV record name used, when one was. */
  readonly srvName?: string;
  /** Until when this answer may be reused (our clock). */
  readonly expiresAt: number;
}

export type ResolveOutcome =
  | { readonly ok: true; readonly resolution: Resolution; readonly fromCache: boolean }
  | { readonly ok: false; readonly reason: string; readonly step?: ResolutionStep };

export interface ResolverDeps {
  readonly dns: Dns;
  readonly wellKnown: WellKnownResolver;
  readonly clock: Clock;
  readonly ipPolicy: IpRangePolicy;
  /** For RFC 2782 weighted ordering (tests pin it). */
  readonly random?: () => number;
  /** Shortest and longest reuse of a resolution, ms (defaults 60 s and 1 h). */
  readonly minCacheMs?: number;
  readonly maxCacheMs?: number;
}

export interface ResolveOptions {
  readonly trace?: Trace;
  /** Skip every cache (the tester and `zion debug resolve` use this to show each step). */
  readonly noCache?: boolean;
}

export type Lookup = { ok: true; targets: ResolvedTarget[]; ttlSec: number } | { ok: false; notFound: boolean; reason: string };

function bracket(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

export class ServerResolver {
  private readonly cache = new Map<string, { resolution: Resolution }>();

  constructor(private readonly deps: ResolverDeps) {}

  clearCache(): void {
    this.cache.clear();
    this.deps.wellKnown.clear();
  }

  async resolve(rawName: string, opts: ResolveOptions = {}): Promise<ResolveOutcome> {
    const trace = opts.trace ?? NO_TRACE;
    const now = this.deps.clock.now();
    if (!opts.noCache) {
      const hit = this.cache.get(rawName);
      if (hit && hit.resolution.expiresAt > now) {
        trace.step({
          check: "resolution.target", ok: true,
          detail: `cached resolution (step ${hit.resolution.step}) until ${new Date(hit.resolution.expiresAt).toISOString()}`,
        });
        return { ok: true, resolution: hit.resolution, fromCache: true };
      }
      if (hit) this.cache.delete(rawName);
    }
    const parsed = checkServerName(rawName);
    if (!parsed.ok) {
      trace.step({ check: "name.valid", ok: false, detail: parsed.reason, fix: "Use host or host:port (an [IPv6] literal in brackets)." });
      return { ok: false, reason: `invalid server name: ${parsed.reason}` };
    }
    trace.step({ check: "name.valid", ok: true, detail: `${rawName} is a valid server name (${parsed.value.kind}${parsed.value.port ? `, port ${parsed.value.port}` : ""})` });
    const out = await this.resolveParsed(parsed.value, trace, opts);
    if (out.ok) {
      const r = out.resolution;
      trace.step({
        check: "resolution.target", ok: true,
        detail: `step ${r.step}: connect to ${r.targets.map((t) => `${bracket(t.ip)}:${t.port}`).join(", ")} with Host ${r.hostHeader}, expecting a certificate for ${r.tlsName}`,
        data: { step: r.step, hostHeader: r.hostHeader, tlsName: r.tlsName, targets: r.targets },
      });
      if (!opts.noCache) {
        if (this.cache.size > 50_000) this.cache.clear();
        this.cache.set(rawName, { resolution: r });
      }
      return { ok: true, resolution: r, fromCache: false };
    }
    const fix = /ip_range_blacklist|unspecified address/.test(out.reason)
      ? "The server's addresses are refused by ip_range_blacklist: federate over public addresses, or (on a private network) add the range to ip_range_whitelist."
      : /failed \(/.test(out.reason)
        ? "Fix the DNS answers for this name (the lookup failed rather than finding nothing)."
        : "Publish one of: /.well-known/matrix/server, an SRV record _matrix-fed._tcp, or a federation listener on port 8448 of the server name.";
    trace.step({ check: "resolution.target", ok: false, detail: out.reason, fix });
    return out;
  }

  private expiry(ttlSec: number, cap?: number): number {
    const now = this.deps.clock.now();
    const min = this.deps.minCacheMs ?? 60_000;
    const max = this.deps.maxCacheMs ?? 3600_000;
    const ms = Math.min(max, Math.max(min, ttlSec * 1000));
    return Math.min(now + ms, cap ?? Infinity);
  }

  private async resolveParsed(name: ParsedServerName, trace: Trace, opts: ResolveOptions): Promise<ResolveOutcome> {
    const serverName = name.serverName;
    // Step 1.
    if (name.kind !== "dns") {
      const port = name.port ?? DEFAULT_FEDERATION_PORT;
      const t = this.literal(name.host, port, trace);
      if (!t.ok) return { ok: false, reason: t.reason, step: "1" };
      return done({ serverName, step: "1", hostHeader: serverName, tlsName: name.host, targets: t.targets, expiresAt: this.expiry(3600) });
    }
    // Step 2.
    if (name.port !== undefined) {
      const t = await this.addresses(name.host, name.port, trace);
      if (!t.ok) return { ok: false, reason: t.reason, step: "2" };
      return done({ serverName, step: "2", hostHeader: serverName, tlsName: name.host, targets: t.targets, expiresAt: this.expiry(t.ttlSec) });
    }
    // Step 3.
    const wk = await this.deps.wellKnown.lookup(name.host, trace, opts.noCache ? { noCache: true } : {});
    if (wk.result.ok) {
      const d = wk.result.delegated;
      const delegatedTo = wk.result.mServer;
      const cap = wk.expiresAt;
      if (d.kind !== "dns") {
        // Step 3.1.
        const port = d.port ?? DEFAULT_FEDERATION_PORT;
        const t = this.literal(d.host, port, trace);
        if (!t.ok) return { ok: false, reason: t.reason, step: "3.1" };
        const hostHeader = d.port !== undefined ? `${bracket(d.host)}:${d.port}` : bracket(d.host);
        return done({ serverName, step: "3.1", hostHeader, tlsName: d.host, targets: t.targets, delegatedTo, expiresAt: Math.min(cap, this.expiry(3600)) });
      }
      if (d.port !== undefined) {
        // Step 3.2.
        const t = await this.addresses(d.host, d.port, trace);
        if (!t.ok) return { ok: false, reason: t.reason, step: "3.2" };
        return done({ serverName, step: "3.2", hostHeader: `${d.host}:${d.port}`, tlsName: d.host, targets: t.targets, delegatedTo, expiresAt: this.expiry(t.ttlSec, cap) });
      }
      // Steps 3.3-3.5.
      return this.srvThenAddresses(serverName, d.host, ["3.3", "3.4", "3.5"], trace, cap, delegatedTo);
    }
    trace.step({ check: "well-known.fetch", ok: true, warn: true, detail: `no usable .well-known (${wk.result.reason}); continuing with SRV records (step 4)` });
    // Steps 4-6.
    return this.srvThenAddresses(serverName, name.host, ["4", "5", "6"], trace, wk.expiresAt, undefined);
  }

  private async srvThenAddresses(
    serverName: ServerName, host: string, steps: readonly [ResolutionStep, ResolutionStep, ResolutionStep], trace: Trace,
    cap: number, delegatedTo: string | undefined,
  ): Promise<ResolveOutcome> {
    const base = { serverName, hostHeader: host, tlsName: host, ...(delegatedTo !== undefined ? { delegatedTo } : {}) };
    for (const [i, prefix] of [[0, "_matrix-fed._tcp"], [1, "_matrix._tcp"]] as const) {
      const step = steps[i];
      const srvName = `${prefix}.${host}`;
      const check = i === 0 ? "srv.matrix-fed" : "srv.matrix";
      const ans = await this.deps.dns.srv(srvName);
      if (!ans.ok) {
        if (ans.notFound) {
          trace.step({ check, ok: true, detail: `no SRV record ${srvName} (${ans.code})` });
          continue;
        }
        const reason = `SRV lookup of ${srvName} failed (${ans.code}), so resolution stops rather than skipping it`;
        trace.step({ check, ok: false, detail: reason, fix: `Make the DNS servers for ${host} answer SRV queries (a record or NXDOMAIN/NODATA).` });
        return { ok: false, reason, step };
      }
      if (i === 1) {
        trace.step({
          check, ok: true, warn: true,
          detail: `found the deprecated SRV record ${srvName}`,
          fix: `Publish _matrix-fed._tcp.${host} with the same target; _matrix._tcp is deprecated.`,
        });
      }
      const records = ans.records.filter((r) => r.target !== "" && r.target !== ".");
      if (records.length === 0) {
        const reason = `SRV ${srvName} says the service is not available (target ".")`;
        trace.step({ check, ok: false, detail: reason });
        return { ok: false, reason, step };
      }
      const ordered = orderSrv(records, this.deps.random);
      trace.step({
        check, ok: true,
        detail: `SRV ${srvName}: ${ordered.map((r) => `${r.target}:${r.port} (priority ${r.priority}, weight ${r.weight})`).join(", ")}`,
        data: { records: ordered },
      });
      const t = await this.srvTargets(ordered, trace);
      if (!t.ok) return { ok: false, reason: `${srvName}: ${t.reason}`, step };
      return done({ ...base, step, srvName, targets: t.targets, expiresAt: this.expiry(t.ttlSec, cap) });
    }
    const step = steps[2];
    const t = await this.addresses(host, DEFAULT_FEDERATION_PORT, trace);
    if (!t.ok) return { ok: false, reason: t.reason, step };
    return done({ ...base, step, targets: t.targets, expiresAt: this.expiry(t.ttlSec, cap) });
  }

  /** Addresses of each SRV target in order, refusing targets that are CNAMEs. */
  private async srvTargets(records: readonly SrvAnswer[], trace: Trace): Promise<Lookup> {
    const targets: ResolvedTarget[] = [];
    const reasons: string[] = [];
    let ttlSec = Infinity;
    for (const r of records) {
      const target = r.target.replace(/\.$/, "");
      const cname = await this.deps.dns.cname(target);
      if (cname.ok && cname.records.length > 0) {
        const reason = `SRV target ${target} is a CNAME (to ${cname.records.join(", ")}), which RFC 2782 forbids`;
        trace.step({ check: "srv.cname", ok: false, detail: reason, fix: `Point the SRV record at ${cname.records[0]} (the canonical name) instead of the alias ${target}.` });
        reasons.push(reason);
        continue;
      }
      const t = await this.addresses(target, r.port, trace);
      if (!t.ok) {
        reasons.push(t.reason);
        continue;
      }
      targets.push(...t.targets);
      ttlSec = Math.min(ttlSec, t.ttlSec);
    }
    if (targets.length === 0) return { ok: false, notFound: false, reason: `no usable SRV target: ${reasons.join("; ")}` };
    return { ok: true, targets, ttlSec: Number.isFinite(ttlSec) ? ttlSec : 300 };
  }

  private literal(ip: string, port: number, trace: Trace): Lookup {
    const v = this.deps.ipPolicy.check(ip);
    if (!v.ok) {
      trace.step({ check: "policy.ip-ranges", ok: false, detail: v.reason, address: `${bracket(ip)}:${port}` });
      return { ok: false, notFound: false, reason: v.reason };
    }
    return { ok: true, targets: [{ ip, port, host: ip }], ttlSec: 3600 };
  }

  private addresses(host: string, port: number, trace: Trace): Promise<Lookup> {
    return lookupAddresses(this.deps.dns, this.deps.ipPolicy, host, port, trace);
  }
}

function done(resolution: Resolution): ResolveOutcome {
  return { ok: true, resolution, fromCache: false };
}

/** AAAA then A records of `host`, every address through the IP policy. */
export async function lookupAddresses(dns: Dns, ipPolicy: IpRangePolicy, host: string, port: number, trace: Trace): Promise<Lookup> {
  const [six, four] = await Promise.all([dns.aaaa(host), dns.a(host)]);
  const found = [...(six.ok ? six.records : []), ...(four.ok ? four.records : [])];
  if (found.length === 0) {
    const notFound = (!six.ok && six.notFound) && (!four.ok && four.notFound);
    const codes = [six, four].map((x) => (x.ok ? "no records" : x.code)).join("/");
    const reason = notFound ? `${host} has no AAAA or A record (${codes})` : `AAAA/A lookup of ${host} failed (${codes})`;
    trace.step({ check: "dns.host", ok: false, detail: reason, fix: `Publish an A (or AAAA) record for ${host}.` });
    return { ok: false, notFound, reason };
  }
  trace.step({
    check: "dns.host", ok: true, detail: `${host} has ${found.map((f) => f.address).join(", ")}`,
    data: { host, addresses: found.map((f) => f.address) },
  });
  const targets: ResolvedTarget[] = [];
  const refused: string[] = [];
  for (const f of found) {
    const v = ipPolicy.check(f.address);
    if (v.ok) targets.push({ ip: f.address, port, host });
    else {
      refused.push(v.reason);
      trace.step({
        check: "policy.ip-ranges", ok: false, address: `${bracket(f.address)}:${port}`,
        detail: `refusing ${f.address} for ${host}: ${v.reason}`,
        fix: "The address is in ip_range_blacklist: remove that range or add the address to ip_range_whitelist.",
      });
    }
  }
  if (targets.length === 0) return { ok: false, notFound: false, reason: `every address of ${host} is refused: ${refused.join("; ")}` };
  return { ok: true, targets, ttlSec: Math.min(...found.map((f) => f.ttl)) };
}
