/** DELETE /_synapse/admin/v2/rooms/{roomId}: starts deleting a room in the background; `{delete_id}`. */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import { DeleteRoomBody, roomDeletion } from "./delete-room-body.js";
import type { RoomAdminDeps } from "./room-admin.js";
import { AdminRoomParams, adminRoomId } from "./room-param.js";
import { requireServerAdmin } from "./service.js";

export const deleteRoomV2Route = defineClientRoute({
  method: "DELETE",
  path: "/_synapse/admin/v2/rooms/:roomId",
  auth: "access-token",
  params: AdminRoomParams,
  body: DeleteRoomBody,
  emptyBodyIsObject: true,
  maxBodyBytes: 128 * 1024,
  async handle({ user, params, body, log }, deps: RoomAdminDeps) {
    const admin = await requireServerAdmin(deps.users, user, log, "delete room", params.roomId);
    const roomId = adminRoomId(params.roomId);
    const deletion = roomDeletion(body);
    // Refused up front, as Synapse does, rather than as a failed task.
    if (!deletion.block && !(await deps.roomStore.getRoom(roomId))) throw MatrixError.notFound(`Unknown room: ${roomId}`);
    return { delete_id: deps.roomDeletions.start(admin, roomId, deletion, log) };
  },
});
