/**
 * m.room.server_acl: https://spec.matrix.org/v1.16/client-server-api/#mroomserver_acl
 * Whether a server is allowed by the room's ACL content (absent ACL: every server).
 * 1. An IP literal is denied when allow_ip_literals is false (the default is true).
 * 2. A server matching any `deny` glob is denied.
 * 3. A server matching any `allow` glob is allowed; otherwise denied (an empty or absent allow list denies all).
 * Globs: `*` any run of characters, `?` one character, matched against the server name without its port,
 * case-insensitively.
 */
import type { JsonObject } from "../../core/json/types.js";

function hostOf(server: string): string {
  if (server.startsWith("[")) return server.slice(0, server.indexOf("]") + 1);
  const colon = server.lastIndexOf(":");
  return colon >= 0 ? server.slice(0, colon) : server;
}

function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

function globToRegExp(glob: string): RegExp {
  const body = [...glob].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("");
  return new RegExp(`^${body}$`, "i");
}

const globs = (v: unknown): RegExp[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string").map(globToRegExp) : []);

export function serverAllowedByAcl(acl: JsonObject | null | undefined, server: string): boolean {
  if (!acl) return true;
  const host = hostOf(server);
  // Step 1.
  if (acl["allow_ip_literals"] === false && isIpLiteral(host)) return false;
  // Step 2.
  if (globs(acl["deny"]).some((g) => g.test(host))) return false;
  // Step 3.
  return globs(acl["allow"]).some((g) => g.test(host));
}
