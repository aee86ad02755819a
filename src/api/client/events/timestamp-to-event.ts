/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1roomsroomidtimestamp_to_event
 *
 * 1. `ts` (required, milliseconds since the epoch) and `dir` (required, f or b).
 * 2. Members and former members only (404 unknown room, 403 otherwise, as /messages).
 * 3. The event nearest `ts` in `dir` (f: at or after it, b: at or before it) that the user may see; the search
 *    looks at TIMESTAMP_CANDIDATES events at most, then answers 404 M_NOT_FOUND. Zion answers from the events it
 *    has (it does not ask other servers).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "../rooms/shared.js";

/** Events checked for visibility before giving up, in batches of TIMESTAMP_BATCH. */
export const TIMESTAMP_CANDIDATES = 200;
const TIMESTAMP_BATCH = 50;

export const timestampToEvent = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v1/rooms/:roomId/timestamp_to_event",
  auth: "access-token",
  params: RoomParams,
  query: z.looseObject({ ts: z.string().optional(), dir: z.string().optional() }),
  async handle({ user, params, query }, deps: Pick<RoomDeps, "roomReads" | "events" | "relations">) {
    const roomId = roomIdParam(params.roomId);
    // Step 1
    if (query.ts === undefined) throw MatrixError.missingParam("ts");
    if (!/^\d{1,16}$/.test(query.ts) || !Number.isSafeInteger(Number(query.ts))) throw MatrixError.invalidParam("ts", "must be a timestamp in milliseconds (a non-negative integer)");
    if (query.dir === undefined) throw MatrixError.missingParam("dir");
    if (query.dir !== "f" && query.dir !== "b") throw MatrixError.invalidParam("dir", 'must be "f" or "b"');
    const ts = Number(query.ts);
    const dir = query.dir;
    // Step 2
    await deps.roomReads.requireHistoryAccess(roomId, user.userId);
    // Step 3: widen the window batch by batch (the candidates of a batch all lie beyond the last one checked).
    const candidates = await deps.relations.getEventsNearTimestamp(roomId, ts, dir, TIMESTAMP_CANDIDATES);
    for (let i = 0; i < candidates.length; i += TIMESTAMP_BATCH) {
      const part = candidates.slice(i, i + TIMESTAMP_BATCH);
      const pdus = await deps.events.getPdus(part.map((c) => c.eventId));
      const visible = await deps.roomReads.visibleTo(user.userId, roomId, part.map((c) => pdus.get(c.eventId)).filter((p) => p !== undefined));
      const first = visible[0];
      if (first) return { event_id: first.eventId, origin_server_ts: first.originServerTs };
    }
    throw MatrixError.notFound(`no event you may see in ${roomId} ${dir === "f" ? "at or after" : "at or before"} ${ts}`);
  },
});
