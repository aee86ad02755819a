/** GET /_synapse/admin/v1/federation/destinations: the servers the federation sender knows (from, limit, order_by, dir, destination). */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { listDestinations, type DestinationAdminDeps } from "./destination-admin.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const listDestinationsRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/federation/destinations",
  auth: "access-token",
  query: z.looseObject({ from: z.string().optional(), limit: z.string().optional(), order_by: z.string().optional(), dir: z.string().optional(), destination: z.string().max(255).optional() }),
  async handle({ user, query, log }, deps: Pick<AdminDeps, "users"> & DestinationAdminDeps) {
    await requireServerAdmin(deps.users, user, log, "list destinations");
    return listDestinations(deps, query);
  },
});
