/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3knockroomidoralias
 * Knocking on a room (v7+ with join rule knock or knock_restricted; the auth rules decide); a room of another server
 * (its room id's server, or `via`/`server_name`) through make_knock / send_knock (RoomService.knock). Aliases are
 * resolved locally only. rc_joins.local.
 */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { ReasonBody, resolveRoomIdOrAlias, RoomIdOrAliasParams, ViaQuery, viaServers } from "./shared.js";

export const knock = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/knock/:roomIdOrAlias",
  auth: "access-token",
  params: RoomIdOrAliasParams,
  query: ViaQuery,
  body: ReasonBody,
  emptyBodyIsObject: true,
  async handle({ user, params, query, body }, deps: Pick<RoomDeps, "rooms" | "roomClient" | "serverName" | "rateLimits">) {
    const roomId = await resolveRoomIdOrAlias(params.roomIdOrAlias, deps);
    deps.rateLimits.take("rc_joins.local", user.userId);
    await deps.rooms.knock(roomId, user.userId, { ...(body.reason !== undefined ? { reason: body.reason } : {}), via: viaServers(query) });
    return { room_id: roomId };
  },
});
