/** GET /_synapse/admin/v1/whois/{userId}: the devices of a local user with their last address and time. */
import { defineClientRoute } from "../../http/index.js";
import { localUserParam, requireServerAdmin, whois, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

export const whoisRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/whois/:userId",
  auth: "access-token",
  params: UserParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users" | "serverName">) {
    await requireServerAdmin(deps.users, user, log, "whois", params.userId);
    return whois(deps, localUserParam(params.userId, deps));
  },
});
