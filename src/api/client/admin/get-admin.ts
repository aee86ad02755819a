/** GET /_synapse/admin/v1/users/{userId}/admin: whether a local user is a server admin. */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import { localUserParam, requireServerAdmin, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

export const getAdminRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/users/:userId/admin",
  auth: "access-token",
  params: UserParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users" | "serverName">) {
    await requireServerAdmin(deps.users, user, log, "get admin flag", params.userId);
    const target = await deps.users.getUser(localUserParam(params.userId, deps));
    if (!target) throw MatrixError.notFound(`User not found: ${params.userId}`);
    return { admin: target.admin };
  },
});
