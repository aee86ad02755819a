/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidcontexteventid
 * The event (404 when unknown or not visible), up to `limit` (default 10, at most 100) events around it split
 * before and after, tokens to page on, and the state at the last event returned (member events only with a
 * lazy-loading `filter`, for the senders returned).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomEventFilterParam, roomEventFilterMatches, lazyLoading } from "../../../core/filters/index.js";
import { parseEventId, type EventId } from "../../../core/ids/index.js";
import type { Pdu } from "../../../core/events/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { roomIdParam } from "../rooms/shared.js";
import { clientState, positionToken, visibleEvent } from "./shared.js";

export const MAX_CONTEXT_LIMIT = 100;

export const context = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/rooms/:roomId/context/:eventId",
  auth: "access-token",
  params: z.object({ roomId: z.string().min(1), eventId: z.string().min(1) }),
  query: z.looseObject({ limit: z.string().optional(), filter: z.string().optional() }),
  async handle({ user, params, query }, deps: Pick<RoomDeps, "roomReads" | "events" | "stateStore" | "clock">) {
    const roomId = roomIdParam(params.roomId);
    const eventId = parseEventId(params.eventId, "eventId");
    let limit = 10;
    if (query.limit !== undefined) {
      if (!/^\d{1,9}$/.test(query.limit)) throw MatrixError.invalidParam("limit", "must be a non-negative integer");
      limit = Math.min(Number(query.limit), MAX_CONTEXT_LIMIT);
    }
    const filter = query.filter !== undefined ? parseRoomEventFilterParam(query.filter) : undefined;
    const event = await visibleEvent(deps, roomId, user.userId, eventId);
    const at = (await deps.events.getRoomPosition(eventId))!;
    const before = await deps.events.getRoomEventsTopological(roomId, { from: at, direction: "b", limit: Math.floor(limit / 2) });
    const after = await deps.events.getRoomEventsTopological(roomId, { from: at, direction: "f", limit: Math.ceil(limit / 2) });
    const keep = async (list: readonly Pdu[]) => {
      const visible = await deps.roomReads.visibleTo(user.userId, roomId, list);
      return filter ? visible.filter((p) => roomEventFilterMatches(filter, { type: p.type, sender: p.sender, room_id: p.roomId, content: p.content })) : visible;
    };
    const eventsBefore = await keep(before.events.map((e) => e.pdu));
    const eventsAfter = await keep(after.events.map((e) => e.pdu));
    const last = eventsAfter[eventsAfter.length - 1] ?? event;
    const state = (await deps.stateStore.getStateAtEvent(last.eventId, "after")) ?? new Map();
    let stateIds: EventId[] = [...state.values()];
    if (filter && lazyLoading(filter).lazy) {
      const senders = new Set([event, ...eventsBefore, ...eventsAfter].map((p) => p.sender));
      stateIds = [...state].filter(([k]) => !k.startsWith("m.room.member\u0000") || senders.has(k.slice("m.room.member\u0000".length) as never)).map(([, id]) => id);
    }
    const [ev] = await deps.roomReads.clientEventsFor(user, [event], deps.clock.now());
    return {
      event: ev,
      events_before: await deps.roomReads.clientEventsFor(user, eventsBefore, deps.clock.now()),
      events_after: await deps.roomReads.clientEventsFor(user, eventsAfter, deps.clock.now()),
      start: positionToken(before.next),
      end: positionToken(after.next),
      state: await clientState(deps, stateIds),
    };
  },
});
