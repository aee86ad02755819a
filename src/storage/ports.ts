/**
 * Storage ports: the interfaces every other layer codes against (STYLE C8).
 *
 * Each method is a whole unit of work with one transaction inside; no method
 * spans a network await. Types at this boundary are core types only (branded
 * ids, Pdu, JsonObject); no driver type leaks out. Backends live in
 * storage/sqlite and storage/postgres and only src/app/ opens one.
 *
 * Timestamps are milliseconds since the Unix epoch, passed in by the caller
 * (time is injected, STYLE C9): storage never reads the clock itself.
 */
import type { EventId, KeyId, RoomAlias, RoomId, ServerName, UserId } from "../core/ids/index.js";
import type { Pdu, StateKey, StateMap } from "../core/events/pdu.js";
import type { JsonObject } from "../core/json/types.js";

// ---------------------------------------------------------------------------
// Errors: drivers' errors are translated into these before they leave storage.
// ---------------------------------------------------------------------------

/** Base class of every error storage throws on purpose. */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageError";
  }
}

/**
 * A row with the same unique key exists already (SQLite SQLITE_CONSTRAINT_UNIQUE /
 * PRIMARYKEY, PostgreSQL 23505). `what` names the entity ("user", "access token", ...)
 * when the store knows it, otherwise the table.
 */
export class UniqueViolationError extends StorageError {
  constructor(
    readonly what: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "UniqueViolationError";
  }
}

/** A write broke a NOT NULL, CHECK or foreign-key rule: the input was malformed. Nothing was written. */
export class ConstraintViolationError extends StorageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConstraintViolationError";
  }
}

/** The database could not be reached, is locked past the busy timeout, or was closed. */
export class StorageUnavailableError extends StorageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageUnavailableError";
  }
}

// ---------------------------------------------------------------------------
// Keys: remote servers' verify keys, cached from direct fetches or notaries.
// ---------------------------------------------------------------------------

/** One verify key of a remote server, as cached. */
export interface ServerKeyRecord {
  readonly serverName: ServerName;
  readonly keyId: KeyId;
  /** The ed25519 public key, unpadded base64 as on the wire. */
  readonly publicKey: string;
  /** `valid_until_ts` of the response that carried the key (0 for an old key that only has `expired_ts`). */
  readonly validUntilTs: number;
  /** `expired_ts` when the key came from `old_verify_keys`, else null. */
  readonly expiredTs: number | null;
  /** When we fetched it (our clock). */
  readonly fetchedTs: number;
  /** Who served it: the server itself, or the notary we asked. */
  readonly fetchedFrom: ServerName;
  /** The whole signed key response, kept as received so it can be re-served as a notary. */
  readonly keyJson: JsonObject;
}

export interface KeyStore {
  /** Inserts or replaces each (serverName, keyId), all in one transaction. */
  upsertServerKeys(keys: readonly ServerKeyRecord[]): Promise<void>;
  /** The cached keys among `keyIds`; ids not cached are absent from the map. */
  getServerKeys(serverName: ServerName, keyIds: readonly KeyId[]): Promise<ReadonlyMap<KeyId, ServerKeyRecord>>;
  /** Every cached key of a server, ordered by key id. */
  getAllServerKeys(serverName: ServerName): Promise<readonly ServerKeyRecord[]>;
}

// ---------------------------------------------------------------------------
// Events, rooms and state. The design (state groups, streams, the committed
// position, the auth-chain cover) is described in docs/storage.md.
// ---------------------------------------------------------------------------

/**
 * A position in the event stream. Timeline events get positive positions in
 * the order they are written; outliers and backfilled events get negative
 * ones, so forward readers (/sync) never see them as new.
 */
export type StreamOrdering = number;

/** The id of a stored state group (the state at some event). */
export type StateGroupId = number;

/**
 * Where an event sits in its room's topological order: (depth, stream
 * ordering), the order /messages pages through. Tokens are positions between
 * events: paging from a position excludes the event at it.
 */
export interface RoomPosition {
  readonly depth: number;
  readonly stream: StreamOrdering;
}

/** A state change relative to a base state. */
export interface StateDelta {
  /** (type, state_key) -> event id to set. */
  readonly set: StateMap;
  /** Keys to remove (applied before `set`, so a key in both is set). */
  readonly remove?: readonly StateKey[];
}

