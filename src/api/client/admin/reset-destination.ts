/** POST /_synapse/admin/v1/federation/destinations/{destination}/reset_connection: ends its back-off and tries it at once. */
import { defineClientRoute } from "../../http/index.js";
import { resetDestination, type DestinationAdminDeps } from "./destination-admin.js";
import { DestinationParams } from "./destination-param.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const resetDestinationRoute = defineClientRoute({
  method: "POST",
  path: "/_synapse/admin/v1/federation/destinations/:destination/reset_connection",
  auth: "access-token",
  params: DestinationParams,
  emptyBodyIsObject: true,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users"> & DestinationAdminDeps) {
    await requireServerAdmin(deps.users, user, log, "reset destination", params.destination);
    return resetDestination(deps, params.destination);
  },
});
