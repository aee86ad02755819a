/**
 * https://spec.matrix.org/v1.16/server-server-api/#post_matrixfederationv1get_missing_eventsroomid
 * 1. Body: latest_events (required, 1..GME_MAX_IDS ids), earliest_events (default [], at most GME_MAX_IDS),
 *    limit (default 10, capped at GME_MAX_LIMIT = 20), min_depth (default 0).
 * 2. Unknown room: 404. The server must have a joined user, or the room must be world_readable now (403).
 * 3. Walk back from the latest events (excluded) through prev_events, never past an earliest event nor below
 *    min_depth, at most `limit` events; answered oldest first, as Synapse does, so the caller can persist them in order.
 * 4. Events the server may not see are redacted.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineFederationRoute } from "../../http/index.js";
import { assertMayRead, eventIdParam, requireRoom, roomIdParam, wirePdusFor, type RoomReadDeps } from "./access.js";
import { walkBack } from "./backfill.js";

/** As Synapse: it asks for 10 and answers at most 20. */
export const GME_MAX_LIMIT = 20;
export const GME_MAX_IDS = 100;

export const getMissingEvents = defineFederationRoute({
  method: "POST",
  path: "/_matrix/federation/v1/get_missing_events/:roomId",
  auth: "x-matrix",
  params: z.object({ roomId: z.string() }),
  body: z.object({
    latest_events: z.array(z.string()).optional(),
    earliest_events: z.array(z.string()).optional(),
    limit: z.number().optional(),
    min_depth: z.number().optional(),
  }).passthrough(),
  async handle({ origin, params, body }, { roomRead }: RoomReadDeps) {
    const roomId = roomIdParam(params.roomId);
    // Step 1.
    if (body.latest_events === undefined) throw MatrixError.missingParam("latest_events");
    if (body.latest_events.length === 0) throw MatrixError.invalidParam("latest_events", "must name at least one event");
    if (body.latest_events.length > GME_MAX_IDS) throw MatrixError.invalidParam("latest_events", `at most ${GME_MAX_IDS} event ids`);
    if ((body.earliest_events?.length ?? 0) > GME_MAX_IDS) throw MatrixError.invalidParam("earliest_events", `at most ${GME_MAX_IDS} event ids`);
    const latest = body.latest_events.map((e) => eventIdParam(e, "latest_events"));
    const earliest = new Set((body.earliest_events ?? []).map((e) => eventIdParam(e, "earliest_events")));
    const rawLimit = body.limit ?? 10;
    if (!Number.isSafeInteger(rawLimit) || rawLimit < 0) throw MatrixError.invalidParam("limit", "must be a non-negative integer");
    const minDepth = body.min_depth ?? 0;
    if (!Number.isSafeInteger(minDepth)) throw MatrixError.invalidParam("min_depth", "must be an integer");
    const limit = Math.min(rawLimit, GME_MAX_LIMIT);
    // Step 2.
    await requireRoom(roomRead, roomId);
    const access = await assertMayRead(roomRead, roomId, origin);
    // Step 3.
    const pdus = limit === 0 ? [] : await walkBack(roomRead, roomId, latest, { limit, includeStart: false, stop: earliest, minDepth });
    pdus.reverse();
    // Step 4.
    return { events: await wirePdusFor(roomRead, origin, access, pdus) };
  },
});
