/**
 * Who a password login (or UIA m.login.password stage) names: `identifier: {type: "m.id.user", user}` or the
 * deprecated top-level `user`. https://spec.matrix.org/v1.16/client-server-api/#identifier-types
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { ServerName, UserId } from "../../../core/ids/index.js";
import type { UserStore } from "../../../storage/ports.js";
import type { PasswordHasher } from "./password.js";
import { checkPasswordLength } from "./password-policy.js";
import { loginUserId } from "./user-ids.js";

export const Identifier = z.looseObject({ type: z.string(), user: z.string().max(1024).optional() });

export const PasswordFields = {
  identifier: Identifier.optional(),
  user: z.string().max(1024).optional(),
  password: z.string().optional(),
};

/**
 * The user id named, or null when it cannot be a local user (which the caller reports like a wrong password, so a
 * login does not tell which accounts exist). A missing or unsupported identifier is 400.
 */
export function identifiedUser(body: { identifier?: { type: string; user?: string | undefined } | undefined; user?: string | undefined }, serverName: ServerName, at = ""): UserId | null {
  let raw: string | undefined;
  if (body.identifier !== undefined) {
    if (body.identifier.type !== "m.id.user") throw new MatrixError("M_UNKNOWN", 400, `${at}identifier.type: ${JSON.stringify(body.identifier.type)} is not supported; use m.id.user`);
    raw = body.identifier.user;
    if (raw === undefined) throw MatrixError.missingParam(`${at}identifier.user`);
  } else {
    raw = body.user;
    if (raw === undefined) throw MatrixError.missingParam(`${at}identifier`);
  }
  return loginUserId(raw, serverName);
}

/** A dummy hash, verified when the user does not exist so that the answer takes as long as a real check. */
let dummyHash: Promise<string> | undefined;

/** True when `password` is the password of `userId` (an existing, password-enabled account). */
export async function passwordMatches(users: UserStore, passwords: PasswordHasher, userId: UserId | null, password: string): Promise<boolean> {
  checkPasswordLength(password);
  const user = userId ? await users.getUser(userId) : null;
  if (!user || user.passwordHash === null) {
    dummyHash ??= passwords.hash("not a password");
    await passwords.verify(password, await dummyHash);
    return false;
  }
  return passwords.verify(password, user.passwordHash);
}
