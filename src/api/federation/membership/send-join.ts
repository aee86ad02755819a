/**
 * https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv2send_joinroomideventid
 * 1. The room's m.room.server_acl must allow the requesting server (403 M_FORBIDDEN naming it, rooms/server-acl.ts);
 *    the body is the signed join of a user of the requesting server, with the id in the path.
 * 2. It goes through the room pipeline like any PDU and must be accepted (403 otherwise).
 * 3. The answer: the state before the join and its whole auth chain; `omit_members=true` leaves out the other
 *    membership events (members_omitted: true), leaves the events returned in `state` out of `auth_chain` (which the
 *    spec allows only then), and servers_in_room lists the servers with joined users.
 */
import { z } from "zod";
import { eventIdParam, roomIdParam } from "../events/access.js";
import { defineFederationRoute } from "../../http/index.js";
import type { MembershipDeps } from "./make-join.js";

export const sendJoin = defineFederationRoute({
  method: "PUT",
  path: "/_matrix/federation/v2/send_join/:roomId/:eventId",
  auth: "x-matrix",
  params: z.object({ roomId: z.string(), eventId: z.string() }),
  query: z.object({ omit_members: z.string().optional() }).passthrough(),
  body: z.record(z.string(), z.unknown()),
  async handle({ origin, params, query, body }, { rooms }: MembershipDeps) {
    const roomId = roomIdParam(params.roomId);
    const eventId = eventIdParam(params.eventId, "eventId");
    return rooms.acceptSendJoin(origin, roomId, eventId, body, { omitMembers: query.omit_members === "true" });
  },
});
