/**
 * Outbound address policy: `ip_range_blacklist` / `ip_range_whitelist` as Synapse applies them. Every address a
 * DNS answer (or an IP-literal server name, or a .well-known delegation) yields passes `allows()` before Zion
 * connects, so that a remote record cannot point us at an internal service.
 */
import { BlockList, isIP } from "node:net";

/** Synapse's DEFAULT_IP_RANGE_BLACKLIST: private, loopback, link-local, CGNAT, documentation and multicast. */
export const DEFAULT_IP_RANGE_BLACKLIST: readonly string[] = [
  "127.0.0.0/8",
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "192.0.0.0/24",
  "169.254.0.0/16",
  "192.88.99.0/24",
  "198.18.0.0/15",
  "192.0.2.0/24",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "::1/128",
  "fe80::/10",
  "fc00::/7",
  "2001:db8::/32",
  "ff00::/8",
  "fec0::/10",
];

/** Always refused, whatever the configuration says (Synapse adds these too). */
const ALWAYS_BLOCKED = ["0.0.0.0/32", "::/128"];

export class InvalidIpRangeError extends Error {
  constructor(readonly range: string, reason: string) {
    super(`invalid IP range ${JSON.stringify(range)}: ${reason}`);
    this.name = "InvalidIpRangeError";
  }
}

function addRange(list: BlockList, range: string): void {
  const [addr, prefixText, ...rest] = range.trim().split("/");
  const family = isIP(addr ?? "");
  if (!addr || family === 0 || rest.length > 0) throw new InvalidIpRangeError(range, "expected an address or address/prefix");
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^[0-9]+$/.test(prefixText))) {
    throw new InvalidIpRangeError(range, `prefix must be 0-${max}`);
  }
  list.addSubnet(addr, prefix, family === 4 ? "ipv4" : "ipv6");
}

/** "::ffff:1.2.3.4" is 1.2.3.4 for policy purposes. */
export function unmapIPv4(ip: string): string {
  const m = /^::ffff:([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

export type IpVerdict = { ok: true } | { ok: false; reason: string };

export class IpRangePolicy {
  private readonly black = new BlockList();
  private readonly white = new BlockList();
  private readonly always = new BlockList();
  private readonly whiteCount: number;

  constructor(readonly blacklist: readonly string[] = DEFAULT_IP_RANGE_BLACKLIST, readonly whitelist: readonly string[] = []) {
    for (const r of blacklist) addRange(this.black, r);
    for (const r of whitelist) addRange(this.white, r);
    for (const r of ALWAYS_BLOCKED) addRange(this.always, r);
    this.whiteCount = whitelist.length;
  }

  /** Whether Zion may connect to `ip` (whitelist wins over blacklist; 0.0.0.0 and :: never). */
  check(rawIp: string): IpVerdict {
    const ip = unmapIPv4(rawIp);
    const family = isIP(ip);
    if (family === 0) return { ok: false, reason: `${JSON.stringify(rawIp)} is not an IP address` };
    const type = family === 4 ? "ipv4" : "ipv6";
    if (this.always.check(ip, type)) return { ok: false, reason: `${ip} is an unspecified address` };
    if (this.whiteCount > 0 && this.white.check(ip, type)) return { ok: true };
    if (this.black.check(ip, type)) {
      return { ok: false, reason: `${ip} is in ip_range_blacklist and not in ip_range_whitelist` };
    }
    return { ok: true };
  }
}

/** A policy that refuses nothing but the unspecified addresses (for tools told to ignore the ranges). */
export const ALLOW_ALL_IPS = new IpRangePolicy([], []);
