/** GET /_synapse/admin/v1/rooms/{roomId}/block: whether the room is blocked, and by whom. */
import { defineClientRoute } from "../../http/index.js";
import { roomBlockStatus } from "./room-admin.js";
import { AdminRoomParams, adminRoomId } from "./room-param.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const getRoomBlockRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/rooms/:roomId/block",
  auth: "access-token",
  params: AdminRoomParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users" | "admin">) {
    await requireServerAdmin(deps.users, user, log, "room block status", params.roomId);
    return roomBlockStatus(deps, adminRoomId(params.roomId));
  },
});
