/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1roomsroomidrelationseventid (and the
 * /{relType} and /{relType}/{eventType} forms)
 *
 * 1. `dir` b (default) or f, `from`/`to` (tokens of this endpoint or /messages), `limit` (default 5 as Synapse,
 *    at most 1,000), `recurse` true or false.
 * 2. The parent must be an event of the room the user may see (404 M_NOT_FOUND otherwise, as /event).
 * 3. Its children (with `recurse`, theirs too, up to RELATIONS_MAX_DEPTH relations away, the depth Synapse uses),
 *    filtered by rel_type and event type, in topological order; history visibility on each.
 * 4. `next_batch` when the page was full; `recursion_depth` whenever the client sent `recurse`.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseEventId } from "../../../core/ids/index.js";
import { defineClientRoute, type Route } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { roomIdParam } from "../rooms/shared.js";
import { EventType, parsePositionToken, positionToken, visibleEvent } from "./shared.js";

export const RELATIONS_DEFAULT_LIMIT = 5;
export const RELATIONS_MAX_LIMIT = 1000;
/** How many relations away `recurse=true` reaches (the spec leaves it to the server; Synapse uses 3). */
export const RELATIONS_MAX_DEPTH = 3;

const Params = z.object({ roomId: z.string().min(1), eventId: z.string().min(1), relType: z.string().min(1).max(255).optional(), eventType: EventType.optional() });

export function parseLimit(raw: string | undefined, dflt: number, max: number): number {
  if (raw === undefined) return dflt;
  if (!/^\d{1,9}$/.test(raw)) throw MatrixError.invalidParam("limit", "must be a non-negative integer");
  return Math.min(Number(raw), max);
}

export const getRelations = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v1/rooms/:roomId/relations/:eventId",
  auth: "access-token",
  params: Params,
  query: z.looseObject({ dir: z.string().optional(), from: z.string().optional(), to: z.string().optional(), limit: z.string().optional(), recurse: z.string().optional() }),
  async handle({ user, params, query }, deps: Pick<RoomDeps, "roomReads" | "events" | "relations" | "clock">) {
    const roomId = roomIdParam(params.roomId);
    const eventId = parseEventId(params.eventId, "eventId");
    // Step 1
    const dir = query.dir ?? "b";
    if (dir !== "b" && dir !== "f") throw MatrixError.invalidParam("dir", 'must be "b" or "f"');
    const limit = parseLimit(query.limit, RELATIONS_DEFAULT_LIMIT, RELATIONS_MAX_LIMIT);
    if (query.recurse !== undefined && query.recurse !== "true" && query.recurse !== "false") throw MatrixError.invalidParam("recurse", 'must be "true" or "false"');
    const depth = query.recurse === "true" ? RELATIONS_MAX_DEPTH : 1;
    const from = query.from !== undefined ? parsePositionToken(query.from, "from") : undefined;
    const to = query.to !== undefined ? parsePositionToken(query.to, "to") : undefined;
    // Step 2
    await deps.roomReads.requireHistoryAccess(roomId, user.userId);
    await visibleEvent(deps, roomId, user.userId, eventId);
    // Step 3
    const page = await deps.relations.getRelations(roomId, eventId, {
      direction: dir,
      limit,
      depth,
      ...(params.relType !== undefined ? { relType: params.relType } : {}),
      ...(params.eventType !== undefined ? { eventType: params.eventType } : {}),
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
    });
    const visible = await deps.roomReads.visibleTo(user.userId, roomId, page.events.map((e) => e.pdu));
    // Step 4
    const out: Record<string, unknown> = { chunk: await deps.roomReads.clientEventsFor(user, visible, deps.clock.now()) };
    if (page.next) out["next_batch"] = positionToken(page.next);
    if (query.from !== undefined) out["prev_batch"] = query.from;
    if (query.recurse !== undefined) out["recursion_depth"] = depth;
    return out;
  },
});

export const getRelationsByType: Route<unknown> = { ...getRelations, path: "/_matrix/client/v1/rooms/:roomId/relations/:eventId/:relType" };
export const getRelationsByTypes: Route<unknown> = { ...getRelations, path: "/_matrix/client/v1/rooms/:roomId/relations/:eventId/:relType/:eventType" };
