/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1querydirectory
 * 1. room_alias is required (400 M_MISSING_PARAM) and must be an alias of this server (400 M_INVALID_PARAM, as
 *    Synapse answers: a server only answers for its own aliases).
 * 2. An unknown alias is 404 M_NOT_FOUND; otherwise the room id and the servers to join through.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomAlias, type ServerName } from "../../../core/ids/index.js";
import { defineFederationRoute } from "../../http/index.js";
import type { RoomDirectory } from "./ports.js";

export interface DirectoryDeps {
  readonly serverName: ServerName;
  readonly roomDirectory: RoomDirectory;
}

export const queryDirectory = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/query/directory",
  auth: "x-matrix",
  query: z.object({ room_alias: z.string().optional() }).passthrough(),
  async handle({ query }, { serverName, roomDirectory }: DirectoryDeps) {
    // Step 1.
    if (query.room_alias === undefined) throw MatrixError.missingParam("room_alias");
    const alias = parseRoomAlias(query.room_alias);
    if (alias.slice(alias.indexOf(":") + 1) !== serverName) throw MatrixError.invalidParam("room_alias", `${alias} is not an alias of ${serverName}`);
    // Step 2.
    const found = await roomDirectory.getAlias(alias);
    if (!found) throw MatrixError.notFound(`no room alias ${alias}`);
    return { room_id: found.roomId, servers: [...found.servers] };
  },
});
