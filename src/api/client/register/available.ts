/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3registeravailable
 * 200 {available: true}, or 400 M_INVALID_USERNAME / M_USER_IN_USE. One indexed read per call.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { newLocalUserId } from "../shared/user-ids.js";

export const registerAvailable = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/register/available",
  auth: "none",
  query: z.looseObject({ username: z.string({ error: "is required" }).max(1024) }),
  async handle({ query }, { users, serverName, accounts }: Pick<AccountDeps, "users" | "serverName" | "accounts">) {
    if (!accounts.registrationOpen) throw MatrixError.forbidden(accounts.registrationClosedReason);
    const userId = newLocalUserId(query.username.toLowerCase(), serverName);
    if (await users.getUser(userId)) throw new MatrixError("M_USER_IN_USE", 400, `username: ${userId} is already taken`);
    return { available: true };
  },
});
