/** DELETE /_synapse/admin/v1/registration_tokens/{token} (404 M_NOT_FOUND when unknown). */
import { defineClientRoute } from "../../http/index.js";
import { deleteRegistrationToken, requireServerAdmin, type AdminDeps } from "./service.js";
import { TokenParams } from "./token-param.js";

export const deleteRegistrationTokenRoute = defineClientRoute({
  method: "DELETE",
  path: "/_synapse/admin/v1/registration_tokens/:token",
  auth: "access-token",
  params: TokenParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users" | "admin">) {
    await requireServerAdmin(deps.users, user, log, "delete registration token", params.token);
    await deleteRegistrationToken(deps, params.token);
    return {};
  },
});
