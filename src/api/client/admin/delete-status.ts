/** GET /_synapse/admin/v2/rooms/delete_status/{deleteId}: one deletion's status and what it did. */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { deletionJson, type RoomAdminDeps } from "./room-admin.js";
import { requireServerAdmin } from "./service.js";

export const deleteStatusRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v2/rooms/delete_status/:deleteId",
  auth: "access-token",
  params: z.object({ deleteId: z.string().max(255) }),
  async handle({ user, params, log }, deps: Pick<RoomAdminDeps, "users" | "roomDeletions">) {
    await requireServerAdmin(deps.users, user, log, "delete status", params.deleteId);
    const { delete_id: _, ...rest } = deletionJson(deps.roomDeletions.get(params.deleteId));
    return rest;
  },
});
