/** Path parameters naming a user (`/user/{userId}/...`, `/profile/{userId}`) and the rule that only oneself may be named. */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, type UserId } from "../../../core/ids/index.js";
import type { AuthenticatedUser } from "../../http/index.js";

export const UserIdParam = z.string().min(1).max(255);

/** The path's user id, which must be the token's own user (403 M_FORBIDDEN otherwise, as the spec and Synapse say). */
export function ownUser(user: AuthenticatedUser, raw: string, what: string): UserId {
  const userId = parseUserId(raw, "userId");
  if (userId !== user.userId) throw MatrixError.forbidden(`cannot ${what} for other users`);
  return userId;
}

/** A JSON object's size as compact JSON text, in UTF-8 bytes. */
export function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v), "utf8");
}
