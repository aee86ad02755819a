/** The room pipeline (docs/rooms.md): one queue per room, local events built, checked, persisted and notified. */
export { RoomService, federationUnavailable, type RoomServiceDeps, type RoomStorage } from "./room-service.js";
export { RoomReads, clientEvent, type ClientEventOptions, type Reader, type StateView, type VisibilityKnown } from "./room-reads.js";
export { RoomUpgrader } from "./room-upgrade.js";
export { KeyedQueue } from "./keyed-queue.js";
export { DUMMY_EVENT_TYPE, DEFAULT_DUMMY_EVENT_DELAY_MS, ExtremityMerger, type ExtremityPolicy, type MergeTimers } from "./extremities.js";
export { silentNotifier, type RoomNotifier, type RoomOutbound } from "./notifier.js";
export { buildLocalEvent, stateNeededFor, MAX_PREV_EVENTS, type LocalEventInput, type LocalEventContext } from "./local-event.js";
export { MISSING_EVENTS_LIMIT, stateResolutionMetric, type RemoteDeps, type EventKeySource, type RemoteEventClient, type IngestOutcome } from "./remote-event.js";
export type { TransactionPduResult } from "./room-service.js";
export { TransactionGate, EduRegistry, type EduHandler, type TransactionAnswer } from "./transaction-gate.js";
export { SpaceHierarchy, compareChildren, type SpaceSource, type SpaceRoom, type ChildLink, type SpaceRequester } from "./space-hierarchy.js";
export { E2eeFederation, RoomAudience, E2EE_FEDERATION_LIMITS, type DeviceListDeps, type RemoteKeysAnswer } from "./device-lists/index.js";
export { PushActions, threadOf, type PushActionStorage } from "./push-actions.js";
