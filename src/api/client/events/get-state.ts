/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidstate: members now; former members as they left. */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "../rooms/shared.js";
import { clientState } from "./shared.js";

export const getState = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/rooms/:roomId/state",
  auth: "access-token",
  params: RoomParams,
  async handle({ user, params }, deps: Pick<RoomDeps, "roomReads" | "roomStore" | "stateStore" | "events" | "clock">) {
    const roomId = roomIdParam(params.roomId);
    const view = await deps.roomReads.stateView(roomId, user.userId);
    const state = view.at === "current" ? await deps.roomStore.getCurrentState(roomId) : ((await deps.stateStore.getStateAtEvent(view.eventId, "after")) ?? new Map());
    return clientState(deps, state.values());
  },
});
