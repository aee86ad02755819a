/** GET /_synapse/admin/v1/federation/destinations/{destination}: one destination's back-off and queue; 404 when unknown. */
import { defineClientRoute } from "../../http/index.js";
import { destinationDetails, type DestinationAdminDeps } from "./destination-admin.js";
import { DestinationParams } from "./destination-param.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const getDestinationRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/federation/destinations/:destination",
  auth: "access-token",
  params: DestinationParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users"> & DestinationAdminDeps) {
    await requireServerAdmin(deps.users, user, log, "destination details", params.destination);
    return destinationDetails(deps, params.destination);
  },
});
