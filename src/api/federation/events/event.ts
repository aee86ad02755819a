/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1eventeventid
 * 1. An unknown event id is 404 M_NOT_FOUND.
 * 2. The requesting server must have a joined user in the event's room, or the room must be world_readable now
 *    (403 M_FORBIDDEN).
 * 3. The answer is a transaction of one PDU, redacted when the server may not see the event (events/access.ts).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineFederationRoute } from "../../http/index.js";
import { assertMayRead, eventIdParam, wirePdusFor, type RoomReadDeps } from "./access.js";

export const getEvent = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/event/:eventId",
  auth: "x-matrix",
  params: z.object({ eventId: z.string() }),
  async handle({ origin, params }, { serverName, clock, roomRead }: RoomReadDeps) {
    const eventId = eventIdParam(params.eventId, "eventId");
    // Step 1.
    const pdu = (await roomRead.events.getPdus([eventId])).get(eventId);
    if (!pdu) throw MatrixError.notFound(`unknown event ${eventId}`);
    // Step 2.
    const access = await assertMayRead(roomRead, pdu.roomId, origin);
    // Step 3.
    return { origin: serverName, origin_server_ts: clock.now(), pdus: await wirePdusFor(roomRead, origin, access, [pdu]) };
  },
});
