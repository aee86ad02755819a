/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3joinroomidoralias
 * A room id or an alias; another server's alias is resolved with its /query/directory, whose servers join the
 * via list; a room this server does not hold is joined over federation (RoomService.join). rc_joins.local per user.
 */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { parseRoomAlias } from "../../../core/ids/index.js";
import { ReasonBody, resolveRoomIdOrAlias, RoomIdOrAliasParams, serverOf, ViaQuery, viaServers } from "./shared.js";

export const joinByIdOrAlias = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/join/:roomIdOrAlias",
  auth: "access-token",
  params: RoomIdOrAliasParams,
  query: ViaQuery,
  body: ReasonBody,
  emptyBodyIsObject: true,
  async handle({ user, params, query, body }, deps: Pick<RoomDeps, "rooms" | "roomClient" | "serverName" | "rateLimits">) {
    let via = viaServers(query);
    let roomId;
    const raw = params.roomIdOrAlias;
    if (raw.startsWith("#") && serverOf(raw) !== deps.serverName) {
      const r = await deps.rooms.resolveRemoteAlias(parseRoomAlias(raw, "roomIdOrAlias"));
      roomId = r.roomId;
      via = [...new Set([...via, ...r.servers])];
    } else roomId = await resolveRoomIdOrAlias(raw, deps);
    // rc_joins.remote for a room this server does not hold (joined over federation), as Synapse.
    deps.rateLimits.take((await deps.rooms.rulesOf(roomId)) ? "rc_joins.local" : "rc_joins.remote", user.userId);
    await deps.rooms.join(roomId, user.userId, { ...(body.reason !== undefined ? { reason: body.reason } : {}), via });
    return { room_id: roomId };
  },
});