/**
 * The state before an event, as the caller knows it. `after` (the state
 * after an earlier event, stored or earlier in the same batch) and `group`
 * reuse an existing group when nothing changes, so a run of messages shares
 * one group; `state` is a whole state (e.g. resolved), stored as a delta
 * against `base` when given.
 */
export type StateInput =
  | { readonly after: EventId; readonly delta?: StateDelta }
  | { readonly group: StateGroupId; readonly delta?: StateDelta }
  | { readonly state: StateMap; readonly base?: { readonly after: EventId } | { readonly group: StateGroupId } };

export interface EventToPersist {
  readonly pdu: Pdu;
  /** An outlier: known (e.g. from an auth chain) but not part of the room's timeline. */
  readonly outlier?: boolean;
  /** Why the event was rejected by the auth rules, or null/absent when it was accepted. */
  readonly rejectionReason?: string | null;
  /** Passed its auth events but not the current state: stored, never shown, never a prev event. */
  readonly softFailed?: boolean;
  /** Older history fetched with /backfill: a negative stream position, never a forward extremity. */
  readonly backfilled?: boolean;
  /**
   * The state before the event. Storage derives the state after it: the same
   * for a message, rejected or soft-failed event, with the event added for an
   * accepted state event. Absent: the event has no state group (outliers).
   */
  readonly stateBefore?: StateInput;
}

export interface RoomRecord {
  readonly roomId: RoomId;
  /** The room version id ("1".."12", or an unstable id). */
  readonly roomVersion: string;
  readonly creator: UserId;
}

/** A change to one room's current state, applied in the same transaction as the events. */
export interface CurrentStateDelta {
  readonly roomId: RoomId;
  /** When true, the room's whole current state becomes `set` (after resolution of forks). */
  readonly replace?: boolean;
  /** (type, state_key) -> event id to set. */
  readonly set: StateMap;
  /** Keys to remove (rare: only after state resolution drops an entry). */
  readonly remove?: readonly StateKey[];
}

export interface PersistBatch {
  readonly events: readonly EventToPersist[];
  /** Rooms to record in the same transaction (ignored when already known). */
  readonly rooms?: readonly RoomRecord[];
  /** Current-state changes to apply in the same transaction (they enter the current-state and membership streams). */
  readonly state?: readonly CurrentStateDelta[];
  /** Our clock at receipt. */
  readonly receivedTs: number;
  /**
   * The federation sender's queue: each of `eventIds` that this batch writes to the timeline (new, with a forward
   * stream ordering) is queued for every destination, in the events' own transaction. Events stored already are
   * not queued again.
   */
  readonly outbound?: OutboundPdus;
}

export interface OutboundPdus {
  readonly destinations: readonly ServerName[];
  readonly eventIds: readonly EventId[];
}

export interface PersistResult {
  /** The stream ordering given to each event written (new events, and outliers promoted to the timeline). */
  readonly orderings: ReadonlyMap<EventId, StreamOrdering>;
  /** The state groups before and after each event written with a state. */
  readonly stateGroups: ReadonlyMap<EventId, { readonly before: StateGroupId; readonly after: StateGroupId }>;
  /** Events that were stored already and left as they were. */
  readonly alreadyKnown: readonly EventId[];
  /** The highest forward stream ordering this batch used, or the committed position when it used none. */
  readonly maxOrdering: StreamOrdering;
}

export interface StoredEvent {
  readonly pdu: Pdu;
  readonly streamOrdering: StreamOrdering;
  readonly outlier: boolean;
  readonly rejectionReason: string | null;
  readonly softFailed: boolean;
  readonly backfilled: boolean;
  readonly receivedTs: number;
}

/** A page of a room's timeline in topological order. */
export interface RoomEventsPage {
  readonly events: readonly StoredEvent[];
  /** The position after the last event returned (to continue from), or the `from` given when none was. */
  readonly next: RoomPosition;
}

/** Bounds of a stream read: from < position <= to. */
export interface StreamRange {
  readonly from: StreamOrdering;
  readonly to: StreamOrdering;
  readonly limit: number;
}

