/**
 * Branded identifier types (STYLE C2): past the edge no layer takes a raw
 * string as an id. Grammar: https://spec.matrix.org/v1.16/appendices/#identifier-grammar
 */
import { MatrixError } from "../errors.js";
import { utf8Length } from "../json/utf8.js";
import { checkServerName, type ServerName } from "./server-name.js";

export type { ServerName, ParsedServerName, HostKind, ServerNameResult } from "./server-name.js";
export { checkServerName, parseServerName, isServerName, InvalidServerNameError } from "./server-name.js";

export type UserId = string & { readonly __brand: "UserId" };
export type RoomId = string & { readonly __brand: "RoomId" };
export type EventId = string & { readonly __brand: "EventId" };
export type RoomAlias = string & { readonly __brand: "RoomAlias" };
/** `algorithm:version`, e.g. `ed25519:a_XyZw`. */
export type KeyId = string & { readonly __brand: "KeyId" };

const MAX_ID_BYTES = 255;

function splitSigilId(field: string, raw: string, sigil: string): { localpart: string; server: ServerName } {
  if (typeof raw !== "string" || !raw.startsWith(sigil)) throw MatrixError.invalidParam(field, `must start with '${sigil}'`);
  if (utf8Length(raw) > MAX_ID_BYTES) throw MatrixError.invalidParam(field, `longer than ${MAX_ID_BYTES} bytes`);
  const colon = raw.indexOf(":");
  if (colon < 0) throw MatrixError.invalidParam(field, "has no ':server' part");
  const server = raw.slice(colon + 1);
  const r = checkServerName(server);
  if (!r.ok) throw MatrixError.invalidParam(field, r.reason);
  return { localpart: raw.slice(1, colon), server: r.value.serverName };
}

const NUL_OR_LONE_SURROGATE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * User ids as they arrive from other servers (senders, state keys, the keys of
 * power levels `users`, `additional_creators`, ...). Since spec v1.14
 * (https://spec.matrix.org/v1.16/appendices/#historical-user-ids) servers
 * MUST accept historical localparts: any non-surrogate code points except
 * ':' and NUL, including the empty localpart. The whole id stays within 255
 * bytes and the server name must be valid. Ids Zion creates for its own users
 * follow the strict grammar instead (`newLocalUserId` in api/client/shared).
 */
export function parseUserId(raw: string, field = "user_id"): UserId {
  const { localpart } = splitSigilId(field, raw, "@");
  if (NUL_OR_LONE_SURROGATE.test(localpart)) throw MatrixError.invalidParam(field, "localpart holds NUL or a lone surrogate");
  return raw as UserId;
}

export function serverOfUserId(id: UserId): ServerName {
  return id.slice(id.indexOf(":") + 1) as ServerName;
}

/** Room ids: `!opaque:server` (v1-v11) or `!hash` with no server part (v12). */
export function parseRoomId(raw: string, field = "room_id"): RoomId {
  if (typeof raw !== "string" || !raw.startsWith("!")) throw MatrixError.invalidParam(field, "must start with '!'");
  if (utf8Length(raw) > MAX_ID_BYTES) throw MatrixError.invalidParam(field, `longer than ${MAX_ID_BYTES} bytes`);
  if (raw.length < 2) throw MatrixError.invalidParam(field, "is empty after '!'");
  const colon = raw.indexOf(":");
  if (colon >= 0) {
    const r = checkServerName(raw.slice(colon + 1));
    if (!r.ok) throw MatrixError.invalidParam(field, r.reason);
  }
  return raw as RoomId;
}

/** Event ids: `$opaque:server` (v1-v2) or `$hash` (v3+). */
export function parseEventId(raw: string, field = "event_id"): EventId {
  if (typeof raw !== "string" || !raw.startsWith("$")) throw MatrixError.invalidParam(field, "must start with '$'");
  if (utf8Length(raw) > MAX_ID_BYTES) throw MatrixError.invalidParam(field, `longer than ${MAX_ID_BYTES} bytes`);
  if (raw.length < 2) throw MatrixError.invalidParam(field, "is empty after '$'");
  return raw as EventId;
}

export function parseRoomAlias(raw: string, field = "room_alias"): RoomAlias {
  splitSigilId(field, raw, "#");
  return raw as RoomAlias;
}

export function parseKeyId(raw: string, field = "key_id"): KeyId {
  if (typeof raw !== "string" || !/^[A-Za-z0-9_]+:[A-Za-z0-9_]+$/.test(raw)) {
    throw MatrixError.invalidParam(field, "must look like 'ed25519:abc_123' (letters, digits and '_' on both sides)");
  }
  return raw as KeyId;
}

