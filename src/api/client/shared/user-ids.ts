/**
 * Local user ids: https://spec.matrix.org/v1.16/appendices/#user-identifiers
 * A new localpart uses only a-z, 0-9 and `._=-/+`; the whole id `@localpart:server` is at most 255 bytes.
 */
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId, type ServerName, type UserId } from "../../../core/ids/index.js";

export const MAX_USER_ID_BYTES = 255;

/** The id a new account gets for `localpart` (already lower-cased by the caller), or M_INVALID_USERNAME. */
export function newLocalUserId(localpart: string, serverName: ServerName, field = "username"): UserId {
  if (localpart.length === 0) throw new MatrixError("M_INVALID_USERNAME", 400, `${field}: is empty`);
  if (!/^[a-z0-9._=\-/+]+$/.test(localpart)) {
    throw new MatrixError("M_INVALID_USERNAME", 400, `${field}: may contain only a-z, 0-9 and the characters ._=-/+`);
  }
  const id = `@${localpart}:${serverName}`;
  const bytes = Buffer.byteLength(id, "utf8");
  if (bytes > MAX_USER_ID_BYTES) throw new MatrixError("M_INVALID_USERNAME", 400, `${field}: the user id would be ${bytes} bytes long; the limit is ${MAX_USER_ID_BYTES}`);
  return id as UserId;
}

/**
 * The local user a login names: a full user id (which must be of this server) or a localpart, lower-cased as
 * Synapse does (user ids are registered in lower case). null when it cannot be a local user.
 */
export function loginUserId(raw: string, serverName: ServerName): UserId | null {
  if (raw.startsWith("@")) {
    let id: UserId;
    try {
      id = parseUserId(raw);
    } catch {
      return null;
    }
    if (serverOfUserId(id) !== serverName) return null;
    const localpart = id.slice(1, id.lastIndexOf(":" + serverName));
    return `@${localpart.toLowerCase()}:${serverName}` as UserId;
  }
  if (raw.length === 0 || Buffer.byteLength(raw) > MAX_USER_ID_BYTES || raw.includes(":")) return null;
  return `@${raw.toLowerCase()}:${serverName}` as UserId;
}
