/** GET /_synapse/admin/v1/rooms/{roomId}/members: the room members (404 M_NOT_FOUND for a room this server does not know). */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { roomMembers } from "./rooms.js";
import { AdminRoomParams, adminRoomId } from "./room-param.js";
import { requireServerAdmin } from "./service.js";

export const getRoomMembersRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/rooms/:roomId/members",
  auth: "access-token",
  params: AdminRoomParams,
  async handle({ user, params, log }, deps: Pick<RoomDeps, "users" | "roomStore" | "roomClient" | "events" | "roomReads" | "clock" | "serverName">) {
    await requireServerAdmin(deps.users, user, log, "room members", params.roomId);
    return roomMembers(deps, adminRoomId(params.roomId));
  },
});
