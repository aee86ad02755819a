/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3login
 * 1. rc_login.address per client address, on every attempt.
 * 2. type must be m.login.password (others: 400 M_UNKNOWN); the user comes from identifier (m.id.user) or the
 *    deprecated `user`, as a user id of this server or a localpart.
 * 3. rc_login.account per named user, and rc_login.failed_attempts checked before the password is.
 * 4. A wrong password, an unknown user or another server's user is the same 403 M_FORBIDDEN (and counts as a
 *    failed attempt); a deactivated account with the right password is 403 M_USER_DEACTIVATED.
 * 5. A device_id naming an existing device reuses it (its old tokens are revoked); otherwise a new device.
 * 6. refresh_token: true issues a refresh token and an expiring access token.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { PasswordFields, identifiedUser, passwordMatches } from "../shared/identifier.js";
import { prepareLogin } from "../shared/issue-login.js";

const LoginBody = z.looseObject({
  type: z.string(),
  ...PasswordFields,
  device_id: z.string().min(1).max(255).optional(),
  initial_device_display_name: z.string().max(1024).optional(),
  refresh_token: z.boolean().optional(),
});

export const postLogin = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/login",
  auth: "none",
  body: LoginBody,
  maxBodyBytes: 64 * 1024,
  rateLimited: true,
  async handle({ body, request }, deps: Pick<AccountDeps, "users" | "passwords" | "rateLimits" | "serverName" | "clock" | "accounts">) {
    const { users, passwords, rateLimits, serverName, accounts } = deps;
    rateLimits.take("rc_login.address", request.remoteAddress);
    if (body.type !== "m.login.password" || !accounts.passwordLoginEnabled) throw new MatrixError("M_UNKNOWN", 400, `type: unknown or disabled login type ${JSON.stringify(body.type)}`);
    if (body.password === undefined) throw MatrixError.missingParam("password");
    const userId = identifiedUser(body, serverName);
    const accountKey = userId ?? `invalid:${body.identifier?.user ?? body.user ?? ""}`;
    rateLimits.take("rc_login.account", accountKey);
    rateLimits.check("rc_login.failed_attempts", accountKey);
    if (!(await passwordMatches(users, passwords, userId, body.password))) {
      rateLimits.record("rc_login.failed_attempts", accountKey);
      throw MatrixError.forbidden("invalid user name or password");
    }
    const user = (await users.getUser(userId!))!;
    if (user.deactivated) throw new MatrixError("M_USER_DEACTIVATED", 403, "this account has been deactivated");
    const issued = prepareLogin(deps, {
      userId: user.userId,
      deviceId: body.device_id,
      displayName: body.initial_device_display_name,
      refresh: body.refresh_token === true,
      ip: request.remoteAddress,
    });
    await users.createLogin(issued.login);
    return issued.response;
  },
});
