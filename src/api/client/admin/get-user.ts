/** GET /_synapse/admin/v2/users/{userId}: one local user (404 M_NOT_FOUND when unknown). */
import { defineClientRoute } from "../../http/index.js";
import { localUserParam, requireServerAdmin, userDetails, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

export const getUserRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v2/users/:userId",
  auth: "access-token",
  params: UserParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users" | "serverName">) {
    await requireServerAdmin(deps.users, user, log, "query user", params.userId);
    return userDetails(deps, localUserParam(params.userId, deps));
  },
});
