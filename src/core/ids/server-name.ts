/**
 * Server names: https://spec.matrix.org/v1.16/appendices/#server-name
 *
 *   server_name = hostname [ ":" port ]
 *   port        = 1*5DIGIT
 *   hostname    = IPv4address / "[" IPv6address "]" / dns-name
 *   IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT
 *   IPv6address = 2*45IPv6char     ; IPv6char = DIGIT / %x41-46 / %x61-66 / ":" / "."
 *   dns-name    = 1*255dns-char    ; dns-char = DIGIT / ALPHA / "-" / "."
 */
import { MatrixError } from "../errors.js";
import { isIPv4, isIPv6 } from "./ip.js";

export type ServerName = string & { readonly __brand: "ServerName" };

export type HostKind = "ipv4" | "ipv6" | "dns";

export interface ParsedServerName {
  readonly serverName: ServerName;
  /** The host as written, IPv6 without brackets. */
  readonly host: string;
  readonly kind: HostKind;
  /** The explicit port, if the name carries one. */
  readonly port: number | undefined;
}

export type ServerNameResult = { ok: true; value: ParsedServerName } | { ok: false; reason: string };

const IPV4_SHAPE = /^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;
const DNS_CHARS = /^[0-9A-Za-z.-]{1,255}$/;

/** Parses a server name by the specification's grammar; never throws. */
export function checkServerName(raw: string): ServerNameResult {
  if (typeof raw !== "string" || raw.length === 0) return { ok: false, reason: "server name is empty" };
  let hostPart: string;
  let portPart: string | undefined;
  if (raw.startsWith("[")) {
    const close = raw.indexOf("]");
    if (close < 0) return { ok: false, reason: "IPv6 literal is missing its closing ']'" };
    hostPart = raw.slice(0, close + 1);
    const rest = raw.slice(close + 1);
    if (rest.length > 0) {
      if (!rest.startsWith(":")) return { ok: false, reason: `unexpected ${JSON.stringify(rest)} after the IPv6 literal` };
      portPart = rest.slice(1);
    }
  } else {
    const colon = raw.lastIndexOf(":");
    if (colon >= 0) {
      if (raw.indexOf(":") !== colon) return { ok: false, reason: "an IPv6 literal must be enclosed in [brackets]" };
      hostPart = raw.slice(0, colon);
      portPart = raw.slice(colon + 1);
    } else {
      hostPart = raw;
    }
  }
  let port: number | undefined;
  if (portPart !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portPart)) return { ok: false, reason: `port ${JSON.stringify(portPart)} is not 1 to 5 digits` };
    port = Number(portPart);
    if (port < 1 || port > 65535) return { ok: false, reason: `port ${port} is outside 1-65535` };
  }
  if (hostPart.startsWith("[")) {
    const inner = hostPart.slice(1, -1);
    if (!IPV6_CHARS.test(inner) || !isIPv6(inner)) return { ok: false, reason: `${JSON.stringify(inner)} is not a valid IPv6 address` };
    return { ok: true, value: { serverName: raw as ServerName, host: inner, kind: "ipv6", port } };
  }
  if (hostPart.length === 0) return { ok: false, reason: "host name is empty" };
  if (IPV4_SHAPE.test(hostPart)) {
    if (!isIPv4(hostPart)) return { ok: false, reason: `${JSON.stringify(hostPart)} is not a valid IPv4 address` };
    return { ok: true, value: { serverName: raw as ServerName, host: hostPart, kind: "ipv4", port } };
  }
  if (!DNS_CHARS.test(hostPart)) {
    return { ok: false, reason: `host ${JSON.stringify(hostPart)} may only contain letters, digits, '-' and '.' (at most 255)` };
  }
  return { ok: true, value: { serverName: raw as ServerName, host: hostPart, kind: "dns", port } };
}

/** A typed rejection (M_INVALID_PARAM, 400) like every other bad id, so callers and the HTTP layer treat it alike. */
export class InvalidServerNameError extends MatrixError {
  constructor(readonly input: string, readonly reason: string) {
    super("M_INVALID_PARAM", 400, `invalid server name ${JSON.stringify(input)}: ${reason}`);
    this.name = "InvalidServerNameError";
  }
}

export function parseServerName(raw: string): ParsedServerName {
  const r = checkServerName(raw);
  if (!r.ok) throw new InvalidServerNameError(raw, r.reason);
  return r.value;
}

export function isServerName(raw: string): raw is ServerName {
  return checkServerName(raw).ok;
}
