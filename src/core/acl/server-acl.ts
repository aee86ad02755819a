/**
 * m.room.server_acl: whether a server may take part in a room.
 * https://spec.matrix.org/v1.16/client-server-api/#server-access-control-lists-acls-for-rooms
 *
 * 1. The server name is compared without its port.
 * 2. An IP literal (IPv4, or IPv6 in brackets) is denied when allow_ip_literals is false (default true).
 * 3. A name matching any `deny` glob is denied.
 * 4. A name matching any `allow` glob is allowed; otherwise denied (allow defaults to [], so an ACL without it
 *    denies everyone).
 * Globs: `*` any run of characters, `?` one character, compared case-insensitively as DNS names are. Entries that
 * are not strings are ignored. No m.room.server_acl in the room state: everyone is allowed.
 */
import type { JsonValue } from "../json/types.js";

export interface ServerAclVerdict {
  readonly allowed: boolean;
  readonly reason: string;
}

function hostOf(server: string): string {
  if (server.startsWith("[")) {
    const end = server.indexOf("]");
    return end < 0 ? server : server.slice(0, end + 1);
  }
  const colon = server.lastIndexOf(":");
  return colon < 0 ? server : server.slice(0, colon);
}

function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

function globs(content: JsonValue | undefined, key: string): RegExp[] {
  if (typeof content !== "object" || content === null || Array.isArray(content)) return [];
  const v = (content as Record<string, JsonValue>)[key];
  if (!Array.isArray(v)) return [];
  return v.filter((g): g is string => typeof g === "string").map((g) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "is"));
}

/** The verdict for `server` under an m.room.server_acl content (undefined: the room has none). */
export function serverAllowedByAcl(content: JsonValue | undefined, server: string): ServerAclVerdict {
  if (content === undefined) return { allowed: true, reason: "the room has no m.room.server_acl" };
  const host = hostOf(server);
  const o = typeof content === "object" && content !== null && !Array.isArray(content) ? (content as Record<string, JsonValue>) : {};
  if (o["allow_ip_literals"] === false && isIpLiteral(host)) return { allowed: false, reason: `${host} is an IP literal and allow_ip_literals is false` };
  if (globs(content, "deny").some((r) => r.test(host))) return { allowed: false, reason: `${host} matches a deny entry of m.room.server_acl` };
  if (globs(content, "allow").some((r) => r.test(host))) return { allowed: true, reason: `${host} matches an allow entry` };
  return { allowed: false, reason: `${host} matches no allow entry of m.room.server_acl` };
}
