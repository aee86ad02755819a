/**
 * Certificate name checks for outbound federation, RFC 6125 section 6 as the specification's TLS section asks
 * (https://spec.matrix.org/v1.16/server-server-api/#tls):
 *
 * 1. The reference identity is the name resolution says to expect: a DNS name, or an IP address when the server
 *    name (or its delegation) is an IP literal.
 * 2. Only subjectAltName entries count: dNSName for DNS names, iPAddress for IP addresses. The subject common name
 *    is never used (RFC 6125 6.4.4 allows it only as a legacy fallback; browsers and Synapse refuse it).
 * 3. DNS names compare case-insensitively, ignoring one trailing dot.
 * 4. A wildcard is allowed only as the whole left-most label ("*.example.org"), matches exactly one label, never
 *    the bare parent ("example.org") nor two labels ("a.b.example.org"), and needs at least two labels after it.
 * 5. IP addresses compare as addresses (IPv6 in any notation, IPv4-mapped IPv6 equal to the IPv4 address).
 */
import { isIP } from "node:net";

export interface CertificateNames {
  readonly dns: readonly string[];
  readonly ip: readonly string[];
  readonly commonName?: string;
}

export type NameVerdict =
  | { readonly ok: true; readonly matched: string; readonly wildcard: boolean }
  | { readonly ok: false; readonly reason: string; readonly names: CertificateNames };

/** Parses node's `subjectaltname` text ("DNS:a.test, IP Address:127.0.0.1"). */
export function parseSubjectAltName(san: string | undefined, commonName?: string): CertificateNames {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const part of (san ?? "").split(/,\s*/)) {
    if (part.startsWith("DNS:")) dns.push(part.slice(4).replace(/^"(.*)"$/, "$1"));
    else if (part.startsWith("IP Address:")) ip.push(part.slice(11));
  }
  return commonName === undefined ? { dns, ip } : { dns, ip, commonName };
}

/** A comparable form of an IP address: IPv4 dotted, IPv6 as 8 full hex groups; IPv4-mapped IPv6 becomes IPv4. */
export function normaliseIp(raw: string): string | undefined {
  const ip = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  const family = isIP(ip);
  if (family === 4) return ip.split(".").map((x) => String(Number(x))).join(".");
  if (family !== 6) return undefined;
  let text = ip.toLowerCase();
  // An embedded dotted IPv4 tail becomes two hex groups.
  const dotted = /([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)$/.exec(text);
  if (dotted) {
    const o = dotted.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, dotted.index) + ((o[0] << 8) | o[1]).toString(16) + ":" + ((o[2] << 8) | o[3]).toString(16);
  }
  const halves = text.split("::");
  const l = halves[0] ? halves[0].split(":") : [];
  const r = halves.length > 1 && halves[1] ? halves[1].split(":") : [];
  const groups = halves.length > 1 ? [...l, ...Array<string>(Math.max(0, 8 - l.length - r.length)).fill("0"), ...r] : l;
  const full = groups.map((g) => g.padStart(4, "0"));
  if (full.length !== 8) return undefined;
  const joined = full.join(":");
  if (joined.startsWith("0000:0000:0000:0000:0000:ffff:")) {
    const a = parseInt(full[6]!, 16);
    const b = parseInt(full[7]!, 16);
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return joined;
}

function normaliseDns(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** Step 4: does one dNSName entry (maybe a wildcard) match the reference DNS name? */
export function dnsNameMatches(pattern: string, reference: string): { match: boolean; wildcard: boolean } {
  const p = normaliseDns(pattern);
  const r = normaliseDns(reference);
  if (!p.includes("*")) return { match: p === r, wildcard: false };
  const labels = p.split(".");
  // Only "*" as the entire left-most label, no other '*', at least two labels after it.
  if (labels[0] !== "*" || labels.slice(1).some((l) => l.includes("*")) || labels.length < 3) return { match: false, wildcard: true };
  const rLabels = r.split(".");
  if (rLabels.length !== labels.length || rLabels[0] === "" ) return { match: false, wildcard: true };
  return { match: rLabels.slice(1).join(".") === labels.slice(1).join("."), wildcard: true };
}

/** Checks the certificate's names against the expected reference identity (steps 1-5). */
export function checkCertificateName(names: CertificateNames, expected: string): NameVerdict {
  const expectedIp = normaliseIp(expected);
  if (expectedIp !== undefined) {
    for (const ip of names.ip) if (normaliseIp(ip) === expectedIp) return { ok: true, matched: ip, wildcard: false };
    return {
      ok: false,
      names,
      reason: names.ip.length === 0
        ? `the certificate has no IP address subjectAltName, so it cannot prove ${expected}`
        : `the certificate's IP addresses (${names.ip.join(", ")}) do not include ${expected}`,
    };
  }
  let sawWildcard = false;
  for (const d of names.dns) {
    const m = dnsNameMatches(d, expected);
    sawWildcard ||= m.wildcard;
    if (m.match) return { ok: true, matched: d, wildcard: m.wildcard };
  }
  if (names.dns.length === 0) {
    const cn = names.commonName;
    return {
      ok: false,
      names,
      reason: cn && normaliseDns(cn) === normaliseDns(expected)
        ? `the certificate names ${expected} only in its subject common name, which does not count (no DNS subjectAltName)`
        : `the certificate has no DNS subjectAltName, so it cannot prove ${expected}`,
    };
  }
  return {
    ok: false,
    names,
    reason: `the certificate is for ${names.dns.join(", ")}, not ${expected}` +
      (sawWildcard ? " (a wildcard covers exactly one left-most label)" : ""),
  };
}
