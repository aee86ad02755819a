/** PUT /_synapse/admin/v1/users/{userId}/admin {admin}: makes a local user a server admin or not (never oneself). */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { localUserParam, requireServerAdmin, setAdminFlag, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

export const putAdminRoute = defineClientRoute({
  method: "PUT",
  path: "/_synapse/admin/v1/users/:userId/admin",
  auth: "access-token",
  params: UserParams,
  body: z.looseObject({ admin: z.boolean({ error: "is required and must be a boolean" }) }),
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body, log }, deps: Pick<AdminDeps, "users" | "admin" | "serverName">) {
    const caller = await requireServerAdmin(deps.users, user, log, "set admin flag", params.userId);
    await setAdminFlag(deps, caller, localUserParam(params.userId, deps, "change"), body.admin);
    return {};
  },
});
