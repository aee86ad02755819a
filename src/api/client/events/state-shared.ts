/** The state of a room as a user may read it (current, or when they left), by key. */
import type { EventId, RoomId, UserId } from "../../../core/ids/index.js";
import type { RoomDeps } from "../deps.js";

export async function readableStateEventId(deps: Pick<RoomDeps, "roomReads" | "roomStore" | "stateStore">, roomId: RoomId, userId: UserId, type: string, stateKey: string): Promise<EventId | null> {
  const view = await deps.roomReads.stateView(roomId, userId);
  return view.at === "current" ? deps.roomStore.getCurrentStateEventId(roomId, type, stateKey) : deps.stateStore.getStateEventAt(view.eventId, type, stateKey, "after");
}
