/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidaliases: the room's local aliases, for members (or world_readable rooms). */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "../rooms/shared.js";

export const roomAliases = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/rooms/:roomId/aliases",
  auth: "access-token",
  params: RoomParams,
  async handle({ user, params }, deps: Pick<RoomDeps, "roomReads" | "roomClient">) {
    const roomId = roomIdParam(params.roomId);
    const view = await deps.roomReads.stateView(roomId, user.userId);
    if (view.at !== "current") throw MatrixError.forbidden(`${user.userId} is not in room ${roomId}`);
    return { aliases: [...(await deps.roomClient.getAliasesForRoom(roomId))] };
  },
});
