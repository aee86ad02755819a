/** GET /_synapse/admin/v1/rooms: a page of the rooms this server holds (from, limit, order_by, dir, search_term, public_rooms, empty_rooms). */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { listRooms, roomListQuery } from "./room-admin.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const listRoomsRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/rooms",
  auth: "access-token",
  query: z.looseObject({
    from: z.string().optional(), limit: z.string().optional(), order_by: z.string().optional(), dir: z.string().optional(),
    search_term: z.string().optional(), public_rooms: z.string().optional(), empty_rooms: z.string().optional(),
  }),
  async handle({ user, query, log }, deps: Pick<AdminDeps, "users" | "admin" | "serverName">) {
    await requireServerAdmin(deps.users, user, log, "list rooms");
    return listRooms(deps, roomListQuery(query));
  },
});
