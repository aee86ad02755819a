/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomideventeventid: 404 when unknown or not visible to the user. */
import { z } from "zod";
import { parseEventId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { roomIdParam } from "../rooms/shared.js";
import { visibleEvent } from "./shared.js";

export const getEvent = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/rooms/:roomId/event/:eventId",
  auth: "access-token",
  params: z.object({ roomId: z.string().min(1), eventId: z.string().min(1) }),
  async handle({ user, params }, deps: Pick<RoomDeps, "roomReads" | "events" | "clock">) {
    const roomId = roomIdParam(params.roomId);
    await deps.roomReads.requireHistoryAccess(roomId, user.userId);
    const pdu = await visibleEvent(deps, roomId, user.userId, parseEventId(params.eventId, "eventId"));
    const [ev] = await deps.roomReads.clientEventsFor(user, [pdu], deps.clock.now());
    return ev!;
  },
});