/** One row of the current-state stream. */
export interface CurrentStateChange {
  readonly streamOrdering: StreamOrdering;
  readonly roomId: RoomId;
  readonly type: string;
  readonly stateKey: string;
  /** null: the key was removed from current state. */
  readonly eventId: EventId | null;
  readonly prevEventId: EventId | null;
}

/** One row of the membership stream: a user's current membership in a room changed. */
export interface MembershipChange {
  readonly streamOrdering: StreamOrdering;
  readonly roomId: RoomId;
  readonly userId: UserId;
  /** null: the member event left current state (state resolution dropped it). */
  readonly membership: string | null;
  readonly eventId: EventId | null;
}

export interface EventStore {
  /**
   * Persists a batch of events with their state groups, rooms and current-state
   * changes in one transaction: all of it or, on any error, none of it. Events
   * already stored are skipped (reported in `alreadyKnown`), except that an
   * outlier persisted again as a timeline event joins the timeline with a new
   * stream ordering. Writers of different rooms never wait on each other;
   * writers of one room are serialised. Auth events must be stored before, or
   * in the same batch as, the events citing them for the auth-chain index to
   * include them.
   */
  persistEvents(batch: PersistBatch): Promise<PersistResult>;
  /** The stored PDUs among `ids` (rejected and outlier ones included); unknown ids are absent. */
  getEvents(ids: readonly EventId[]): Promise<ReadonlyMap<EventId, StoredEvent>>;
  /** Shorthand for getEvents, PDUs only. */
  getPdus(ids: readonly EventId[]): Promise<ReadonlyMap<EventId, Pdu>>;
  /** Which of `ids` are stored. */
  haveEvents(ids: readonly EventId[]): Promise<ReadonlySet<EventId>>;
  /**
   * The forward stream position up to which every write has committed: a
   * reader that reads up to it and continues from it never skips an event
   * that a slower writer commits later. 0 when there are no events.
   */
  maxStreamOrdering(): Promise<StreamOrdering>;
  /** Visible timeline events of a room with from < stream ordering <= to, ascending, at most `limit`. */
  getRoomEventsBetween(roomId: RoomId, from: StreamOrdering, to: StreamOrdering, limit: number): Promise<readonly StoredEvent[]>;
  /**
   * The latest visible timeline events of each room in (from, to], newest
   * first, at most `limit` per room (a /sync timeline; more than `limit` means
   * the timeline is limited). Rooms without events are absent.
   */
  getRoomsRecentEvents(roomIds: readonly RoomId[], range: StreamRange): Promise<ReadonlyMap<RoomId, readonly StoredEvent[]>>;
  /** Visible timeline events of all rooms in (from, to], ascending, at most `limit` (the whole stream, for notifiers and senders). */
  getStreamEvents(range: StreamRange): Promise<readonly StoredEvent[]>;
  /**
   * A room's visible timeline in topological order from `from` (exclusive):
   * backwards ("b", newest first) or forwards ("f", oldest first), stopping
   * before `to` when given, at most `limit`. Backfilled history is included.
   */
  getRoomEventsTopological(roomId: RoomId, opts: { from: RoomPosition; to?: RoomPosition; direction: "b" | "f"; limit: number }): Promise<RoomEventsPage>;
  /**
   * The visible timeline event of a room closest to `ts` (origin_server_ts) in direction `dir`: the latest at or
   * before it ("b") or the earliest at or after it ("f"); ties go to the later (b) or earlier (f) stream position.
   * null when there is none (/timestamp_to_event).
   */
  getEventNearTimestamp(roomId: RoomId, ts: number, dir: "b" | "f"): Promise<{ readonly eventId: EventId; readonly originServerTs: number } | null>;
  /** The position of a stored event in its room's topological order, or null. */
  getRoomPosition(eventId: EventId): Promise<RoomPosition | null>;
  /** Marks stored events soft-failed (and no longer forward extremities). */
  markSoftFailed(ids: readonly EventId[]): Promise<void>;
  /** Marks stored events rejected with a reason (and no longer forward extremities). */
  markRejected(ids: readonly EventId[], reason: string): Promise<void>;
  /**
   * The auth chain of the given events (their auth events, transitively,
   * excluding the events themselves) as far as it is stored.
   */
  getAuthChainIds(ids: readonly EventId[]): Promise<ReadonlySet<EventId>>;
  /**
   * Each event's own auth chain (as getAuthChainIds, per event), to preload
   * core/state-res's AuthChainCache in one round trip. Every id is a key;
   * an event not stored maps to an empty set.
   */
  getAuthChains(ids: readonly EventId[]): Promise<ReadonlyMap<EventId, ReadonlySet<EventId>>>;
  /**
   * The auth difference of state sets (the union of their full auth chains,
   * the sets' own events included, minus the intersection, as
   * core/state-res's authDifference defines it), from the chain cover index.
   */
  getAuthChainDifference(stateSets: readonly (readonly EventId[])[]): Promise<ReadonlySet<EventId>>;
}

