/** GET /_synapse/admin/v2/users: a page of local users (from, limit, name/user_id, guests, deactivated, admins, order_by, dir) with next_token and total. */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { listUsers, requireServerAdmin, userListQuery, type AdminDeps } from "./service.js";

export const listUsersRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v2/users",
  auth: "access-token",
  query: z.looseObject({
    from: z.string().optional(), limit: z.string().optional(), name: z.string().max(255).optional(), user_id: z.string().max(255).optional(),
    guests: z.string().optional(), deactivated: z.string().optional(), admins: z.string().optional(), order_by: z.string().optional(), dir: z.string().optional(),
  }),
  async handle({ user, query, log }, deps: Pick<AdminDeps, "users" | "admin">) {
    await requireServerAdmin(deps.users, user, log, "list users");
    return listUsers(deps, userListQuery(query));
  },
});
