/** Sync (docs/sync.md): the composite since-token, the notifier, the stream providers and /sync v2 over them. */
export { STREAMS, ZERO_TOKEN, parseToken, serializeToken, isAfter, maxToken, type StreamName, type StreamToken } from "./token.js";
export { Notifier, type NotifierTimers, type WaitRequest, type WakeReason } from "./notifier.js";
export { TypingStream, MAX_TYPING_MS } from "./typing.js";
export { RoomsProvider, TIMELINE_LIMIT, type SyncStorage } from "./rooms-provider.js";
export { SyncService, TO_DEVICE_LIMIT, type SyncRequest, type SyncServiceDeps } from "./sync-service.js";
export { PRESENCE_STATES, parseSetPresence, presenceContent, type PresenceState } from "./presence.js";
export { PresenceTracker, type PresenceTrackerDeps } from "./presence-tracker.js";
export { registerPresenceTypingReceiptEdus, type PresenceTypingReceiptDeps, type PresenceTypingReceiptEdus } from "./edus/register.js";
export { InboundEdus, FEDERATED_TYPING_MS, MAX_ENTRIES_PER_EDU, type EduLog, type InboundEduDeps } from "./edus/inbound.js";
export { OutboundEdus, TYPING_PING_MS, type EduSender, type RoomServers, type OutboundEduDeps } from "./edus/outbound.js";
export { SlidingSyncService, parseSlidingRequest, MAX_TIMELINE_LIMIT, type SlidingSyncCall, type SlidingRequest } from "./sliding/index.js";
export { deviceListMembership, MEMBER_CHANGES_LIMIT } from "./device-lists.js";
export { PushSender, DEFAULT_PUSH_BACKOFF, type GatewayPost, type PushSenderDeps, type PushSenderStorage } from "./push-sender.js";
