/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidmembers
 * The member events of the state the user may read: now (members), when they left (former members), or at the
 * `at` token (the state after the event before that position); `membership` keeps one membership,
 * `not_membership` drops one. `at` is a /sync token (`next_batch`, or a timeline's `prev_batch`: `s...`, the spec's
 * "a point in time"; the room's newest event at or before its events position counts) or a /messages token
 * (`t<depth>_<stream>`: the event before that topological position).
 * matrix-js-sdk sends its sync token here when it loads the member list of a room synced with lazy-loaded
 * members (Element does), which it needs before it may encrypt; Synapse takes both kinds.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { StateMap } from "../../../core/events/index.js";
import { membershipOf } from "../../../core/visibility/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "../rooms/shared.js";
import { parseToken } from "../../../sync/index.js";
import type { RoomId } from "../../../core/ids/index.js";
import type { StoredEvent } from "../../../storage/ports.js";
import { parsePositionToken } from "./shared.js";

/** The event whose "after" state `at` names (undefined when the token is before the room's first event). */
async function eventAt(deps: Pick<RoomDeps, "events">, roomId: RoomId, at: string): Promise<StoredEvent | undefined> {
  if (at.startsWith("s")) {
    const { events } = parseToken(at, "at");
    const recent = await deps.events.getRoomsRecentEvents([roomId], { from: Number.MIN_SAFE_INTEGER, to: events, limit: 1 });
    return recent.get(roomId)?.[0];
  }
  const page = await deps.events.getRoomEventsTopological(roomId, { from: parsePositionToken(at, "at"), direction: "b", limit: 1 });
  return page.events[0];
}

const MEMBERSHIPS = ["join", "invite", "knock", "leave", "ban"] as const;

export const members = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/rooms/:roomId/members",
  auth: "access-token",
  params: RoomParams,
  query: z.looseObject({ at: z.string().optional(), membership: z.enum(MEMBERSHIPS).optional(), not_membership: z.enum(MEMBERSHIPS).optional() }),
  async handle({ user, params, query }, deps: Pick<RoomDeps, "rooms" | "roomReads" | "roomStore" | "stateStore" | "events" | "clock">) {
    const roomId = roomIdParam(params.roomId);
    const view = await deps.roomReads.stateView(roomId, user.userId);
    // Joined with members omitted: the answer waits for the whole member list (rooms/partial-state.ts).
    await deps.rooms.awaitFullState(roomId);
    let state: StateMap;
    if (query.at !== undefined) {
      const ev = await eventAt(deps, roomId, query.at);
      if (!ev) throw MatrixError.invalidParam("at", "names a position before the room's first event");
      if (view.at === "event") {
        const leftAt = await deps.events.getRoomPosition(view.eventId);
        if (leftAt && (ev.pdu.depth > leftAt.depth || (ev.pdu.depth === leftAt.depth && ev.streamOrdering > leftAt.stream))) throw MatrixError.forbidden(`${user.userId} left ${roomId} before that position`);
      }
      state = (await deps.stateStore.getStateAtEvent(ev.pdu.eventId, "after")) ?? new Map();
    } else {
      state = view.at === "current" ? await deps.roomStore.getCurrentState(roomId) : ((await deps.stateStore.getStateAtEvent(view.eventId, "after")) ?? new Map());
    }
    const ids = [...state].filter(([k]) => k.startsWith("m.room.member\u0000")).map(([, id]) => id);
    const pdus = [...(await deps.events.getPdus(ids)).values()].filter((p) => {
      const m = membershipOf(p.content);
      return (query.membership === undefined || m === query.membership) && (query.not_membership === undefined || m !== query.not_membership);
    });
    return { chunk: await deps.roomReads.clientEvents(pdus, deps.clock.now()) };
  },
});
