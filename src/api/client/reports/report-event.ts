/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3roomsroomidreporteventid
 *
 * 1. `reason` (optional text) and `score` (optional integer from -100, most offensive, to 0).
 * 2. The reporter must be joined to the room and the event must be in it; otherwise 404 M_NOT_FOUND, one message
 *    for both, so the answer does not tell a non-member whether the event exists.
 * 3. The report is stored for the server admins (/_synapse/admin/v1/event_reports); the answer is `{}`.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseEventId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { ReportDeps, RoomDeps } from "../deps.js";
import { Reason, roomIdParam } from "../rooms/shared.js";

export const reportEvent = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/rooms/:roomId/report/:eventId",
  auth: "access-token",
  params: z.object({ roomId: z.string().min(1), eventId: z.string().min(1) }),
  body: z.looseObject({ reason: Reason, score: z.unknown().optional() }),
  async handle({ user, params, body }, deps: Pick<RoomDeps, "roomReads" | "events" | "clock"> & ReportDeps) {
    const roomId = roomIdParam(params.roomId);
    const eventId = parseEventId(params.eventId, "eventId");
    // Step 1
    const score = body.score;
    if (score !== undefined && (typeof score !== "number" || !Number.isInteger(score) || score < -100 || score > 0)) {
      throw MatrixError.invalidParam("score", "must be an integer from -100 (most offensive) to 0");
    }
    // Step 2
    const notFound = MatrixError.notFound(`event ${eventId} not found, or you are not joined to ${roomId}`);
    const { membership } = await deps.roomReads.currentMembership(roomId, user.userId);
    if (membership !== "join") throw notFound;
    const pdu = (await deps.events.getPdus([eventId])).get(eventId);
    if (!pdu || pdu.roomId !== roomId) throw notFound;
    // Step 3
    await deps.reports.addEventReport({ roomId, eventId, userId: user.userId, reason: body.reason ?? null, score: score ?? null, receivedTs: deps.clock.now() });
    return {};
  },
});
