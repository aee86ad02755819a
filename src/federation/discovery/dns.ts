/**
 * DNS as discovery sees it: SRV, A, AAAA and CNAME lookups that say "not found" (NXDOMAIN or NODATA) apart from
 * "failed" (SERVFAIL, REFUSED, timeout), because the specification falls back to the deprecated `_matrix._tcp`
 * record only when `_matrix-fed._tcp` is not found, not when the lookup errs.
 *
 * `NodeDns` uses a node:dns Resolver aimed at `dns_servers` (tests aim it at the dnsmasq harness); nothing here
 * touches the process-wide resolver configuration.
 */
import { Resolver } from "node:dns/promises";

export interface SrvAnswer {
  readonly target: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

export interface AddressAnswer {
  readonly address: string;
  /** Seconds. */
  readonly ttl: number;
}

export type DnsResult<T> =
  | { readonly ok: true; readonly records: readonly T[] }
  | { readonly ok: false; readonly notFound: boolean; readonly code: string; readonly message: string };

export interface Dns {
  srv(name: string): Promise<DnsResult<SrvAnswer>>;
  a(name: string): Promise<DnsResult<AddressAnswer>>;
  aaaa(name: string): Promise<DnsResult<AddressAnswer>>;
  /** The CNAME target(s) of `name`; not found when `name` is not an alias. */
  cname(name: string): Promise<DnsResult<string>>;
}

export interface NodeDnsOptions {
  /** "ip" or "ip:port" or "[ipv6]:port"; empty or absent means the system's resolvers. */
  readonly servers?: readonly string[];
  /** Per-query timeout in ms (default 5000). */
  readonly timeoutMs?: number;
  /** Attempts per server (default 2). */
  readonly tries?: number;
}

const NOT_FOUND_CODES = new Set(["ENOTFOUND", "ENODATA"]);

function failure(err: unknown): { ok: false; notFound: boolean; code: string; message: string } {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === "string" ? e.code : "EUNKNOWN";
  return { ok: false, notFound: NOT_FOUND_CODES.has(code), code, message: e?.message ?? String(err) };
}

export class NodeDns implements Dns {
  private readonly resolver: Resolver;

  constructor(opts: NodeDnsOptions = {}) {
    this.resolver = new Resolver({ timeout: opts.timeoutMs ?? 5000, tries: opts.tries ?? 2 });
    if (opts.servers && opts.servers.length > 0) this.resolver.setServers([...opts.servers]);
  }

  async srv(name: string): Promise<DnsResult<SrvAnswer>> {
    try {
      const rs = await this.resolver.resolveSrv(name);
      return { ok: true, records: rs.map((r) => ({ target: r.name, port: r.port, priority: r.priority, weight: r.weight })) };
    } catch (err) {
      return failure(err);
    }
  }

  async a(name: string): Promise<DnsResult<AddressAnswer>> {
    try {
      return { ok: true, records: await this.resolver.resolve4(name, { ttl: true }) };
    } catch (err) {
      return failure(err);
    }
  }

  async aaaa(name: string): Promise<DnsResult<AddressAnswer>> {
    try {
      return { ok: true, records: await this.resolver.resolve6(name, { ttl: true }) };
    } catch (err) {
      return failure(err);
    }
  }

  async cname(name: string): Promise<DnsResult<string>> {
    try {
      return { ok: true, records: await this.resolver.resolveCname(name) };
    } catch (err) {
      return failure(err);
    }
  }
}
