/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1roomsroomidthreads
 *
 * 1. `include` all (default) or participated (threads the user started or wrote in), `from` (a next_batch of
 *    this endpoint), `limit` (default 5 as Synapse, at most 100: each root costs its aggregation).
 * 2. Members and former members only (404 unknown room, 403 otherwise, as /messages).
 * 3. Thread roots, most recently active first; history visibility on each root; each with its m.thread
 *    aggregation (latest_event, count, current_user_participated).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "../rooms/shared.js";
import { parseLimit } from "./relations.js";
import { parsePositionToken, positionToken, timelineEventOf } from "./shared.js";

export const THREADS_DEFAULT_LIMIT = 5;
export const THREADS_MAX_LIMIT = 100;

export const getThreads = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v1/rooms/:roomId/threads",
  auth: "access-token",
  params: RoomParams,
  query: z.looseObject({ include: z.string().optional(), from: z.string().optional(), limit: z.string().optional() }),
  async handle({ user, params, query }, deps: Pick<RoomDeps, "roomReads" | "events" | "relations" | "clock">) {
    const roomId = roomIdParam(params.roomId);
    // Step 1
    const include = query.include ?? "all";
    if (include !== "all" && include !== "participated") throw MatrixError.invalidParam("include", 'must be "all" or "participated"');
    const limit = parseLimit(query.limit, THREADS_DEFAULT_LIMIT, THREADS_MAX_LIMIT);
    const from = query.from !== undefined ? parsePositionToken(query.from, "from") : undefined;
    // Step 2
    await deps.roomReads.requireHistoryAccess(roomId, user.userId);
    // Step 3
    const page = await deps.relations.getThreads(roomId, { limit, ...(from ? { from } : {}), ...(include === "participated" ? { participant: user.userId } : {}) });
    const roots = await deps.events.getEvents(page.roots);
    const pdus = page.roots.map((id) => timelineEventOf(roots.get(id), roomId)).filter((p) => p !== undefined);
    const visible = await deps.roomReads.visibleTo(user.userId, roomId, pdus);
    const out: Record<string, unknown> = { chunk: await deps.roomReads.clientEventsFor(user, visible, deps.clock.now()) };
    if (page.next) out["next_batch"] = positionToken(page.next);
    return out;
  },
});
