/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3accountpassword
 * 1. new_password is required and must pass the policy (M_WEAK_PASSWORD), checked before UIA.
 * 2. UIA m.login.password with the current password.
 * 3. The hash is replaced and, unless logout_devices is false, every other device and its tokens are deleted, in
 *    one transaction; the requesting device keeps its token.
 */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { checkNewPassword } from "../shared/password-policy.js";
import { requirePassword } from "../shared/password-stage.js";
import { UiaAuth } from "../shared/uia.js";

export const changePassword = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/account/password",
  auth: "access-token",
  body: z.looseObject({ new_password: z.string({ error: "is required" }), logout_devices: z.boolean().optional(), auth: UiaAuth.optional() }),
  maxBodyBytes: 64 * 1024,
  async handle({ body, user }, deps: Pick<AccountDeps, "users" | "passwords" | "uia" | "serverName" | "rateLimits" | "accounts">) {
    checkNewPassword(body.new_password, deps.accounts.passwordPolicy, "new_password");
    const pending = await requirePassword(deps, "password", user.userId, body.auth);
    if (pending) return pending;
    const hash = await deps.passwords.hash(body.new_password);
    await deps.users.setPasswordHash(user.userId, hash, body.logout_devices === false ? undefined : { keepDeviceId: user.deviceId });
    return {};
  },
});