export interface StateStore {
  /** The state groups before and after a stored event, or null when it has none. */
  getEventStateGroups(eventId: EventId): Promise<{ readonly before: StateGroupId; readonly after: StateGroupId } | null>;
  /** The whole state of a group; empty for an unknown group. */
  getStateGroup(group: StateGroupId): Promise<StateMap>;
  /** Several groups' states in one call (shared lineages are read once). */
  getStateGroups(groups: readonly StateGroupId[]): Promise<ReadonlyMap<StateGroupId, StateMap>>;
  /** The state before (or after) an event; null when the event has no state group. */
  getStateAtEvent(eventId: EventId, when?: "before" | "after"): Promise<StateMap | null>;
  /** One entry of the state before (or after) an event: the event id, null when absent or when the event has no state. */
  getStateEventAt(eventId: EventId, type: string, stateKey: string, when?: "before" | "after"): Promise<EventId | null>;
  /** What changed from group `from` to group `to`: keys set (to their new event) and keys removed. */
  getStateGroupDelta(from: StateGroupId, to: StateGroupId): Promise<{ readonly set: StateMap; readonly remove: readonly StateKey[] }>;
}

export interface RoomStore {
  getRoom(roomId: RoomId): Promise<RoomRecord | null>;
  /** The room's current state; empty when the room is unknown. */
  getCurrentState(roomId: RoomId): Promise<StateMap>;
  /** One current state entry, or null. */
  getCurrentStateEventId(roomId: RoomId, type: string, stateKey: string): Promise<EventId | null>;
  /** Rooms where the user's current membership is `membership`, ordered by room id. */
  getRoomsForUser(userId: UserId, membership: string): Promise<readonly RoomId[]>;
  /** The room's forward extremities (accepted, not soft-failed timeline events with no such child), ordered by id. */
  getForwardExtremities(roomId: RoomId): Promise<readonly EventId[]>;
  /** Current-state changes in (from, to], ascending, of the given rooms (all rooms when absent), at most `limit`. */
  getCurrentStateChanges(range: StreamRange, roomIds?: readonly RoomId[]): Promise<readonly CurrentStateChange[]>;
  /** Membership changes of one user in (from, to], ascending, at most `limit`. */
  getMembershipChanges(userId: UserId, range: StreamRange): Promise<readonly MembershipChange[]>;
}

// ---------------------------------------------------------------------------
// What the client API keeps about rooms beside their events (migration 0005):
// aliases, the published directory, client transaction ids, forgotten rooms.
// ---------------------------------------------------------------------------

export interface RoomAliasRecord {
  readonly alias: RoomAlias;
  readonly roomId: RoomId;
  readonly creator: UserId;
}

/** A client transaction: PUT /send and /redact are idempotent per (user, device, endpoint, room, txn id). */
export interface ClientTxnKey {
  readonly userId: UserId;
  readonly deviceId: string;
  readonly endpoint: "send" | "redact";
  readonly roomId: RoomId;
  readonly txnId: string;
}

