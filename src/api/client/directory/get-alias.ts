/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3directoryroomroomalias: local aliases; another server's needs
 * federation (502). No access token is needed: the specification and Synapse ask for none. */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { resolveAlias } from "../rooms/shared.js";
import { AliasParams, aliasParam } from "./shared.js";

export const getAlias = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/directory/room/:roomAlias",
  auth: "none",
  params: AliasParams,
  async handle({ params }, deps: Pick<RoomDeps, "roomClient" | "serverName">) {
    const roomId = await resolveAlias(aliasParam(params.roomAlias), deps);
    return { room_id: roomId, servers: [deps.serverName] };
  },
});
