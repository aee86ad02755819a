/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3joinroomidoralias
 * A room id or a local alias; a room on another server (or an alias of one) is 502 M_UNKNOWN until Zion joins
 * over federation (issue 14). rc_joins.local per user.
 */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { ReasonBody, resolveRoomIdOrAlias, RoomIdOrAliasParams, ViaQuery, viaServers } from "./shared.js";

export const joinByIdOrAlias = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/join/:roomIdOrAlias",
  auth: "access-token",
  params: RoomIdOrAliasParams,
  query: ViaQuery,
  body: ReasonBody,
  emptyBodyIsObject: true,
  async handle({ user, params, query, body }, deps: Pick<RoomDeps, "rooms" | "roomClient" | "serverName" | "rateLimits">) {
    const roomId = await resolveRoomIdOrAlias(params.roomIdOrAlias, deps);
    deps.rateLimits.take("rc_joins.local", user.userId);
    await deps.rooms.join(roomId, user.userId, { ...(body.reason !== undefined ? { reason: body.reason } : {}), via: viaServers(query) });
    return { room_id: roomId };
  },
});
