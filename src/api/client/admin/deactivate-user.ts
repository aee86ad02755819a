/** POST /_synapse/admin/v1/deactivate/{userId} {erase}: deactivates a local user and makes it leave its rooms. */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import { deactivateUser, localUserParam, requireServerAdmin, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

export const deactivateUserRoute = defineClientRoute({
  method: "POST",
  path: "/_synapse/admin/v1/deactivate/:userId",
  auth: "access-token",
  params: UserParams,
  body: z.looseObject({ erase: z.boolean().optional() }),
  emptyBodyIsObject: true,
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body, log }, deps: AdminDeps) {
    const caller = await requireServerAdmin(deps.users, user, log, "deactivate user", params.userId);
    const target = localUserParam(params.userId, deps, "deactivate");
    if (target === caller) throw new MatrixError("M_UNKNOWN", 400, "user_id: you may not deactivate yourself");
    await deactivateUser(deps, target, body.erase ?? false, log);
    return { id_server_unbind_result: "success" };
  },
});