export interface RoomClientStore {
  /** Creates a local alias; UniqueViolationError("room alias") when it exists (nothing is written). */
  createAlias(record: RoomAliasRecord, nowTs: number): Promise<void>;
  getAlias(alias: RoomAlias): Promise<RoomAliasRecord | null>;
  /** True when the alias existed. */
  deleteAlias(alias: RoomAlias): Promise<boolean>;
  /** The room's local aliases, ordered. */
  getAliasesForRoom(roomId: RoomId): Promise<readonly RoomAlias[]>;
  /** Publishes the room in the public room directory, or withdraws it. */
  setPublished(roomId: RoomId, published: boolean, nowTs: number): Promise<void>;
  isPublished(roomId: RoomId): Promise<boolean>;
  /** Published rooms, ordered by room id. */
  getPublishedRooms(): Promise<readonly RoomId[]>;
  /** The event a client transaction created, or null. */
  getClientTxn(key: ClientTxnKey): Promise<EventId | null>;
  /** Records the transaction's event; when one is recorded already it is kept and returned. */
  recordClientTxn(key: ClientTxnKey, eventId: EventId, nowTs: number): Promise<EventId>;
  /** Current members of a room with the given membership, ordered by user id. */
  getRoomMembers(roomId: RoomId, membership: string): Promise<readonly UserId[]>;
  /** How many members of each room have this membership now (rooms with none map to 0). */
  countRoomMembers(roomIds: readonly RoomId[], membership: string): Promise<ReadonlyMap<RoomId, number>>;
  /** Records that `redactionId` redacts `redacts` (an accepted m.room.redaction). */
  recordRedaction(redacts: EventId, redactionId: EventId): Promise<void>;
  /** For each of `ids` that was redacted, the first redaction event (by id order). */
  getRedactions(ids: readonly EventId[]): Promise<ReadonlyMap<EventId, EventId>>;
  setForgotten(userId: UserId, roomId: RoomId, forgotten: boolean): Promise<void>;
  isForgotten(userId: UserId, roomId: RoomId): Promise<boolean>;
}

// ---------------------------------------------------------------------------
// Local users, profiles, devices and access tokens.
// ---------------------------------------------------------------------------

export interface UserRecord {
  readonly userId: UserId;
  /** null: no password login (e.g. an appservice or SSO-only user). */
  readonly passwordHash: string | null;
  readonly createdTs: number;
  readonly admin: boolean;
  readonly deactivated: boolean;
}

export interface ProfileRecord {
  readonly displayname: string | null;
  readonly avatarUrl: string | null;
}

export interface DeviceRecord {
  readonly userId: UserId;
  readonly deviceId: string;
  readonly displayName: string | null;
  readonly createdTs: number;
  readonly lastSeenTs: number | null;
  /** The client address of the last login on this device. */
  readonly lastSeenIp: string | null;
}

export interface AccessTokenOwner {
  readonly userId: UserId;
  readonly deviceId: string;
  /** null: the token does not expire. */
  readonly validUntilTs: number | null;
  readonly deactivated: boolean;
  /** The token was minted by /refresh and has not been used yet: its first use retires the refresh token it replaced. */
  readonly replacesRefreshToken: boolean;
}

export interface NewUser {
  readonly userId: UserId;
  readonly passwordHash: string | null;
  readonly createdTs: number;
  readonly admin?: boolean;
  /** Initial profile (defaults to the localpart as Synapse does when the caller passes it). */
  readonly displayname?: string | null;
}

export interface NewLogin {
  readonly userId: UserId;
  readonly deviceId: string;
  /** Kept when the device exists already. */
  readonly deviceDisplayName?: string | null;
  /** The opaque access token; storage keeps only its SHA-256. */
  readonly accessToken: string;
  /** A refresh token issued with the access token (stored hashed too). */
  readonly refreshToken?: string;
  readonly validUntilTs?: number | null;
  /** The client's address, kept as the device's last_seen_ip. */
  readonly ip?: string;
  readonly nowTs: number;
}

export interface RefreshRequest {
  /** The refresh token the client presents. */
  readonly refreshToken: string;
  readonly newAccessToken: string;
  readonly newRefreshToken: string;
  readonly validUntilTs: number | null;
  readonly nowTs: number;
}

