/**
 * The hook the room pipeline calls after each write commits, for /sync (src/sync builds the waiting side).
 * `position` is the highest stream ordering the write used; readers read up to the storage's committed position,
 * so a notification may arrive before a slower writer's lower position commits, and readers must not trust it for
 * more than "something changed in this room".
 */
import type { EventId, RoomId } from "../core/ids/index.js";
import type { StreamOrdering } from "../storage/ports.js";

export interface RoomNotifier {
  notify(position: StreamOrdering, roomId: RoomId, eventIds: readonly EventId[]): void;
}

export const silentNotifier: RoomNotifier = { notify() {} };
