/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3roomsroomidjoin: a room by id (one this server does not hold is joined over federation); rc_joins.local, or rc_joins.remote for a remote room. */
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
    // rc_joins.remote for a room this server does not hold (joined over federation), as Synapse.
    deps.rateLimits.take((await deps.rooms.rulesOf(roomId)) ? "rc_joins.local" : "rc_joins.remote", user.userId);
    await deps.rooms.join(roomId, user.userId, body.reason !== undefined ? { reason: body.reason } : {});
    return { room_id: roomId };
  },
});
