/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1event_authroomideventid
 * 1. Unknown room, or an event not stored in it: 404 M_NOT_FOUND.
 * 2. The server must have a joined user in the room, or the room must be world_readable now (403 M_FORBIDDEN).
 * 3. The event's full auth chain from the auth-chain index (one query), the event itself excluded, as PDUs.
 *    Auth events are not filtered by history visibility: they are state (creation, power levels, memberships) that
 *    any server in the room needs to authorise the event, as in Synapse.
 */
import { z } from "zod";
import { defineFederationRoute } from "../../http/index.js";
import { assertMayRead, eventIdParam, requireEventIn, requireRoom, roomIdParam, type RoomReadDeps } from "../events/access.js";
import { wirePdusOf } from "./state-ids.js";

export const getEventAuth = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/event_auth/:roomId/:eventId",
  auth: "x-matrix",
  params: z.object({ roomId: z.string(), eventId: z.string() }),
  async handle({ origin, params }, { roomRead }: RoomReadDeps) {
    const roomId = roomIdParam(params.roomId);
    const eventId = eventIdParam(params.eventId, "eventId");
    // Step 1.
    await requireRoom(roomRead, roomId);
    await requireEventIn(roomRead, roomId, eventId);
    // Step 2.
    await assertMayRead(roomRead, roomId, origin);
    // Step 3.
    const chain = [...(await roomRead.events.getAuthChainIds([eventId]))].filter((id) => id !== eventId).sort();
    return { auth_chain: await wirePdusOf(roomRead, chain) };
  },
});
