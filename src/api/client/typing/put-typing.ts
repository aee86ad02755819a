/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3roomsroomidtypinguserid
 * Only for oneself (403), only in a room one has joined (403); `typing` boolean required, `timeout` (ms, a
 * non-negative integer) when typing, capped at MAX_TYPING_MS. In memory: the typing stream of src/sync.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { SyncDeps } from "../deps.js";
import { ownUser } from "../shared/own-user.js";

export const putTyping = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/rooms/:roomId/typing/:userId",
  auth: "access-token",
  params: z.object({ roomId: z.string().min(1).max(255), userId: z.string().min(1).max(255) }),
  body: z.looseObject({ typing: z.boolean(), timeout: z.number().int().nonnegative().optional() }),
  async handle({ user, params, body }, deps: Pick<SyncDeps, "typing" | "roomStore">) {
    const roomId = parseRoomId(params.roomId, "roomId");
    const userId = ownUser(user, params.userId, "set typing notifications");
    const joined = await deps.roomStore.getRoomsForUser(userId, "join");
    if (!joined.includes(roomId)) throw MatrixError.forbidden(`${userId} is not in room ${roomId}`);
    if (body.typing && body.timeout === undefined) throw MatrixError.missingParam("timeout");
    deps.typing.set(roomId, userId, body.typing ? body.timeout! : null);
    return {};
  },
});