export interface UserStore {
  /**
   * Creates the user and its profile, and with `login` its first device and access token, in one transaction.
   * UniqueViolationError("user") when the id is taken (nothing is written).
   */
  createUser(user: NewUser, login?: NewLogin): Promise<void>;
  getUser(userId: UserId): Promise<UserRecord | null>;
  /**
   * Sets the password hash; with `logout`, also deletes every device (and its tokens) of the user but
   * `logout.keepDeviceId` (null: all of them), in the same transaction.
   */
  setPasswordHash(userId: UserId, passwordHash: string | null, logout?: { readonly keepDeviceId: string | null }): Promise<void>;
  /** Marks the user deactivated and deletes its devices, access and refresh tokens. */
  deactivateUser(userId: UserId): Promise<void>;
  getProfile(userId: UserId): Promise<ProfileRecord | null>;
  /** Changes the given fields only (absent fields are kept). */
  setProfile(userId: UserId, profile: Partial<ProfileRecord>): Promise<void>;
  /**
   * Creates (or reuses) the device and records a new access token (and refresh token) for it; the device's
   * previous tokens are revoked, as the spec asks of a login naming an existing device_id.
   * UniqueViolationError("access token") if the token exists (nothing is written).
   */
  createLogin(login: NewLogin): Promise<void>;
  /** Who holds the token, or null for an unknown token. */
  getAccessTokenOwner(accessToken: string): Promise<AccessTokenOwner | null>;
  /** The first use of a token minted by /refresh: revokes the refresh token it replaced and clears the mark. */
  retireReplacedRefreshToken(accessToken: string): Promise<void>;
  /**
   * /refresh: for a known refresh token, issues the new access and refresh tokens on the same device, revokes the
   * access tokens issued with the old refresh token, and keeps the old refresh token until the new pair is used.
   * null (and nothing written) when the refresh token is unknown.
   */
  refreshLogin(request: RefreshRequest): Promise<{ readonly userId: UserId; readonly deviceId: string } | null>;
  /** Logout: deletes the token only (true when it existed). */
  deleteAccessToken(accessToken: string): Promise<boolean>;
  /** Deletes the device and its access and refresh tokens (true when it existed). */
  deleteDevice(userId: UserId, deviceId: string): Promise<boolean>;
  /** Deletes these devices and their tokens in one transaction; unknown ids are ignored. Returns how many existed. */
  deleteDevices(userId: UserId, deviceIds: readonly string[]): Promise<number>;
  /** /logout/all: every device and token of the user. Returns how many devices existed. */
  deleteAllDevices(userId: UserId): Promise<number>;
  getDevice(userId: UserId, deviceId: string): Promise<DeviceRecord | null>;
  getDevices(userId: UserId): Promise<readonly DeviceRecord[]>;
  /** Renames a device (null clears the name); false when the device does not exist. */
  setDeviceDisplayName(userId: UserId, deviceId: string, displayName: string | null): Promise<boolean>;
  touchDevice(userId: UserId, deviceId: string, lastSeenTs: number): Promise<void>;
}

// ---------------------------------------------------------------------------
// Federation bookkeeping.
// ---------------------------------------------------------------------------

export interface StoredTransactionResponse {
  readonly response: JsonObject;
  readonly receivedTs: number;
}

export interface TransactionStore {
  /** The response we gave to (origin, txnId), or null when we have not seen it. */
  getTransactionResponse(origin: ServerName, txnId: string): Promise<StoredTransactionResponse | null>;
  /**
   * Records the response. When a response is stored already (a concurrent
   * duplicate finished first) it is kept, and that earlier response is returned.
   */
  storeTransactionResponse(origin: ServerName, txnId: string, response: JsonObject, receivedTs: number): Promise<StoredTransactionResponse>;
  /** Deletes records received before `beforeTs`; returns how many. */
  purgeTransactionsBefore(beforeTs: number): Promise<number>;
}

/** Outbound state of one remote server. */
export interface DestinationState {
  readonly destination: ServerName;
  /** When the current failure streak began; null when the last attempt succeeded. */
  readonly failureTs: number | null;
  /** Last attempt of the current streak. */
  readonly retryLastTs: number | null;
  /** Current back-off interval; 0 when healthy. */
  readonly retryIntervalMs: number;
  /** Our stream ordering of the last event we know the destination received (for catch-up). */
  readonly lastSuccessfulStreamOrdering: StreamOrdering | null;
}

export interface DestinationStore {
  getDestination(destination: ServerName): Promise<DestinationState | null>;
  /** Records a failed attempt: keeps failureTs if a streak is running, sets retryLastTs and the new interval. */
  recordFailure(destination: ServerName, nowTs: number, retryIntervalMs: number): Promise<DestinationState>;
  /** Clears the failure streak. */
  recordSuccess(destination: ServerName): Promise<void>;
  setLastSuccessfulStreamOrdering(destination: ServerName, ordering: StreamOrdering): Promise<void>;
  /** Destinations in a failure streak whose back-off has run out at `nowTs`. */
  getDestinationsDueForRetry(nowTs: number, limit: number): Promise<readonly DestinationState[]>;
}

