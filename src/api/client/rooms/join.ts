/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3roomsroomidjoin: a local room by id; rc_joins.local. */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { ReasonBody, RoomParams, roomIdParam } from "./shared.js";

export const joinRoom = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/rooms/:roomId/join",
  auth: "access-token",
  params: RoomParams,
  body: ReasonBody,
  emptyBodyIsObject: true,
  async handle({ user, params, body }, deps: Pick<RoomDeps, "rooms" | "rateLimits">) {
    const roomId = roomIdParam(params.roomId);
    deps.rateLimits.take("rc_joins.local", user.userId);
    await deps.rooms.join(roomId, user.userId, body.reason !== undefined ? { reason: body.reason } : {});
    return { room_id: roomId };
  },
});
