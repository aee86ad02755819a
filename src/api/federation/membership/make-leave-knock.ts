/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1make_leaveroomiduserid
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1make_knockroomiduserid
 * 1. user_id must be a user of the requesting server (403 M_FORBIDDEN).
 * 2. make_knock: `ver` (repeatable, required by the spec; absent means ["1"]) must include the room's version, else
 *    400 M_INCOMPATIBLE_ROOM_VERSION with room_version. make_leave takes no `ver`.
 * 3. The room's m.room.server_acl must allow the requesting server (403 M_FORBIDDEN naming it, rooms/server-acl.ts).
 * 4. The template is built over the current state; a refusal by the auth rules is 403 (RoomService.makeMembership).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId } from "../../../core/ids/index.js";
import { defineFederationRoute } from "../../http/index.js";
import { roomIdParam } from "../events/access.js";
import type { MembershipDeps } from "./make-join.js";

const params = z.object({ roomId: z.string(), userId: z.string() });

function target(origin: string, p: { roomId: string; userId: string }) {
  const roomId = roomIdParam(p.roomId);
  const userId = parseUserId(p.userId);
  // Step 1.
  if (serverOfUserId(userId) !== origin) throw MatrixError.forbidden(`${userId} is not a user of ${origin}`);
  return { roomId, userId };
}

export const makeLeave = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/make_leave/:roomId/:userId",
  auth: "x-matrix",
  params,
  async handle({ origin, params: p }, { rooms }: MembershipDeps) {
    const { roomId, userId } = target(origin, p);
    return rooms.makeMembership(origin, roomId, userId, "leave");
  },
});

export const makeKnock = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/make_knock/:roomId/:userId",
  auth: "x-matrix",
  params,
  query: z.object({ ver: z.union([z.string(), z.array(z.string())]).optional() }).passthrough(),
  async handle({ origin, params: p, query }, { rooms }: MembershipDeps) {
    const { roomId, userId } = target(origin, p);
    // Step 2.
    const ver = query.ver === undefined ? ["1"] : typeof query.ver === "string" ? [query.ver] : query.ver;
    return rooms.makeMembership(origin, roomId, userId, "knock", ver);
  },
});
