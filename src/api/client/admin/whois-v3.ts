/**
 * https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3adminwhoisuserid: the same answer as Synapse's
 * /_synapse/admin/v1/whois, for a server admin or for the user asking about itself (as the spec allows and
 * Synapse does); anyone else is 403 M_FORBIDDEN.
 */
import { defineClientRoute } from "../../http/index.js";
import { localUserParam, requireServerAdmin, whois, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

export const whoisV3Route = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/admin/whois/:userId",
  auth: "access-token",
  params: UserParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users" | "serverName">) {
    const target = localUserParam(params.userId, deps);
    if (target !== user.userId) await requireServerAdmin(deps.users, user, log, "whois", params.userId);
    return whois(deps, target);
  },
});
