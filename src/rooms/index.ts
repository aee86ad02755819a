/** The room pipeline (docs/rooms.md): one queue per room, local events built, checked, persisted and notified. */
export { RoomService, federationUnavailable, type RoomServiceDeps, type RoomStorage } from "./room-service.js";
export { RoomReads, clientEvent, type StateView } from "./room-reads.js";
export { KeyedQueue } from "./keyed-queue.js";
export { silentNotifier, type RoomNotifier, type RoomOutbound } from "./notifier.js";
export { buildLocalEvent, stateNeededFor, MAX_PREV_EVENTS, type LocalEventInput, type LocalEventContext } from "./local-event.js";
