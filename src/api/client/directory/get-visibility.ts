/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3directorylistroomroomid: no authentication; unknown room 404. */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "../rooms/shared.js";

export const getRoomVisibility = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/directory/list/room/:roomId",
  auth: "none",
  params: RoomParams,
  async handle({ params }, deps: Pick<RoomDeps, "roomClient" | "roomStore">) {
    const roomId = roomIdParam(params.roomId);
    if (!(await deps.roomStore.getRoom(roomId))) throw MatrixError.notFound(`unknown room ${roomId}`);
    return { visibility: (await deps.roomClient.isPublished(roomId)) ? "public" : "private" };
  },
});
