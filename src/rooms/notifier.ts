/**
 * The hook the room pipeline calls after each write commits, for /sync (src/sync builds the waiting side).
 * `position` is the highest stream ordering the write used; readers read up to the storage's committed position,
 * so a notification may arrive before a slower writer's lower position commits, and readers must not trust it for
 * more than "something changed in this room".
 */
import type { Pdu } from "../core/events/index.js";
import type { RoomId, ServerName } from "../core/ids/index.js";
import type { StreamOrdering } from "../storage/ports.js";

export interface RoomNotifier {
  /** `events`: the events the write stored that readers should hear of (their member events' targets are woken too). */
  notify(position: StreamOrdering, roomId: RoomId, events: readonly Pdu[]): void;
}

export const silentNotifier: RoomNotifier = { notify() {} };

/**
 * The federation sender's hook (src/federation/sender RoomDestinations): before a local event is persisted the
 * pipeline asks where it goes, and passes the answer to persistEvents (`outbound`), so the event and its queue rows
 * are one transaction; after the commit it tells the sender to send.
 */
export interface RoomOutbound {
  destinationsFor(roomId: RoomId, pdu: Pdu): Promise<readonly ServerName[]>;
  persisted(destinations: readonly ServerName[]): void;
}
