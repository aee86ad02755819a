/** GET /_synapse/admin/v1/federation/destinations/{destination}/rooms: the rooms shared with that server (from, limit, dir). */
import { defineClientRoute } from "../../http/index.js";
import { destinationRooms, type DestinationAdminDeps } from "./destination-admin.js";
import { DestinationParams, PageQuery } from "./destination-param.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const destinationRoomsRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/federation/destinations/:destination/rooms",
  auth: "access-token",
  params: DestinationParams,
  query: PageQuery,
  async handle({ user, params, query, log }, deps: Pick<AdminDeps, "users"> & DestinationAdminDeps) {
    await requireServerAdmin(deps.users, user, log, "destination rooms", params.destination);
    return destinationRooms(deps, params.destination, query);
  },
});
