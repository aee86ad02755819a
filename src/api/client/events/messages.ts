/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidmessages
 *
 * 1. `dir` b or f (required), `from` (default: the end for b, the start for f), `to`, `limit` (default 10, at
 *    most 1,000), `filter` (a RoomEventFilter as JSON; core/filters).
 * 2. A page of the room's topological order (StorageEventStore.getRoomEventsTopological).
 * 3. History visibility on each event, then the filter; `end` is omitted when the room has no more events (a short
 *    page, unless step 2b stopped at its round limit).
 * 2b. A backwards page shorter than `limit` whose room has a gap at its start: backfilled from the room's other
 *    servers (RoomService.backfill, rooms/backfill.ts), then read again; up to BACKFILL_ROUNDS times while the page
 *    is still short and each backfill stored events. Still short after the last of them: `end` is kept (step 3), as
 *    more history may remain to backfill.
 * 4. With `lazy_load_members`, the senders' member events as `state`.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomEventFilterParam, roomEventFilterMatches, lazyLoading } from "../../../core/filters/index.js";
import type { EventId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "../rooms/shared.js";
import { clientState, END_OF_ROOM, parsePositionToken, positionToken, START_OF_ROOM } from "./shared.js";

export const MAX_MESSAGES_LIMIT = 1000;
/** Backfills one /messages request may wait for (each at most 100 events from one server). */
export const BACKFILL_ROUNDS = 3;

export const messages = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/rooms/:roomId/messages",
  auth: "access-token",
  params: RoomParams,
  query: z.looseObject({ dir: z.string().optional(), from: z.string().optional(), to: z.string().optional(), limit: z.string().optional(), filter: z.string().optional() }),
  async handle({ user, params, query }, deps: Pick<RoomDeps, "roomReads" | "events" | "roomStore" | "clock"> & Partial<Pick<RoomDeps, "rooms">>) {
    const roomId = roomIdParam(params.roomId);
    // Step 1
    if (query.dir === undefined) throw MatrixError.missingParam("dir");
    if (query.dir !== "b" && query.dir !== "f") throw MatrixError.invalidParam("dir", 'must be "b" or "f"');
    const dir = query.dir;
    let limit = 10;
    if (query.limit !== undefined) {
      if (!/^\d{1,9}$/.test(query.limit)) throw MatrixError.invalidParam("limit", "must be a non-negative integer");
      limit = Math.min(Number(query.limit), MAX_MESSAGES_LIMIT);
    }
    const filter = query.filter !== undefined ? parseRoomEventFilterParam(query.filter) : undefined;
    if (filter?.limit !== undefined) limit = Math.min(filter.limit, MAX_MESSAGES_LIMIT);
    const from = query.from !== undefined ? parsePositionToken(query.from, "from") : dir === "b" ? END_OF_ROOM : START_OF_ROOM;
    const to = query.to !== undefined ? parsePositionToken(query.to, "to") : undefined;
    await deps.roomReads.requireHistoryAccess(roomId, user.userId);
    // Step 2
    let page = await deps.events.getRoomEventsTopological(roomId, { from, ...(to ? { to } : {}), direction: dir, limit });
    // Step 2b
    // Still short after the last round, which stored events: older history may remain on the other servers, so the
    // page keeps its `end` and the next request backfills on.
    let mayHaveMore = false;
    for (let round = 0; dir === "b" && limit > 0 && page.events.length < limit && deps.rooms && !to; round++) {
      if (round === BACKFILL_ROUNDS) { mayHaveMore = true; break; }
      const stored = await deps.rooms.backfill(roomId, limit - page.events.length);
      if (stored === 0) break;
      page = await deps.events.getRoomEventsTopological(roomId, { from, direction: dir, limit });
    }
    // Step 3
    const visible = await deps.roomReads.visibleTo(user.userId, roomId, page.events.map((e) => e.pdu));
    const chunk = filter ? visible.filter((p) => roomEventFilterMatches(filter, { type: p.type, sender: p.sender, room_id: p.roomId, content: p.content })) : visible;
    const out: Record<string, unknown> = {
      start: positionToken(from),
      chunk: await deps.roomReads.clientEventsFor(user, chunk, deps.clock.now()),
    };
    if ((page.events.length === limit || mayHaveMore) && page.events.length > 0) out["end"] = positionToken(page.next);
    // Step 4
    if (filter && lazyLoading(filter).lazy) {
      const ids = new Set<EventId>();
      for (const sender of new Set(chunk.map((p) => p.sender))) {
        const id = await deps.roomStore.getCurrentStateEventId(roomId, "m.room.member", sender);
        if (id) ids.add(id);
      }
      out["state"] = await clientState(deps, ids);
    }
    return out;
  },
});
