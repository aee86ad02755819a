/** The outbound side of federation (docs/federation.md, "Sending"). */
export { FederationSender, MAX_EDUS_PER_TRANSACTION, MAX_PDUS_PER_TRANSACTION, PERSISTENT_EDU_TYPES, type FederationSenderOptions, type SenderClient, type SenderLog } from "./sender.js";
export { DEFAULT_BACKOFF, nextRetryInterval, type BackoffConfig } from "./backoff.js";
export { RoomDestinations } from "./room-destinations.js";
