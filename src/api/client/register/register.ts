/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3register
 * 1. kind=guest: 403 M_GUEST_ACCESS_FORBIDDEN (Zion has no guest accounts).
 * 2. Registration closed (enable_registration off, or it requires verification Zion does not offer): 403 M_FORBIDDEN.
 * 3. rc_registration per client address is checked (and counted when an account is made).
 * 4. The username (lower-cased, as Synapse) must be a valid, free localpart: M_INVALID_USERNAME, M_USER_IN_USE;
 *    the password must be given and pass the policy (M_MISSING_PARAM, M_WEAK_PASSWORD) - all before UIA, so a
 *    client learns of a bad name before the auth dance.
 * 5. User-interactive auth, one flow: m.login.dummy, or with registration_requires_token m.login.registration_token
 *    (https://spec.matrix.org/v1.16/client-server-api/#token-authenticated-registration): the stage reserves one
 *    pending use of the token (refused when it is unknown, used up or expired), which becomes a completed use when
 *    the account is written, or is given back when that fails (counted as Synapse counts them).
 * 6. The account, its profile (displayname = localpart) and, unless inhibit_login, its first device and token are
 *    written in one transaction; a race for the same name ends in M_USER_IN_USE with nothing written.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { UserId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { createAccount } from "../shared/create-account.js";
import { prepareLogin } from "../shared/issue-login.js";
import { checkNewPassword } from "../shared/password-policy.js";
import { newLocalpart } from "../shared/tokens.js";
import { UiaAuth, runUia } from "../shared/uia.js";
import { newLocalUserId } from "../shared/user-ids.js";
import type { AdminStore } from "../../../storage/ports.js";

const RegisterBody = z.looseObject({
  auth: UiaAuth.optional(),
  username: z.string().max(1024).optional(),
  password: z.string().optional(),
  device_id: z.string().min(1).max(255).optional(),
  initial_device_display_name: z.string().max(1024).optional(),
  inhibit_login: z.boolean().optional(),
  refresh_token: z.boolean().optional(),
});

type Deps = Pick<AccountDeps, "users" | "passwords" | "rateLimits" | "serverName" | "clock" | "accounts" | "uia"> & { readonly admin: Pick<AdminStore, "reserveRegistrationToken" | "completeRegistrationToken" | "releaseRegistrationToken"> };

export const register = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/register",
  auth: "none",
  query: z.looseObject({ kind: z.enum(["user", "guest"]).optional() }),
  body: RegisterBody,
  emptyBodyIsObject: true,
  maxBodyBytes: 64 * 1024,
  rateLimited: true,
  async handle({ body, query, request }, deps: Deps) {
    const { users, rateLimits, serverName, accounts, uia } = deps;
    if (query.kind === "guest") throw new MatrixError("M_GUEST_ACCESS_FORBIDDEN", 403, "guest access is not enabled on this server");
    if (!accounts.registrationOpen) throw MatrixError.forbidden(accounts.registrationClosedReason);
    rateLimits.check("rc_registration", request.remoteAddress);

    let userId: UserId | undefined;
    if (body.username !== undefined) {
      userId = newLocalUserId(body.username.toLowerCase(), serverName);
      if (await users.getUser(userId)) throw new MatrixError("M_USER_IN_USE", 400, `username: ${userId} is already taken`);
    }
    if (body.password === undefined) {
      // Without auth the client is only starting the dance; Synapse asks for the password once auth is done.
      if (body.auth !== undefined) throw MatrixError.missingParam("password");
    } else {
      checkNewPassword(body.password, accounts.passwordPolicy);
    }

    let reserved: string | undefined;
    const pending = deps.accounts.registrationRequiresToken
      ? await runUia(uia, {
          operation: "register", userId: undefined, stage: "m.login.registration_token", auth: body.auth,
          verify: async (auth) => {
            const token = auth["token"];
            if (typeof token !== "string" || token.length > 64) return "auth.token: a registration token (a string of at most 64 characters) is required";
            if (!(await deps.admin.reserveRegistrationToken(token, deps.clock.now()))) return "auth.token: invalid registration token";
            reserved = token;
            return undefined;
          },
        })
      : await runUia(uia, { operation: "register", userId: undefined, stage: "m.login.dummy", auth: body.auth, verify: async () => undefined });
    if (pending) return pending;
    if (reserved === undefined) return createUser(body, request.remoteAddress, userId, deps);
    try {
      const r = await createUser(body, request.remoteAddress, userId, deps);
      await deps.admin.completeRegistrationToken(reserved);
      return r;
    } catch (e) {
      await deps.admin.releaseRegistrationToken(reserved);
      throw e;
    }
  },
});

async function createUser(body: z.infer<typeof RegisterBody>, ip: string, chosen: UserId | undefined, deps: Deps) {
  const { users, passwords, rateLimits, serverName } = deps;
  let userId = chosen;
  if (body.password === undefined) throw MatrixError.missingParam("password");

  rateLimits.take("rc_registration", ip);
  userId ??= newLocalUserId(newLocalpart(), serverName);
  const now = deps.clock.now();
  const localpart = userId.slice(1, userId.lastIndexOf(":" + serverName));
  const issued = body.inhibit_login
    ? undefined
    : prepareLogin(deps, { userId, deviceId: body.device_id, displayName: body.initial_device_display_name, refresh: body.refresh_token === true, ip });
  const passwordHash = await passwords.hash(body.password);
  await createAccount(users, { userId, passwordHash, createdTs: now, displayname: localpart }, issued?.login);
  return issued ? issued.response : { user_id: userId, home_server: serverName };
}
