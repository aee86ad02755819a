/**
 * https://spec.matrix.org/v1.13/server-server-api/#get_matrixfederationv1hierarchyroomid
 *
 * 1. `suggested_only` is true or false (default false): 400 M_INVALID_PARAM otherwise.
 * 2. The room must be one this server knows that the requesting server may see (rooms/space-hierarchy.ts): 404
 *    M_NOT_FOUND otherwise, as the spec says.
 * 3. The room with its children_state, the children this server knows and the requester may see (with
 *    allowed_room_ids for restricted ones), and the known children it may not (inaccessible_children). Unpaginated;
 *    the work is one room and its direct children.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomId } from "../../../core/ids/index.js";
import type { SpaceHierarchy } from "../../../rooms/index.js";
import { defineFederationRoute } from "../../http/index.js";

export interface FederationHierarchyDeps {
  readonly spaceHierarchy: SpaceHierarchy;
}

export const federationHierarchy = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/hierarchy/:roomId",
  auth: "x-matrix",
  params: z.object({ roomId: z.string().min(1) }),
  query: z.looseObject({ suggested_only: z.string().optional() }),
  async handle({ origin, params, query }, { spaceHierarchy }: FederationHierarchyDeps) {
    const roomId = parseRoomId(params.roomId, "roomId");
    // Step 1
    if (query.suggested_only !== undefined && query.suggested_only !== "true" && query.suggested_only !== "false") throw MatrixError.invalidParam("suggested_only", 'must be "true" or "false"');
    // Step 2
    const answer = await spaceHierarchy.forServer(roomId, origin, query.suggested_only === "true");
    if (!answer) throw MatrixError.notFound(`room ${roomId} is unknown here, or ${origin} may not see it`);
    // Step 3
    return answer;
  },
});
