/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidstateeventtypestatekey
 * The content (or the whole event with `format=event`); 404 M_NOT_FOUND when the room has no such state. The
 * state key may be empty (`/state/{type}` or `/state/{type}/`).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute, type Route } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { roomIdParam } from "../rooms/shared.js";
import { clientState, EventType } from "./shared.js";
import { readableStateEventId } from "./state-shared.js";

const Params = z.object({ roomId: z.string().min(1), eventType: EventType, stateKey: z.string().max(255).default("") });

export const getStateEvent = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/rooms/:roomId/state/:eventType/:stateKey",
  auth: "access-token",
  params: Params,
  query: z.looseObject({ format: z.enum(["content", "event"]).optional() }),
  async handle({ user, params, query }, deps: Pick<RoomDeps, "roomReads" | "roomStore" | "stateStore" | "events" | "clock">) {
    const roomId = roomIdParam(params.roomId);
    const id = await readableStateEventId(deps, roomId, user.userId, params.eventType, params.stateKey);
    const [ev] = id ? await clientState(deps, [id]) : [];
    if (!ev) throw MatrixError.notFound(`no ${params.eventType} state with key ${JSON.stringify(params.stateKey)} in ${roomId}`);
    return query.format === "event" ? ev : ev["content"]!;
  },
});

/** The same with an empty state key and no trailing segment. */
export const getStateEventEmptyKey: Route<unknown> = { ...getStateEvent, path: "/_matrix/client/v3/rooms/:roomId/state/:eventType" };
