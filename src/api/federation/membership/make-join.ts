/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1make_joinroomiduserid
 * 1. user_id must be a user of the requesting server (403 M_FORBIDDEN).
 * 2. `ver` (repeatable; default ["1"] as the spec says) must include the room's version: else 400
 *    M_INCOMPATIBLE_ROOM_VERSION with room_version.
 * 3. The room's m.room.server_acl must allow the requesting server (403 M_FORBIDDEN naming it, rooms/server-acl.ts).
 * 4. The template is built over the current state; a user the auth rules refuse is 403 (RoomService.makeJoin).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId } from "../../../core/ids/index.js";
import type { RoomService } from "../../../rooms/index.js";
import { defineFederationRoute } from "../../http/index.js";
import type { RateLimits } from "../../http/rate-limit.js";
import { roomIdParam } from "../events/access.js";

export interface MembershipDeps {
  readonly rooms: Pick<RoomService, "makeJoin" | "acceptSendJoin" | "makeMembership" | "acceptSendMembership" | "receiveInvite">;
  /** rc_invites.per_user, taken for each inbound invite's invitee (invite.ts). */
  readonly rateLimits: Pick<RateLimits, "take">;
}

export const makeJoin = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/make_join/:roomId/:userId",
  auth: "x-matrix",
  params: z.object({ roomId: z.string(), userId: z.string() }),
  query: z.object({ ver: z.union([z.string(), z.array(z.string())]).optional() }).passthrough(),
  async handle({ origin, params, query }, { rooms }: MembershipDeps) {
    const roomId = roomIdParam(params.roomId);
    const userId = parseUserId(params.userId);
    // Step 1.
    if (serverOfUserId(userId) !== origin) throw MatrixError.forbidden(`${userId} is not a user of ${origin}`);
    // Steps 2 to 4.
    const ver = query.ver === undefined ? ["1"] : typeof query.ver === "string" ? [query.ver] : query.ver;
    return rooms.makeJoin(origin, roomId, userId, ver);
  },
});
