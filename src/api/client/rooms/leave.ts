/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3roomsroomidleave: leaves, or rejects an invite or knock. */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { ReasonBody, RoomParams, roomIdParam } from "./shared.js";

export const leave = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/rooms/:roomId/leave",
  auth: "access-token",
  params: RoomParams,
  body: ReasonBody,
  emptyBodyIsObject: true,
  async handle({ user, params, body }, { rooms }: Pick<RoomDeps, "rooms">) {
    await rooms.setMembership(roomIdParam(params.roomId), user.userId, user.userId, "leave", body.reason);
    return {};
  },
});
