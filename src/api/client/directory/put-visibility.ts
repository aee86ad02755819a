/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3directorylistroomroomid
 * `visibility` public or private; a joined member whose power level allows m.room.canonical_alias (as Synapse asks),
 * or a server admin; otherwise 403. Unknown room 404.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "../rooms/shared.js";

export const putRoomVisibility = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/directory/list/room/:roomId",
  auth: "access-token",
  params: RoomParams,
  body: z.looseObject({ visibility: z.enum(["public", "private"]).optional() }),
  emptyBodyIsObject: true,
  async handle({ user, params, body }, deps: Pick<RoomDeps, "roomClient" | "roomStore" | "roomReads" | "users" | "clock">) {
    const roomId = roomIdParam(params.roomId);
    if (!(await deps.roomStore.getRoom(roomId))) throw MatrixError.notFound(`unknown room ${roomId}`);
    const member = (await deps.roomReads.currentMembership(roomId, user.userId)).membership === "join";
    const moderator = member && (await deps.roomReads.maySendState(roomId, user.userId, "m.room.canonical_alias"));
    if (!moderator && (await deps.users.getUser(user.userId))?.admin !== true) throw MatrixError.forbidden(`${user.userId} may not change the directory visibility of ${roomId}: it needs to be joined with the power to send m.room.canonical_alias`);
    await deps.roomClient.setPublished(roomId, (body.visibility ?? "public") === "public", deps.clock.now());
    return {};
  },
});
