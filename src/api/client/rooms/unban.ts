/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3roomsroomidunban: `user_id`, `reason`; the auth rules decide (403). */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam, TargetBody, userIdField } from "./shared.js";

export const unban = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/rooms/:roomId/unban",
  auth: "access-token",
  params: RoomParams,
  body: TargetBody,
  async handle({ user, params, body }, { rooms }: Pick<RoomDeps, "rooms">) {
    await rooms.setMembership(roomIdParam(params.roomId), user.userId, userIdField(body.user_id), "unban", body.reason);
    return {};
  },
});
