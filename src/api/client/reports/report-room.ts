/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3roomsroomidreport
 *
 * 1. `reason` (optional text).
 * 2. The room must be known to this server (404 M_NOT_FOUND otherwise); the reporter need not be in it.
 * 3. The report is stored for the server admins; the answer is `{}`.
 */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { ReportDeps, RoomDeps } from "../deps.js";
import { ReasonBody, RoomParams, roomIdParam } from "../rooms/shared.js";

export const reportRoom = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/rooms/:roomId/report",
  auth: "access-token",
  params: RoomParams,
  body: ReasonBody,
  async handle({ user, params, body }, deps: Pick<RoomDeps, "roomStore" | "clock"> & ReportDeps) {
    const roomId = roomIdParam(params.roomId);
    if (!(await deps.roomStore.getRoom(roomId))) throw MatrixError.notFound(`room ${roomId} not found`);
    await deps.reports.addRoomReport({ roomId, userId: user.userId, reason: body.reason ?? null, receivedTs: deps.clock.now() });
    return {};
  },
});
