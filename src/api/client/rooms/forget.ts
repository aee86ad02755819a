/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3roomsroomidforget
 * Only once left (400 M_UNKNOWN while joined, invited or knocking, as Synapse); the room stops being listed for
 * the user (used by /sync later) until they join again.
 */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "./shared.js";

export const forget = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/rooms/:roomId/forget",
  auth: "access-token",
  params: RoomParams,
  async handle({ user, params }, { rooms }: Pick<RoomDeps, "rooms">) {
    await rooms.forget(roomIdParam(params.roomId), user.userId);
    return {};
  },
});
