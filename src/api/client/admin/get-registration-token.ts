/** GET /_synapse/admin/v1/registration_tokens/{token}: one token (404 M_NOT_FOUND when unknown). */
import { defineClientRoute } from "../../http/index.js";
import { getRegistrationToken, requireServerAdmin, tokenJson, type AdminDeps } from "./service.js";
import { TokenParams } from "./token-param.js";

export const getRegistrationTokenRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/registration_tokens/:token",
  auth: "access-token",
  params: TokenParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users" | "admin">) {
    await requireServerAdmin(deps.users, user, log, "get registration token", params.token);
    return tokenJson(await getRegistrationToken(deps, params.token));
  },
});
