/** POST /_synapse/admin/v1/reset_password/{userId} {new_password, logout_devices (default true)}. */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { localUserParam, requireServerAdmin, resetPassword, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

export const resetPasswordRoute = defineClientRoute({
  method: "POST",
  path: "/_synapse/admin/v1/reset_password/:userId",
  auth: "access-token",
  params: UserParams,
  body: z.looseObject({ new_password: z.string({ error: "is required" }), logout_devices: z.boolean().optional() }),
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body, log }, deps: Pick<AdminDeps, "users" | "passwords" | "serverName">) {
    await requireServerAdmin(deps.users, user, log, "reset password", params.userId);
    await resetPassword(deps, localUserParam(params.userId, deps, "reset the password of"), body.new_password, body.logout_devices ?? true);
    return {};
  },
});
