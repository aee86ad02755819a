/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1timestamp_to_eventroomid
 * 1. `ts` (an integer, milliseconds) and `dir` ("f" or "b") are required (400 M_MISSING_PARAM / M_INVALID_PARAM).
 * 2. Unknown room: 404. The server must have a joined user, or the room must be world_readable now (403).
 * 3. The visible timeline event closest to ts in that direction (one indexed query), or 404 M_NOT_FOUND.
 * 4. An event the server may not see at its time is not answered: the search is for history it can read, so such
 *    a hit is 404 as well (no identifier of hidden history leaks).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineFederationRoute } from "../../http/index.js";
import { assertMayRead, requireRoom, roomIdParam, visibleTo, type RoomReadDeps } from "./access.js";

export const timestampToEvent = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/timestamp_to_event/:roomId",
  auth: "x-matrix",
  params: z.object({ roomId: z.string() }),
  query: z.object({ ts: z.string().optional(), dir: z.string().optional() }).passthrough(),
  async handle({ origin, params, query }, { roomRead }: RoomReadDeps) {
    const roomId = roomIdParam(params.roomId);
    // Step 1.
    if (query.ts === undefined) throw MatrixError.missingParam("ts");
    if (!/^\d{1,16}$/.test(query.ts) || !Number.isSafeInteger(Number(query.ts))) throw MatrixError.invalidParam("ts", `must be a timestamp in milliseconds, got ${JSON.stringify(query.ts.slice(0, 40))}`);
    if (query.dir === undefined) throw MatrixError.missingParam("dir");
    if (query.dir !== "f" && query.dir !== "b") throw MatrixError.invalidParam("dir", `must be "f" or "b", got ${JSON.stringify(query.dir.slice(0, 40))}`);
    // Step 2.
    await requireRoom(roomRead, roomId);
    const access = await assertMayRead(roomRead, roomId, origin);
    // Step 3.
    const hit = await roomRead.events.getEventNearTimestamp(roomId, Number(query.ts), query.dir);
    if (!hit) throw MatrixError.notFound(`no event in ${roomId} ${query.dir === "f" ? "at or after" : "at or before"} ${query.ts}`);
    // Step 4.
    const pdu = (await roomRead.events.getPdus([hit.eventId])).get(hit.eventId);
    if (!pdu || !(await visibleTo(roomRead, origin, access, [pdu])).has(pdu.eventId)) {
      throw MatrixError.notFound(`no event in ${roomId} visible to ${origin} ${query.dir === "f" ? "at or after" : "at or before"} ${query.ts}`);
    }
    return { event_id: hit.eventId, origin_server_ts: hit.originServerTs };
  },
});
