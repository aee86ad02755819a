/**
 * Outbound address policy: `ip_range_blacklist` / `ip_range_whitelist` as Synapse applies them. Every address a
 * DNS answer (or an IP-literal server name, or a .well-known delegation) yields passes `check()` before Zion
 * connects, so that a remote record cannot point us at an internal service.
 *
 * Every IPv4 range in either list also covers the IPv6 forms that carry an IPv4 address, as Synapse's
 * `generate_ip_set` does: IPv4-compatible `::a.b.c.d` (RFC 4291 2.5.5.1), IPv4-mapped `::ffff:a.b.c.d`
 * (2.5.5.2) and 6to4 `2002:aabb:ccdd::/48` (RFC 3056). So 127.0.0.0/8 also blocks `::127.0.0.1`,
 * `::ffff:127.0.0.1` and `2002:7f00:1::`.
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
  if (family === 6) {
    list.addSubnet(addr, prefix, "ipv6");
    return;
  }
  list.addSubnet(addr, prefix, "ipv4");
  for (const [v6, p] of ipv6FormsOf(addr, prefix)) list.addSubnet(v6, p, "ipv6");
}

/** The IPv6 subnets that embed the IPv4 subnet addr/prefix: compatible, mapped, 6to4. */
export function ipv6FormsOf(addr: string, prefix: number): [string, number][] {
  const [hi, lo] = hexGroups(addr);
  return [[`::${addr}`, 96 + prefix], [`::ffff:${addr}`, 96 + prefix], [`2002:${hi}:${lo}::`, 16 + prefix]];
}

function hexGroups(v4: string): [string, string] {
  const b = v4.split(".").map(Number);
  const g = (x: number, y: number): string => ((x << 8) | y).toString(16);
  return [g(b[0]!, b[1]!), g(b[2]!, b[3]!)];
}

/** The IPv4 address an IPv4-mapped, IPv4-compatible or 6to4 IPv6 address carries (for messages), if any. */
export function embeddedIPv4(ip: string): { v4: string; form: string } | undefined {
  if (isIP(ip) !== 6) return undefined;
  const groups = ipv6Groups(ip);
  const v4 = (a: number, b: number): string => [a >> 8, a & 255, b >> 8, b & 255].join(".");
  if (groups.slice(0, 5).every((x) => x === 0) && groups[5] === 0xffff) return { v4: v4(groups[6]!, groups[7]!), form: "IPv4-mapped" };
  if (groups.slice(0, 6).every((x) => x === 0) && (groups[6] !== 0 || groups[7]! > 1)) return { v4: v4(groups[6]!, groups[7]!), form: "IPv4-compatible" };
  if (groups[0] === 0x2002) return { v4: v4(groups[1]!, groups[2]!), form: "6to4" };
  return undefined;
}

/** Eight 16-bit groups of a valid IPv6 address (a trailing dotted quad included). */
export function ipv6Groups(ip: string): number[] {
  let text = ip;
  const dotted = /([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)$/.exec(text);
  if (dotted) {
    const [hi, lo] = hexGroups(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${hi}:${lo}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill("0");
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16));
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
  check(ip: string): IpVerdict {
    const family = isIP(ip);
    if (family === 0) return { ok: false, reason: `${JSON.stringify(ip)} is not an IP address` };
    const type = family === 4 ? "ipv4" : "ipv6";
    if (this.always.check(ip, type)) return { ok: false, reason: `${ip} is an unspecified address` };
    if (this.whiteCount > 0 && this.white.check(ip, type)) return { ok: true };
    if (this.black.check(ip, type)) {
      const e = embeddedIPv4(ip);
      const what = e ? `${ip} (the ${e.form} form of ${e.v4})` : ip;
      return { ok: false, reason: `${what} is in ip_range_blacklist and not in ip_range_whitelist` };
    }
    return { ok: true };
  }
}

/** A policy that refuses nothing but the unspecified addresses (for tools told to ignore the ranges). */
export const ALLOW_ALL_IPS = new IpRangePolicy([], []);
