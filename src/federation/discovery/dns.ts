/**
 * DNS as discovery sees it: SRV, A, AAAA and CNAME lookups that say "not found" (NXDOMAIN or NODATA) apart from
 * "failed" (SERVFAIL, REFUSED, timeout), because the specification falls back to the deprecated `_matrix._tcp`
 * record only when `_matrix-fed._tcp` is not found, not when the lookup errs.
 *
 * `NodeDns` uses a node:dns Resolver aimed at `dns_servers` (tests aim it at the dnsmasq harness); nothing here
 * touches the process-wide resolver configuration. Without `dns_servers` it resolves A/AAAA as the system does:
 * the hosts file first (hosts-file.ts), then the system's DNS servers; SRV and CNAME are DNS only.
 */
import { Resolver } from "node:dns/promises";
import { readFile, stat } from "node:fs/promises";
import { lookupHosts, parseHostsFile, type HostsTable } from "./hosts-file.js";

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
  /**
   * The hosts file consulted for A/AAAA before DNS: default `/etc/hosts` when no `servers` are given (the system's
   * view), none when they are (those servers are the whole view, as before); `null` for none.
   */
  readonly hostsFile?: string | null;
}

export const SYSTEM_HOSTS_FILE = "/etc/hosts";
/** Seconds an answer from the hosts file is cached for (the file is re-read whenever it changes). */
export const HOSTS_FILE_TTL_SEC = 60;

const NOT_FOUND_CODES = new Set(["ENOTFOUND", "ENODATA"]);

function failure(err: unknown): { ok: false; notFound: boolean; code: string; message: string } {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === "string" ? e.code : "EUNKNOWN";
  return { ok: false, notFound: NOT_FOUND_CODES.has(code), code, message: e?.message ?? String(err) };
}

export class NodeDns implements Dns {
  private readonly resolver: Resolver;
  private readonly hostsFile: string | null;
  /** The parsed hosts file and the (mtime, size) it was read at. */
  private hosts: { mtimeMs: number; size: number; table: HostsTable } | undefined;

  constructor(opts: NodeDnsOptions = {}) {
    this.resolver = new Resolver({ timeout: opts.timeoutMs ?? 5000, tries: opts.tries ?? 2 });
    const custom = opts.servers !== undefined && opts.servers.length > 0;
    if (custom) this.resolver.setServers([...opts.servers!]);
    this.hostsFile = opts.hostsFile !== undefined ? opts.hostsFile : custom ? null : SYSTEM_HOSTS_FILE;
  }

  /** The hosts file's table, re-read when its mtime or size changed; empty when there is none or it is unreadable. */
  private async hostsTable(): Promise<HostsTable | undefined> {
    if (this.hostsFile === null) return undefined;
    try {
      const st = await stat(this.hostsFile);
      if (this.hosts && this.hosts.mtimeMs === st.mtimeMs && this.hosts.size === st.size) return this.hosts.table;
      const table = parseHostsFile(await readFile(this.hostsFile, "utf8"));
      this.hosts = { mtimeMs: st.mtimeMs, size: st.size, table };
      return table;
    } catch {
      this.hosts = undefined;
      return undefined;
    }
  }

  /** The hosts file's answer for `name` (undefined: not listed there, ask DNS). */
  private async fromHosts(name: string, family: "v4" | "v6"): Promise<DnsResult<AddressAnswer> | undefined> {
    const table = await this.hostsTable();
    const found = table && lookupHosts(table, name, family);
    if (found === undefined) return undefined;
    if (found.length === 0) {
      const type = family === "v4" ? "A" : "AAAA";
      return { ok: false, notFound: true, code: "ENODATA", message: `${this.hostsFile} lists ${name} but no ${type} address for it` };
    }
    return { ok: true, records: found.map((address) => ({ address, ttl: HOSTS_FILE_TTL_SEC })) };
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
    const hosts = await this.fromHosts(name, "v4");
    if (hosts) return hosts;
    try {
      return { ok: true, records: await this.resolver.resolve4(name, { ttl: true }) };
    } catch (err) {
      return failure(err);
    }
  }

  async aaaa(name: string): Promise<DnsResult<AddressAnswer>> {
    const hosts = await this.fromHosts(name, "v6");
    if (hosts) return hosts;
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
