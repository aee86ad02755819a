/** Simplified sliding sync (MSC4186, docs/sliding-sync.md) over the streams, token and notifier of /sync. */
export { SlidingSyncService, CONNECTION_IDLE_MS, MAX_CONNECTIONS_PER_DEVICE, type SlidingSyncCall, type SlidingSyncDeps } from "./sliding-sync-service.js";
export { parseSlidingRequest, MAX_TIMELINE_LIMIT, MAX_LISTS, MAX_SUBSCRIPTIONS, type SlidingRequest } from "./request.js";
export { BUMP_EVENT_TYPES } from "./room-data.js";