/** A transaction to one destination, stored before its first attempt: a retry sends exactly this again. */
export interface OutboundTransaction {
  readonly destination: ServerName;
  readonly txnId: string;
  readonly originServerTs: number;
  /** The PDUs' wire JSON, in stream order, with their orderings. */
  readonly pdus: readonly { readonly eventId: EventId; readonly streamOrdering: StreamOrdering; readonly json: JsonObject }[];
  readonly edus: readonly JsonObject[];
}

export interface OutboundLimits {
  readonly maxPdus: number;
  readonly maxEdus: number;
}

/** What `zion debug destinations` shows of one destination. */
export interface DestinationSummary extends DestinationState {
  readonly queuedPdus: number;
  readonly queuedEdus: number;
  /** The transaction built and not yet acknowledged. */
  readonly inFlightTxnId: string | null;
  readonly lastSuccessTs: number | null;
  readonly lastError: string | null;
}

/** The federation sender's durable queue (PDU rows come from EventStore.persistEvents' `outbound`). */
export interface OutboundStore {
  /** Queues one EDU for each destination, in one transaction. */
  enqueueEdus(destinations: readonly ServerName[], edu: JsonObject): Promise<void>;
  /**
   * The destination's transaction to (re)send: the stored one when there is one, else a new one built from the
   * oldest queued PDUs and EDUs (plus `extraEdus`, EDUs the sender kept in memory) within the limits, stored with a
   * fresh id before it is returned. Null when nothing is queued.
   */
  nextTransaction(destination: ServerName, limits: OutboundLimits, nowTs: number, extraEdus?: readonly JsonObject[]): Promise<OutboundTransaction | null>;
  /** The destination acknowledged `txnId`: its rows go, the failure streak ends, the last success is recorded. */
  completeTransaction(destination: ServerName, txnId: string, nowTs: number): Promise<void>;
  /** A failed attempt with its reason (DestinationStore.recordFailure plus the last error). */
  recordFailure(destination: ServerName, nowTs: number, retryIntervalMs: number, reason: string): Promise<DestinationState>;
  /**
   * Catch-up: drops the destination's queued PDUs (not in a transaction) except, per room, the newest queued one and
   * those that are forward extremities; the remote fetches the gap with /get_missing_events. Returns how many went.
   */
  keepOnlyNewestPerRoom(destination: ServerName): Promise<number>;
  /** How many PDUs wait for the destination outside its transaction. */
  queuedPduCount(destination: ServerName): Promise<number>;
  /** Destinations with anything queued or in flight (to resume at start-up). */
  destinationsWithQueue(): Promise<readonly ServerName[]>;
  /** Every known destination with its queue and back-off, by name. */
  listDestinations(): Promise<readonly DestinationSummary[]>;
}

// ---------------------------------------------------------------------------
// The whole storage.
// ---------------------------------------------------------------------------

export interface MigrationStatus {
  /** Highest applied migration version (0 when none). */
  readonly current: number;
  /** Highest migration version this build knows. */
  readonly latest: number;
  /** Names of migrations this build knows that are not applied. */
  readonly pending: readonly string[];
  /** Applied versions this build does not know (a newer Zion wrote the schema). */
  readonly unknown: readonly number[];
}

export type StorageBackend = "sqlite" | "postgres";

export interface Storage {
  readonly backend: StorageBackend;
  readonly keys: KeyStore;
  readonly events: EventStore;
  readonly state: StateStore;
  readonly rooms: RoomStore;
  readonly roomClient: RoomClientStore;
  readonly users: UserStore;
  readonly transactions: TransactionStore;
  readonly destinations: DestinationStore;
  readonly outbound: OutboundStore;
  /** Applies pending migrations (the factories do this at open unless told not to). Returns the names applied. */
  migrate(): Promise<readonly string[]>;
  migrationStatus(): Promise<MigrationStatus>;
  /** True when every known migration is applied and none unknown (the doctor's check). */
  isMigrated(): Promise<boolean>;
  /** A round trip to the database; throws StorageUnavailableError when it fails. */
  ping(): Promise<void>;
  /** Closes connections; later calls throw StorageUnavailableError. */
  close(): Promise<void>;
}
