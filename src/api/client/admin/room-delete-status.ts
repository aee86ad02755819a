/** GET /_synapse/admin/v2/rooms/{roomId}/delete_status: every deletion of the room this process remembers. */
import { defineClientRoute } from "../../http/index.js";
import { deletionJson, type RoomAdminDeps } from "./room-admin.js";
import { AdminRoomParams, adminRoomId } from "./room-param.js";
import { requireServerAdmin } from "./service.js";

export const roomDeleteStatusRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v2/rooms/:roomId/delete_status",
  auth: "access-token",
  params: AdminRoomParams,
  async handle({ user, params, log }, deps: Pick<RoomAdminDeps, "users" | "roomDeletions">) {
    await requireServerAdmin(deps.users, user, log, "room delete status", params.roomId);
    return { results: deps.roomDeletions.forRoom(adminRoomId(params.roomId)).map(deletionJson) };
  },
});
