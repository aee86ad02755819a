/**
 * DELETE /_synapse/admin/v1/rooms/{roomId}: deletes a room and answers when done (Synapse's deprecated synchronous
 * form): `{kicked_users, failed_to_kick_users, local_aliases, new_room_id}`.
 */
import { defineClientRoute } from "../../http/index.js";
import { DeleteRoomBody, roomDeletion } from "./delete-room-body.js";
import { deleteRoom } from "./room-admin.js";
import { AdminRoomParams, adminRoomId } from "./room-param.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const deleteRoomRoute = defineClientRoute({
  method: "DELETE",
  path: "/_synapse/admin/v1/rooms/:roomId",
  auth: "access-token",
  params: AdminRoomParams,
  body: DeleteRoomBody,
  emptyBodyIsObject: true,
  maxBodyBytes: 128 * 1024,
  async handle({ user, params, body, log }, deps: AdminDeps) {
    const admin = await requireServerAdmin(deps.users, user, log, "delete room", params.roomId);
    return deleteRoom(deps, admin, adminRoomId(params.roomId), roomDeletion(body), log);
  },
});
