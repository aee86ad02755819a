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
import type { JsonObject, JsonValue } from "../core/json/types.js";

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
  /**
   * The client transaction (PUT /send, /redact) that created the batch's event, recorded in the same
   * transaction as the events: a crash cannot leave the event without its record (a retry would then make a
   * second event) nor the record without its event. A record for the key exists already: UniqueViolationError
   * ("client transaction") and nothing of the batch is written.
   */
  readonly clientTxn?: { readonly key: ClientTxnKey; readonly eventId: EventId };
  /** More client transactions, one per event, as `clientTxn` (several sends of one room written together). */
  readonly clientTxns?: readonly { readonly key: ClientTxnKey; readonly eventId: EventId }[];
  /**
   * Out-of-band memberships (migration 0012): a local user's invite, leave or knock in a room this server does not
   * hold. Each enters current_memberships and the membership stream at the batch's forward position (so /sync sees
   * it), never the room's state; its member event must be in the batch (as an outlier) or stored already.
   */
  readonly outOfBand?: readonly OutOfBandMembership[];
  /**
   * Push actions of the batch's events for local users (migration 0018, rooms/push-actions.ts): stored in the same
   * transaction for each event the batch writes to the timeline (forward, neither rejected nor soft-failed);
   * actions of events stored already, outliers and backfill are dropped.
   */
  readonly pushActions?: readonly PushActionToStore[];
  /**
   * A room joined with members omitted (migration 0021, rooms/partial-state.ts): recorded in the join's transaction
   * (a row for the room already is replaced).
   */
  readonly partialStateJoin?: PartialStateRoom;
  /**
   * The completion of a partial-state room: every snapshot state group of the room gains the `fill` keys it lacks
   * (keys it has are kept), so the state of the join and of every event since (their groups derive from those
   * snapshots) holds the members that were omitted; the room's partial-state record is marked complete at the
   * batch's forward position (getPartialStateCompletions). Current state is changed as usual through `state`.
   */
  readonly partialStateComplete?: { readonly roomId: RoomId; readonly fill: StateMap };
  /**
   * The answer to an inbound /send transaction (TransactionStore), recorded in the same transaction as the events
   * it answers for: a crash leaves both or neither (a retransmission is then processed again), and the transaction
   * costs one commit. An answer stored already for (origin, txnId) (a concurrent duplicate committed first) is kept;
   * PersistResult.inboundTxn is the answer that stands.
   */
  readonly inboundTxn?: { readonly origin: ServerName; readonly txnId: string; readonly response: JsonObject };
}

/** A room joined with members omitted, until its state is complete (migration 0021). */
export interface PartialStateRoom {
  readonly roomId: RoomId;
  /** Our join, whose state before the completion fetches (/state_ids?event_id=). */
  readonly joinEventId: EventId;
  /** send_join's servers_in_room: whom to ask, and where the room's events go meanwhile. */
  readonly serversInRoom: readonly ServerName[];
  readonly joinedTs: number;
}

/** What one local user's push rules said of one event: it notifies (only those are stored), maybe highlights. */
export interface PushActionToStore {
  readonly eventId: EventId;
  readonly userId: UserId;
  /** The m.thread root, or null for the main timeline. */
  readonly threadId: string | null;
  readonly highlight: boolean;
  readonly actions: readonly JsonValue[];
}

/** A stored push action (migration 0018). */
export interface StoredPushAction {
  readonly userId: UserId;
  readonly roomId: RoomId;
  readonly eventId: EventId;
  readonly streamOrdering: StreamOrdering;
  readonly threadId: string | null;
  readonly highlight: boolean;
  readonly actions: readonly JsonValue[];
}

/** Notification and highlight counts of stored push actions. */
export interface PushActionCounts {
  readonly notifications: number;
  readonly highlights: number;
}

export interface PushActionStore {
  /**
   * Counts of the user's push actions in the room with from < stream ordering <= to, per thread (null: the main
   * timeline); threads with none are absent. `threadId` given: only that thread (null: only the main timeline).
   */
  countByThread(userId: UserId, roomId: RoomId, from: StreamOrdering, to: StreamOrdering, threadId?: string | null): Promise<ReadonlyMap<string | null, PushActionCounts>>;
  /** The user's push actions with from < stream ordering <= to, oldest first, at most `limit`. */
  listAfter(userId: UserId, from: StreamOrdering, to: StreamOrdering, limit: number): Promise<readonly StoredPushAction[]>;
  /** The user's push actions with stream ordering < before, newest first, at most `limit`; `onlyHighlight` keeps highlights. */
  listBefore(userId: UserId, before: StreamOrdering, limit: number, onlyHighlight: boolean): Promise<readonly StoredPushAction[]>;
  /** The highest stream ordering of any stored push action of the user (0: none). */
  maxOrdering(userId: UserId): Promise<StreamOrdering>;
}

export interface OutOfBandMembership {
  readonly roomId: RoomId;
  readonly userId: UserId;
  readonly membership: string;
  readonly eventId: EventId;
  /** The stripped state the remote server sent with an invite (invite_room_state) or knock (knock_room_state). */
  readonly strippedState?: readonly JsonObject[];
}

/** A user's current membership of a room as /sync lists it (current_memberships), with its stripped state when out of band. */
export interface MembershipRecord {
  readonly membership: string;
  readonly eventId: EventId;
  /** Present for out-of-band invites and knocks: what the remote server sent. */
  readonly strippedState: readonly JsonObject[] | null;
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
  /** With PersistBatch.inboundTxn: the stored answer (this batch's, or one a concurrent duplicate stored first). */
  readonly inboundTxn?: StoredTransactionResponse;
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
  /**
   * The entries `keys` of the state before (or after) each of `eventIds`, in one read (what history visibility
   * needs for a page of events: m.room.history_visibility and the reader's m.room.member at each). Every event
   * with a state maps to the keys present in it (absent keys left out); events without a state are left out.
   */
  getStateEntriesAt(eventIds: readonly EventId[], keys: readonly StateKey[], when?: "before" | "after"): Promise<ReadonlyMap<EventId, StateMap>>;
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
  /** The user's current membership of the room (also out-of-band ones, of rooms not held), or null. */
  getMembership(roomId: RoomId, userId: UserId): Promise<MembershipRecord | null>;
  /** The room's forward extremities (accepted, not soft-failed timeline events with no such child), ordered by id. */
  getForwardExtremities(roomId: RoomId): Promise<readonly EventId[]>;
  /** Current-state changes in (from, to], ascending, of the given rooms (all rooms when absent), at most `limit`. */
  getCurrentStateChanges(range: StreamRange, roomIds?: readonly RoomId[]): Promise<readonly CurrentStateChange[]>;
  /** Membership changes of one user in (from, to], ascending, at most `limit`. */
  getMembershipChanges(userId: UserId, range: StreamRange): Promise<readonly MembershipChange[]>;
  /** The room's partial-state record (joined with members omitted, not yet complete), or null (migration 0021). */
  getPartialStateRoom(roomId: RoomId): Promise<PartialStateRoom | null>;
  /** Every partial-state room, by room id (completion resumes them at start-up). */
  listPartialStateRooms(): Promise<readonly PartialStateRoom[]>;
  /** Rooms whose partial state was completed at a stream position in (from, to], in that order, at most `limit` (/sync). */
  getPartialStateCompletions(range: StreamRange): Promise<readonly RoomId[]>;
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
  /**
   * Records the transaction's event; when one is recorded already it is kept and returned. Writers of events
   * record through PersistBatch.clientTxn instead, in the event's own transaction.
   */
  recordClientTxn(key: ClientTxnKey, eventId: EventId, nowTs: number): Promise<EventId>;
  /**
   * The txn ids with which one device of a user created any of `eventIds` (migration 0024 indexes the events), for
   * unsigned.transaction_id: events the device did not send through a client transaction are left out.
   */
  getClientTxnIds(userId: UserId, deviceId: string, eventIds: readonly EventId[]): Promise<ReadonlyMap<EventId, string>>;
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
// Relations between events (migration 0010), derived from PDUs by persistEvents.
// ---------------------------------------------------------------------------

/** A page of /relations: the children of one event (and theirs, with recursion). */
export interface RelationQuery {
  /** Only relations of this rel_type (at the last hop, with recursion). */
  readonly relType?: string;
  /** Only child events of this type. */
  readonly eventType?: string;
  /** Where the page starts (excluded); default the end for "b", the start for "f". */
  readonly from?: RoomPosition;
  /** Where it stops (excluded). */
  readonly to?: RoomPosition;
  readonly direction: "b" | "f";
  readonly limit: number;
  /** 1: direct children only; n: children up to n relations away. */
  readonly depth: number;
}

export interface ThreadSummary {
  /** Timeline events in the thread (m.thread relations to the root), shown to clients. */
  readonly count: number;
  /** The thread's events, newest first by topological order, at most the `latest` asked for. */
  readonly latest: readonly EventId[];
  /** Whether the user sent the root or an event in the thread. */
  readonly participated: boolean;
}

export interface RelationStore {
  /**
   * Timeline events (not outliers, rejected or soft-failed) that relate to `eventId` in `roomId`, in topological
   * order, and the position after the last (null when there are no more).
   */
  getRelations(roomId: RoomId, eventId: EventId, q: RelationQuery): Promise<{ readonly events: readonly StoredEvent[]; readonly next: RoomPosition | null }>;
  /**
   * The room's thread roots, most recently active first, from `from` (excluded; a position of a thread's latest
   * event); with `participant`, only threads that user started or wrote in. `next` is null when there are no more.
   */
  getThreads(roomId: RoomId, opts: { readonly participant?: UserId; readonly from?: RoomPosition; readonly limit: number }): Promise<{
    readonly roots: readonly EventId[];
    readonly next: RoomPosition | null;
  }>;
  /** For each of `rootIds` with at least one event in its thread, the thread's summary for `userId`. */
  getThreadSummaries(rootIds: readonly EventId[], userId: UserId, latest: number): Promise<ReadonlyMap<EventId, ThreadSummary>>;
  /** For each of `ids`, the timeline events with an m.replace relation to it, ordered by id (the caller validates). */
  getReplacements(ids: readonly EventId[]): Promise<ReadonlyMap<EventId, readonly EventId[]>>;
  /**
   * Timeline events of the room nearest to `ts` in direction `dir` (f: origin_server_ts >= ts ascending; b: <= ts
   * descending), at most `limit`.
   */
  getEventsNearTimestamp(roomId: RoomId, ts: number, dir: "f" | "b", limit: number): Promise<readonly { readonly eventId: EventId; readonly originServerTs: number }[]>;
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
   * UniqueViolationError("access token") if the token exists (nothing is written). A new device takes a
   * device-list position for the user in the same transaction (E2eeStore.deviceListChangesSince), as a deleted one
   * does; true when the device is new.
   */
  createLogin(login: NewLogin): Promise<boolean>;
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
// End-to-end encryption, to-device messages, account data, filters and key backup (local users).
//
// Three per-user streams, each with its own position (1, 2, 3, ... with no gaps once committed, 0 before the
// first write): device lists, to-device messages and account data. A position is handed out inside the writing
// transaction and its counter row stays locked until commit, so a reader that sees position N sees every write at
// or below N. Sync combines them with the other streams into one composite token (docs/client-api.md).
// ---------------------------------------------------------------------------

/** A position in one of the per-user streams (device lists, to-device, account data). */
export type UserStreamPosition = number;

/** The one-time and fallback keys a device uploads; `keyId` is "algorithm:id" as on the wire. */
export interface UploadedKey {
  readonly algorithm: string;
  readonly keyId: string;
  readonly key: JsonObject | string;
}

export interface KeysUpload {
  readonly userId: UserId;
  readonly deviceId: string;
  /** The device's device_keys object (signature already checked); replaces the stored one. */
  readonly deviceKeys?: JsonObject;
  readonly oneTimeKeys?: readonly UploadedKey[];
  /** Replaces the device's fallback key of that algorithm (one per algorithm), unused again. */
  readonly fallbackKeys?: readonly UploadedKey[];
}

/** Why an upload was refused: a one-time key id the device uploaded before with other content. */
export class KeyConflictError extends StorageError {
  constructor(readonly keyId: string, message: string) {
    super(message);
    this.name = "KeyConflictError";
  }
}

export interface KeyClaim {
  readonly userId: UserId;
  readonly deviceId: string;
  readonly algorithm: string;
}

export interface ClaimedKey extends KeyClaim {
  readonly keyId: string;
  readonly key: JsonObject | string;
  /** True when no one-time key was left and the device's fallback key was handed out. */
  readonly fallback: boolean;
}

export type CrossSigningKeyType = "master" | "self_signing" | "user_signing";

export interface CrossSigningKeyRecord {
  readonly type: CrossSigningKeyType;
  /** The ed25519 public key (unpadded base64), the one entry of `keys`. */
  readonly publicKey: string;
  /** The key object as uploaded, signatures included. */
  readonly key: JsonObject;
}

/** A signature from /keys/signatures/upload: `signer` signed the target key (a device id or a cross-signing key). */
export interface KeySignature {
  readonly targetUserId: UserId;
  /** A device id, or the public key of a cross-signing key. */
  readonly targetKeyId: string;
  readonly signerUserId: UserId;
  /** "ed25519:<public key or device id>". */
  readonly signerKeyId: string;
  readonly signature: string;
}

export interface DeviceListChange {
  readonly userId: UserId;
  readonly position: UserStreamPosition;
}

export interface E2eeStore {
  /**
   * Stores a /keys/upload in one transaction and returns the device's one-time key counts after it. New or changed
   * device keys add a device-list change. KeyConflictError (nothing written) when a one-time key id is known with
   * other content; the same key again is ignored.
   */
  uploadKeys(upload: KeysUpload): Promise<Readonly<Record<string, number>>>;
  /** Unclaimed one-time keys of a device, by algorithm (algorithms with none are absent). */
  oneTimeKeyCounts(userId: UserId, deviceId: string): Promise<Readonly<Record<string, number>>>;
  /** The algorithms whose fallback key has not been handed out yet, sorted. */
  unusedFallbackKeyTypes(userId: UserId, deviceId: string): Promise<readonly string[]>;
  /**
   * device_keys of the given users (all devices when `deviceIds` is empty), with signatures from
   * /keys/signatures/upload merged in. Users or devices without keys are absent.
   */
  getDeviceKeys(query: readonly { readonly userId: UserId; readonly deviceIds: readonly string[] }[]): Promise<ReadonlyMap<UserId, ReadonlyMap<string, JsonObject>>>;
  /**
   * Claims one key per request, in one transaction: a one-time key (deleted, so each is handed out exactly once,
   * also to concurrent claimers), else the fallback key (marked used). Requests with neither are absent.
   */
  claimKeys(claims: readonly KeyClaim[]): Promise<readonly ClaimedKey[]>;
  /** The users' cross-signing keys with /keys/signatures/upload signatures merged in. */
  getCrossSigningKeys(userIds: readonly UserId[]): Promise<ReadonlyMap<UserId, ReadonlyMap<CrossSigningKeyType, CrossSigningKeyRecord>>>;
  /** Replaces the given cross-signing keys of the user and adds a device-list change, in one transaction. */
  setCrossSigningKeys(userId: UserId, keys: readonly CrossSigningKeyRecord[]): Promise<void>;
  /** Stores signatures (replacing one from the same signer key) and adds a device-list change per target user. */
  addSignatures(signatures: readonly KeySignature[]): Promise<void>;
  /** Adds a device-list change for the user (a device was added, renamed or deleted). */
  markDeviceListChanged(userId: UserId): Promise<UserStreamPosition>;
  /** Device-list changes with from < position <= to, one entry per user (its latest), ascending. */
  deviceListChangesSince(from: UserStreamPosition, to: UserStreamPosition): Promise<readonly DeviceListChange[]>;
  /** The latest device-list position (0 before any change). */
  maxDeviceListPosition(): Promise<UserStreamPosition>;
}

/** One to-device message addressed to one device (or "*": every device of the user when it is sent). */
export interface ToDeviceMessage {
  readonly userId: UserId;
  readonly deviceId: string;
  /** {type, sender, content}, as /sync delivers it. */
  readonly message: JsonObject;
}

export interface ToDeviceStore {
  /**
   * Queues the messages unless the sender's device used `txnId` already, in one transaction. "*" is expanded to
   * the user's devices at that moment; a device that does not exist gets nothing (nothing would ever read it). Returns false (nothing queued) for a repeated txn id.
   */
  send(sender: { readonly userId: UserId; readonly deviceId: string }, txnId: string, messages: readonly ToDeviceMessage[], nowTs: number): Promise<boolean>;
  /** The device's messages with position > since, oldest first, at most `limit`, and the last position returned (since when none). */
  inbox(userId: UserId, deviceId: string, since: UserStreamPosition, limit: number): Promise<{ readonly messages: readonly JsonObject[]; readonly position: UserStreamPosition }>;
  /** Deletes the device's messages at or below `upTo` (the device has acknowledged them with a later sync token). */
  acknowledge(userId: UserId, deviceId: string, upTo: UserStreamPosition): Promise<number>;
  maxPosition(): Promise<UserStreamPosition>;
}

export interface AccountDataEntry {
  /** null: global account data. */
  readonly roomId: string | null;
  readonly type: string;
  readonly content: JsonObject;
  readonly position: UserStreamPosition;
}

export interface AccountDataStore {
  /** Sets (replaces) one entry; returns its new position. `roomId` null: global. */
  put(userId: UserId, roomId: string | null, type: string, content: JsonObject): Promise<UserStreamPosition>;
  get(userId: UserId, roomId: string | null, type: string): Promise<JsonObject | null>;
  /**
   * Read-modify-write of one entry in one transaction: `change` (pure) gets the current content (null when unset) and
   * returns the new one. Concurrent updates of the same entry apply one after the other (the account_data counter
   * row is locked first), so none is lost (room tags: two PUT /tags at once both stay). An exception `change` throws
   * rolls the transaction back (nothing written) and reaches the caller unchanged.
   */
  update(userId: UserId, roomId: string | null, type: string, change: (current: JsonObject | null) => JsonObject): Promise<UserStreamPosition>;
  /** The user's entries changed after `since`, ascending by position (all of them for since = 0). */
  changesSince(userId: UserId, since: UserStreamPosition): Promise<readonly AccountDataEntry[]>;
  maxPosition(): Promise<UserStreamPosition>;
}

export interface FilterStore {
  /** Stores the filter JSON as given; returns its id ("0", "1", ... per user). */
  create(userId: UserId, filter: JsonObject): Promise<string>;
  get(userId: UserId, filterId: string): Promise<JsonObject | null>;
}

// ---------------------------------------------------------------------------
// Sync's persisted ephemeral streams (migration 0006): receipts, presence, push rules. Positions come from the
// same per-user stream counters as above.
// ---------------------------------------------------------------------------

/** One user's latest receipt of a type in a room (and thread). */
export interface ReceiptRecord {
  readonly roomId: RoomId;
  /** "m.read" or "m.read.private". */
  readonly receiptType: string;
  readonly userId: UserId;
  /** null: unthreaded; "main" or a thread root's event id otherwise. */
  readonly threadId: string | null;
  readonly eventId: EventId;
  readonly ts: number;
  readonly position: UserStreamPosition;
}

export interface ReceiptStore {
  /** Sets the user's receipt of that type and thread in the room (replacing the previous one); returns its position. */
  put(r: Omit<ReceiptRecord, "position">): Promise<UserStreamPosition>;
  /** Receipts of the rooms changed with since < position <= to, ascending (all of them for since = 0). */
  changesSince(roomIds: readonly RoomId[], since: UserStreamPosition, to: UserStreamPosition): Promise<readonly ReceiptRecord[]>;
  /** The user's receipt of a type in a room (unthreaded when threadId is null), or null. */
  get(roomId: RoomId, userId: UserId, receiptType: string, threadId: string | null): Promise<ReceiptRecord | null>;
  maxPosition(): Promise<UserStreamPosition>;
}

export interface PresenceRecord {
  readonly userId: UserId;
  /** "online", "unavailable" or "offline". */
  readonly state: string;
  readonly statusMsg: string | null;
  readonly lastActiveTs: number;
  readonly position: UserStreamPosition;
}

export interface PresenceStore {
  /** Sets a user's presence; returns its position. `statusMsg` undefined keeps the stored one. */
  put(userId: UserId, state: string, statusMsg: string | null | undefined, nowTs: number): Promise<UserStreamPosition>;
  /**
   * Moves a stored presence's last activity to `lastActiveTs` without a new position: a bump no one is told of
   * (src/sync/presence.ts). Nothing when the user has no stored presence.
   */
  touch(userId: UserId, lastActiveTs: number): Promise<void>;
  get(userId: UserId): Promise<PresenceRecord | null>;
  /** The users of `serverName` whose stored presence is not offline (start-up: their offline timers). */
  usersNotOffline(serverName: string): Promise<readonly UserId[]>;
  /** Presence of the users changed with since < position <= to. */
  changesSince(userIds: readonly UserId[], since: UserStreamPosition, to: UserStreamPosition): Promise<readonly PresenceRecord[]>;
  maxPosition(): Promise<UserStreamPosition>;
}

export interface PushRulesStore {
  /** The user's stored rules as core/push's UserPushRules JSON, or null when the user changed none. */
  get(userId: UserId): Promise<JsonObject | null>;
  /** Replaces them; returns the push_rules stream position (sync sends m.push_rules account data after it). */
  put(userId: UserId, rules: JsonObject): Promise<UserStreamPosition>;
  /** The user's rules position (0 when never changed). */
  position(userId: UserId): Promise<UserStreamPosition>;
}

export interface BackupVersionRecord {
  readonly version: string;
  readonly algorithm: string;
  readonly authData: JsonObject;
  readonly etag: string;
  readonly count: number;
}

/** One session's backup data as the spec's KeyBackupData. */
export interface BackupSession {
  readonly roomId: string;
  readonly sessionId: string;
  readonly firstMessageIndex: number;
  readonly forwardedCount: number;
  readonly isVerified: boolean;
  readonly sessionData: JsonObject;
}

/** The version named is not the user's current backup: the spec's M_WRONG_ROOM_KEYS_VERSION. */
export class WrongBackupVersionError extends StorageError {
  constructor(readonly currentVersion: string | null) {
    super(`the current backup version is ${currentVersion ?? "none"}`);
    this.name = "WrongBackupVersionError";
  }
}

export interface KeyBackupStore {
  /** A new version (becomes the current one); returns its number as a string. */
  createVersion(userId: UserId, algorithm: string, authData: JsonObject): Promise<string>;
  /** The named version (or the current one when undefined); null when unknown or deleted. */
  getVersion(userId: UserId, version?: string): Promise<BackupVersionRecord | null>;
  /** Replaces auth_data of an existing version; false when unknown or deleted. */
  updateVersion(userId: UserId, version: string, authData: JsonObject): Promise<boolean>;
  /** Deletes the version and its keys; false when unknown or deleted already. */
  deleteVersion(userId: UserId, version: string): Promise<boolean>;
  /**
   * Stores sessions in the current version with the spec's replacement rules (a verified key beats an unverified
   * one, then the lower first_message_index, then the lower forwarded_count). WrongBackupVersionError when
   * `version` is not current. Returns the new etag and count.
   */
  putKeys(userId: UserId, version: string, sessions: readonly BackupSession[]): Promise<{ readonly etag: string; readonly count: number }>;
  /** Sessions of a version, optionally of one room or one session; [] for an unknown version. */
  getKeys(userId: UserId, version: string, roomId?: string, sessionId?: string): Promise<readonly BackupSession[]>;
  /** Deletes sessions (all, one room's, or one); null when the version is unknown, else the new etag and count. */
  deleteKeys(userId: UserId, version: string, roomId?: string, sessionId?: string): Promise<{ readonly etag: string; readonly count: number } | null>;
}

// ---------------------------------------------------------------------------
// Media repository (docs/media.md): metadata of files stored on disk by content hash.
// ---------------------------------------------------------------------------

export interface MediaRecord {
  /** The server that minted the id (ours for uploads, another for cached remote media). */
  readonly origin: string;
  readonly mediaId: string;
  /** The uploader (local media); null for cached remote media. */
  readonly userId: UserId | null;
  readonly contentType: string | null;
  readonly uploadName: string | null;
  /** SHA-256 (hex) of the bytes; null while an asynchronous upload waits for them. */
  readonly sha256: string | null;
  readonly size: number | null;
  readonly createdTs: number;
  /** When a pending (POST /create) id stops accepting its upload; null once uploaded. */
  readonly expiresTs: number | null;
  /** The admin who quarantined it, or null. */
  readonly quarantinedBy: string | null;
  /** Stored while enable_authenticated_media was on: the legacy unauthenticated endpoints do not serve it. */
  readonly authenticated: boolean;
}

export interface NewMediaContent {
  readonly origin: string;
  readonly mediaId: string;
  readonly userId: UserId | null;
  readonly contentType: string;
  readonly uploadName: string | null;
  readonly sha256: string;
  readonly size: number;
  readonly createdTs: number;
  readonly authenticated: boolean;
}

export interface MediaThumbnailRecord {
  readonly sha256: string;
  readonly width: number;
  readonly height: number;
  readonly method: "crop" | "scale";
  readonly contentType: string;
  readonly size: number;
}

/** What a PUT to a pending id found: done, or why not. */
export type CompletePendingOutcome = "stored" | "unknown" | "already-uploaded" | "not-owner" | "expired";

export interface MediaStore {
  /**
   * POST /create: reserves an id that expires at `expiresTs`. False (nothing written) when the user already holds
   * `maxPending` unexpired pending ids.
   */
  reservePending(r: { origin: string; mediaId: string; userId: UserId; createdTs: number; expiresTs: number; authenticated: boolean }, maxPending: number): Promise<boolean>;
  /**
   * Records an uploaded (or fetched remote) file under a new id and counts one more reference to its bytes, in one
   * transaction. UniqueViolationError("media") when the id exists. True when the bytes were new (refs went 0 -> 1).
   */
  recordMedia(m: NewMediaContent): Promise<boolean>;
  /** PUT /upload/{server}/{id}: fills a pending id of this user (before its expiry) in one transaction. */
  completePending(m: NewMediaContent, nowTs: number): Promise<CompletePendingOutcome>;
  getMedia(origin: string, mediaId: string): Promise<MediaRecord | null>;
  /** How many references the bytes of this hash have (0: no row). */
  contentRefs(sha256: string): Promise<number>;
  getThumbnails(sha256: string): Promise<readonly MediaThumbnailRecord[]>;
  /** Records a generated thumbnail (a second record of the same key is ignored). */
  recordThumbnail(t: MediaThumbnailRecord): Promise<void>;
  /** Marks the media quarantined by `by` (false: no such media). */
  quarantine(origin: string, mediaId: string, by: string | null): Promise<boolean>;
  /** Lifts a quarantine (false: no such media). */
  unquarantine(origin: string, mediaId: string): Promise<boolean>;
  /**
   * Deletes the media id and drops one reference to its bytes; when none are left, the content row and its
   * thumbnails' rows go too and `orphaned` names the hash, whose files the caller removes. null: no such media.
   */
  deleteMedia(origin: string, mediaId: string): Promise<{ readonly orphaned: string | null } | null>;
  /** One page of the media a user uploaded (the admin API's list), ties broken by media id, and how many in all. */
  listUserMedia(q: UserMediaQuery): Promise<{ readonly media: readonly MediaRecord[]; readonly total: number }>;
}

export type UserMediaOrder = "media_id" | "upload_name" | "created_ts" | "media_length" | "media_type" | "quarantined_by";

export interface UserMediaQuery {
  readonly userId: UserId;
  readonly from: number;
  readonly limit: number;
  readonly orderBy: UserMediaOrder;
  readonly dir: "f" | "b";
}

// ---------------------------------------------------------------------------
// Server administration (the admin API and `zion admin`): user listing, the admin flag, registration tokens.
// ---------------------------------------------------------------------------

export type UserOrder = "name" | "admin" | "deactivated" | "creation_ts" | "displayname";

export interface UserListQuery {
  readonly from: number;
  readonly limit: number;
  /** Case-insensitive substring of the user id or the display name. */
  readonly name?: string | undefined;
  /** false: leave deactivated users out. */
  readonly deactivated: boolean;
  /** true: admins only; false: non-admins only; undefined: both. */
  readonly admins?: boolean | undefined;
  readonly orderBy: UserOrder;
  readonly dir: "f" | "b";
}

export interface AdminUserRow {
  readonly userId: UserId;
  readonly displayname: string | null;
  readonly avatarUrl: string | null;
  readonly admin: boolean;
  readonly deactivated: boolean;
  readonly createdTs: number;
}

export interface RegistrationToken {
  readonly token: string;
  /** null: unlimited. */
  readonly usesAllowed: number | null;
  readonly pending: number;
  readonly completed: number;
  /** ms since the epoch; null: never expires. */
  readonly expiryTime: number | null;
}

export interface AdminStore {
  /** One page of local users in the given order (ties broken by user id) and how many match in all. */
  listUsers(q: UserListQuery): Promise<{ readonly users: readonly AdminUserRow[]; readonly total: number }>;
  /** Sets the admin flag; false when the user does not exist. */
  setAdmin(userId: UserId, admin: boolean): Promise<boolean>;
  /** Clears the deactivated flag (the password is set with it, in one transaction); false when the user does not exist. */
  reactivateUser(userId: UserId, passwordHash: string | null): Promise<boolean>;
  /** UniqueViolationError("registration token") when the token exists (nothing is written). */
  createRegistrationToken(token: RegistrationToken): Promise<void>;
  getRegistrationToken(token: string): Promise<RegistrationToken | null>;
  /** Ordered by token; `valid` keeps the tokens usable at `nowTs` (true) or the used-up and expired ones (false). */
  listRegistrationTokens(filter: { readonly valid?: boolean | undefined; readonly nowTs: number }): Promise<readonly RegistrationToken[]>;
  /** Changes the given fields only; null when the token does not exist. */
  updateRegistrationToken(token: string, change: { readonly usesAllowed?: number | null; readonly expiryTime?: number | null }): Promise<RegistrationToken | null>;
  deleteRegistrationToken(token: string): Promise<boolean>;
  /**
   * A registration passed the m.login.registration_token stage: counts one pending use if the token exists, is not
   * expired at `nowTs` and pending + completed < uses_allowed (checked and counted in one statement, so concurrent
   * registrations never exceed uses_allowed). False (nothing written) when the token is not usable.
   */
  reserveRegistrationToken(token: string, nowTs: number): Promise<boolean>;
  /** The registration that reserved a use finished: one pending use becomes completed. */
  completeRegistrationToken(token: string): Promise<void>;
  /** The registration that reserved a use failed: the pending use is given back. */
  releaseRegistrationToken(token: string): Promise<void>;
  /**
   * What the admin room list shows of every room this server holds, read from the current state in a few queries
   * (no per-room round trip); `localServer` decides which joined members are local. Ordered by room id.
   */
  roomSummaries(localServer: ServerName): Promise<readonly AdminRoomSummary[]>;
  /** Blocks the room (by `userId`, null for `zion admin`, at `ts`); blocking a blocked room keeps the first block. */
  blockRoom(roomId: RoomId, userId: UserId | null, ts: number): Promise<void>;
  /** Lifts a block; false when the room was not blocked. */
  unblockRoom(roomId: RoomId): Promise<boolean>;
  /** Who blocked the room, or null when it is not blocked. */
  getRoomBlock(roomId: RoomId): Promise<{ readonly userId: UserId | null; readonly ts: number } | null>;
  /**
   * Deletes everything this server holds about the room (events, state, memberships, receipts, relations, aliases,
   * directory entry, room account data, outbound federation queue, forgotten marks) in one transaction, and says
   * how many rows each table lost. Kept: users' key backups (their own data) and the block. Purging an
   * unknown room deletes nothing and answers an empty report.
   */
  purgeRoom(roomId: RoomId): Promise<RoomPurgeReport>;
  /**
   * The rooms in which `server` has a joined member, by room id, each with the room's newest stream ordering
   * (the admin API's rooms of a federation destination).
   */
  roomsOfServer(server: ServerName): Promise<readonly { readonly roomId: RoomId; readonly streamOrdering: number }[]>;
}

/** One room as the admin room list reads it: ids and counts, and the current state's contents that it shows. */
export interface AdminRoomSummary {
  readonly roomId: RoomId;
  readonly roomVersion: string;
  readonly creator: UserId;
  readonly joinedMembers: number;
  readonly joinedLocalMembers: number;
  readonly stateEvents: number;
  readonly published: boolean;
  readonly blocked: boolean;
  /** The content of each current state event with an empty state key of the types the list shows, by type. */
  readonly state: ReadonlyMap<string, JsonObject>;
}

/** Rows deleted per table by a purge (tables that lost none left out). */
export type RoomPurgeReport = Readonly<Record<string, number>>;

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
// User-interactive auth sessions and content reports (migration 0014).
// ---------------------------------------------------------------------------

/** What a UIA session is bound to: the operation it was started for and by whom (null: registration). */
export interface UiaSessionRecord {
  readonly operation: string;
  readonly userId: UserId | null;
  readonly createdTs: number;
}

export interface UiaSessionStore {
  /**
   * Stores a new session; in the same transaction drops the sessions created before `expireBeforeTs` and then,
   * past `maxSessions`, the oldest ones (unauthenticated /register calls create sessions, so the table is bounded).
   */
  create(sessionId: string, record: UiaSessionRecord, limits: { readonly expireBeforeTs: number; readonly maxSessions: number }): Promise<void>;
  /** The session, or null when unknown or created before `createdSinceTs` (expired). */
  get(sessionId: string, createdSinceTs: number): Promise<UiaSessionRecord | null>;
  /** Removes the session; true when this call removed it. */
  delete(sessionId: string): Promise<boolean>;
  /** Drops every session created before `beforeTs`; returns how many went. */
  deleteExpired(beforeTs: number): Promise<number>;
}

/** Nonces of shared-secret registration (migration 0019): single use, bounded like UIA sessions. */
export interface RegistrationNonceStore {
  /** Stores a new nonce; in the same transaction drops those issued before `expireBeforeTs` and, past `max`, the oldest. */
  issue(nonce: string, issuedTs: number, limits: { readonly expireBeforeTs: number; readonly max: number }): Promise<void>;
  /** Deletes the nonce; true when this call deleted it and it was issued at or after `issuedSinceTs` (not expired). */
  consume(nonce: string, issuedSinceTs: number): Promise<boolean>;
}

export interface NewEventReport {
  readonly roomId: RoomId;
  readonly eventId: EventId;
  /** The reporter. */
  readonly userId: UserId;
  readonly reason: string | null;
  readonly score: number | null;
  readonly receivedTs: number;
}

export interface EventReportRecord extends NewEventReport {
  readonly id: number;
}

export interface NewRoomReport {
  readonly roomId: RoomId;
  readonly userId: UserId;
  readonly reason: string | null;
  readonly receivedTs: number;
}

export interface RoomReportRecord extends NewRoomReport {
  readonly id: number;
}

/** Synapse's event_reports listing: offset paging, newest first for dir "b", filters on room and reporter. */
export interface ReportListQuery {
  readonly from: number;
  readonly limit: number;
  readonly dir: "f" | "b";
  readonly roomId?: RoomId;
  readonly userId?: UserId;
}

export interface ReportStore {
  /** Stores the report; returns its id (1, 2, ... in the order reports arrive). */
  addEventReport(report: NewEventReport): Promise<number>;
  addRoomReport(report: NewRoomReport): Promise<number>;
  /** The page by id in `dir` order, and how many reports match the filters. */
  listEventReports(query: ReportListQuery): Promise<{ readonly reports: readonly EventReportRecord[]; readonly total: number }>;
  listRoomReports(query: ReportListQuery): Promise<{ readonly reports: readonly RoomReportRecord[]; readonly total: number }>;
  getEventReport(id: number): Promise<EventReportRecord | null>;
  /** True when the report existed. */
  deleteEventReport(id: number): Promise<boolean>;
}

/** OpenID tokens (migration 0014): the user a token names until it expires. */
export interface OpenIdTokenStore {
  /** Stores the token; in the same transaction drops every token expired at `nowTs`. */
  create(token: string, userId: UserId, expiresTs: number, nowTs: number): Promise<void>;
  /** The token's user, or null when unknown or expired at `nowTs`. */
  getUser(token: string, nowTs: number): Promise<UserId | null>;
}

/** One pusher (migration 0015, https://spec.matrix.org/v1.13/client-server-api/#push-notifications). */
export interface PusherRecord {
  readonly userId: UserId;
  readonly appId: string;
  readonly pushkey: string;
  readonly kind: string;
  readonly appDisplayName: string;
  readonly deviceDisplayName: string;
  readonly profileTag: string | null;
  readonly lang: string;
  /** The pusher's `data` (url, format, ...), as the client sent it. */
  readonly data: JsonObject;
  /** The device whose access token set it: deleting the device deletes the pusher. */
  readonly deviceId: string;
  /** When the pushkey was last set (ms). */
  readonly pushkeyTs: number;
}

/** A pusher with its delivery position (migration 0018). */
export interface PusherDelivery extends PusherRecord {
  /** The stream ordering of the last push action delivered or given up on. */
  readonly lastStreamOrdering: StreamOrdering;
  /** When the current run of failures began, or null. */
  readonly failingSince: number | null;
}

export interface PusherStore {
  /** The user's pushers, by app_id then pushkey. */
  list(userId: UserId): Promise<readonly PusherRecord[]>;
  /**
   * Creates the user's pusher for (appId, pushkey), or replaces it (one per user and pair). Unless `append`, in the
   * same transaction deletes other users' pushers with the same (appId, pushkey) (spec: POST /pushers/set, append).
   */
  set(pusher: PusherRecord, append: boolean): Promise<void>;
  /** Deletes the user's pusher for (appId, pushkey); true when it existed. */
  delete(userId: UserId, appId: string, pushkey: string): Promise<boolean>;
  /**
   * Every pusher of `kind` with its delivery position (users given: only theirs). A pusher created by set() starts
   * at the user's newest push action, so it is not sent history.
   */
  deliveries(kind: string, userIds?: readonly UserId[]): Promise<readonly PusherDelivery[]>;
  /** Records a delivery outcome: the new position, and when failures began (null: not failing). */
  updateDelivery(userId: UserId, appId: string, pushkey: string, lastStreamOrdering: StreamOrdering, failingSince: number | null): Promise<void>;
  /** Deletes the pushers with (appId, pushkey) of any user (a gateway rejected the pushkey); how many there were. */
  deleteByPushkey(appId: string, pushkey: string): Promise<number>;
}

// ---------------------------------------------------------------------------
// The whole storage.
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Simplified sliding sync (MSC4186) connection state (migration 0013, docs/sliding-sync.md).
// ---------------------------------------------------------------------------

/** One sliding-sync connection: a user's device and the client's `conn_id` ("" when it sends none). */
export interface SlidingSyncConnectionKey {
  readonly userId: UserId;
  readonly deviceId: string;
  readonly connId: string;
}

/** What a connection last sent of one room. */
export interface SlidingSyncRoomState {
  readonly roomId: RoomId;
  /** live: every update up to the position's token was sent; previously: updates after `lastEvents` were not. */
  readonly status: "live" | "previously";
  /** The event-stream position the room was last brought up to (meaningful for `previously`). */
  readonly lastEvents: StreamOrdering;
  /** The user's membership the room was sent with. */
  readonly membership: string;
  /** The room config it was sent with (timeline_limit, required_state), opaque to storage. */
  readonly config: JsonObject;
  /** Members sent because of lazy loading, so they are not sent again. */
  readonly lazyMembers: readonly string[];
}

/** A `pos` this server handed out, with the connection state it stands for. */
export interface SlidingSyncPosition {
  readonly position: number;
  /** The serialized stream token the next response answers from. */
  readonly token: string;
  /** What the response reported per list (counts), opaque to storage. */
  readonly lists: JsonObject;
  /** null when the caller asked for the position without its rooms (it holds them already). */
  readonly rooms: ReadonlyMap<RoomId, SlidingSyncRoomState> | null;
}

/**
 * Event types that bump a room in the sliding-sync room list (Synapse's SLIDING_SYNC_DEFAULT_BUMP_EVENT_TYPES,
 * which the MSC lists too). Migration 0023's backfill names the same types.
 */
export const BUMP_EVENT_TYPES: readonly string[] = ["m.room.create", "m.room.message", "m.room.encrypted", "m.sticker", "m.call.invite", "m.poll.start", "m.beacon_info"];

/** What the room list filters a room by, from its state (current state, or the state just after a membership). */
export interface RoomListFacts {
  /** The create event's `type` (null: none). */
  readonly roomType: string | null;
  /** Whether the state has an m.room.encryption event. */
  readonly encrypted: boolean;
  /** m.room.name's `name` (null: none). */
  readonly name: string | null;
  /** The room an m.room.tombstone names as its replacement (null: none). */
  readonly tombstoneSuccessor: RoomId | null;
}

/** A room's row of the room list (migration 0023), kept in the events' transaction. */
export interface RoomListRoom extends RoomListFacts {
  /** The stream ordering of its newest visible forward event (0: none); backfill never moves it. */
  readonly activity: StreamOrdering;
  /** The stream ordering of its newest visible forward event of a bumping type (0: none). */
  readonly bumpStamp: StreamOrdering;
}

/** A local user's membership snapshot (migration 0023): the membership with the room's facts just after it. */
export interface RoomListMembership {
  readonly membership: string;
  readonly eventId: EventId;
  /** The member event's sender (null when the event is not stored). */
  readonly sender: UserId | null;
  /** The membership's forward stream position. */
  readonly streamOrdering: StreamOrdering;
  /** null when no state of the room was held then (an out-of-band invite or knock) or the row predates 0023. */
  readonly state: RoomListFacts | null;
}

export interface SlidingSyncStore {
  /**
   * The state at `position` of the connection, or null when the connection has no such position (never issued,
   * issued to another user, device or conn_id, or expired: not used since `idleBeforeTs`). Deletes the connection's
   * other positions and what only they held, and marks the connection used at `nowTs`. `withRooms: false` leaves
   * the rooms out (a caller that cached them for this exact position).
   */
  loadPosition(key: SlidingSyncConnectionKey, position: number, nowTs: number, idleBeforeTs: number, opts?: { readonly withRooms?: boolean }): Promise<SlidingSyncPosition | null>;
  /**
   * Hands out a new position. `base` null starts the connection afresh (its earlier positions and rooms are
   * deleted; past `maxConnections` per device the least recently used other connection goes). Otherwise the new
   * position holds `base`'s rooms with `rooms` replacing theirs; null when `base` is gone (superseded meanwhile).
   * The work is in `rooms`, not in the rooms the connection holds.
   */
  savePosition(key: SlidingSyncConnectionKey, save: { readonly base: number | null; readonly token: string; readonly lists: JsonObject; readonly rooms: readonly SlidingSyncRoomState[] }, nowTs: number, maxConnections: number): Promise<number | null>;
  /**
   * Per room, the stream ordering of its newest visible timeline event at or before `to` (of one of `types`, when
   * given: the bump stamp); rooms without one are absent.
   */
  latestEventPositions(roomIds: readonly RoomId[], to: StreamOrdering, types: readonly string[] | null): Promise<ReadonlyMap<RoomId, StreamOrdering>>;
  /** Per room, the current state event id at (type, stateKey); rooms without one are absent. */
  currentStateEventIds(roomIds: readonly RoomId[], type: string, stateKey: string): Promise<ReadonlyMap<RoomId, EventId>>;
  /**
   * Per room, the user's current membership (current_memberships, so out-of-band invites, knocks and their leaves
   * too, whose member events are outliers and never in the room's state), its events-stream position, and the
   * stripped state of an out-of-band invite or knock; rooms without a membership are absent.
   */
  memberships(userId: UserId, roomIds: readonly RoomId[]): Promise<ReadonlyMap<RoomId, MembershipRecord & { readonly streamOrdering: StreamOrdering }>>;
  /**
   * Per room, its room-list row (migration 0023): activity, bump stamp and current-state facts, as of the newest
   * committed events (possibly past a token taken earlier); rooms without one are absent.
   */
  roomListRooms(roomIds: readonly RoomId[]): Promise<ReadonlyMap<RoomId, RoomListRoom>>;
  /** Per room, the user's membership snapshot (local users only); rooms without one are absent. */
  roomListMemberships(userId: UserId, roomIds: readonly RoomId[]): Promise<ReadonlyMap<RoomId, RoomListMembership>>;
}

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

// ---------------------------------------------------------------------------
// End-to-end encryption across servers (migration 0016): our users' m.device_list_update sequences, the cached
// device lists of users of other servers, and the m.direct_to_device message ids already delivered.
// ---------------------------------------------------------------------------

/** One device of a user of another server, as its server described it. */
export interface RemoteDevice {
  readonly deviceId: string;
  readonly displayName: string | null;
  /** The device_keys object as the remote server gave it, or null when the device has no keys. */
  readonly keys: JsonObject | null;
}

/** A remote user's cached (tracked) device list. */
export interface RemoteDeviceList {
  readonly userId: UserId;
  /** The remote server's stream_id this list is up to date with. */
  readonly streamId: number;
  /** An update referred to a prev_id above streamId (one was missed): a resync is due. */
  readonly stale: boolean;
  /** Ordered by device id. */
  readonly devices: readonly RemoteDevice[];
  readonly masterKey: JsonObject | null;
  readonly selfSigningKey: JsonObject | null;
  readonly updatedTs: number;
}

/** One m.device_list_update, already checked. */
export interface DeviceListUpdate {
  readonly userId: UserId;
  readonly deviceId: string;
  readonly displayName: string | null;
  readonly keys: JsonObject | null;
  readonly deleted: boolean;
  readonly streamId: number;
  readonly prevIds: readonly number[];
}

/**
 * What applying an update did. `applied`: the device was replaced (or deleted) and the list moved to its stream id.
 * `untracked`: no list is cached, so only the change was recorded. `gap`: a prev_id is above the cached stream id,
 * so the list was marked stale and the change recorded. `old`: at or below the cached stream id; nothing written.
 * The first three add a device-list change for the user at `position`.
 */
export type DeviceListUpdateResult =
  | { readonly outcome: "applied" | "untracked" | "gap"; readonly position: UserStreamPosition }
  | { readonly outcome: "old" };

export interface DeviceFederationStore {
  /**
   * Hands out `count` consecutive stream ids of a local user's m.device_list_update sequence in one transaction,
   * with the id before the first (0 when the sequence starts here), which the first EDU names as prev_id.
   */
  nextOutboundStreamIds(userId: UserId, count: number): Promise<{ readonly prev: number; readonly ids: readonly number[] }>;
  /** The last stream id handed out for the user (0 before any). */
  outboundStreamId(userId: UserId): Promise<number>;
  /** The cached device lists of these users (users not tracked are absent). */
  getRemoteDeviceLists(userIds: readonly UserId[]): Promise<ReadonlyMap<UserId, RemoteDeviceList>>;
  /** Replaces a user's cached list (a resync: tracked, not stale) and adds a device-list change, in one transaction. */
  replaceRemoteDeviceList(list: Omit<RemoteDeviceList, "stale" | "updatedTs">, nowTs: number): Promise<UserStreamPosition>;
  /** Applies one m.device_list_update in one transaction (see DeviceListUpdateResult). */
  applyDeviceListUpdate(update: DeviceListUpdate, nowTs: number): Promise<DeviceListUpdateResult>;
  /** m.signing_key_update: replaces the given keys of a tracked list; adds a device-list change either way. */
  applySigningKeyUpdate(userId: UserId, keys: { readonly master?: JsonObject; readonly selfSigning?: JsonObject }, nowTs: number): Promise<UserStreamPosition>;
  /** Drops a cached list (the user shares no room with us any more). True when there was one. */
  forgetRemoteDeviceList(userId: UserId): Promise<boolean>;
  /**
   * Delivers an m.direct_to_device EDU's messages into the local recipients' inboxes unless (origin, messageId)
   * was delivered before, in one transaction. False (nothing queued) for a repeat. Message ids of every origin
   * received before `forgetBeforeTs` are forgotten in the same transaction (a repeat of one would be delivered).
   */
  receiveToDevice(origin: ServerName, messageId: string, messages: readonly ToDeviceMessage[], nowTs: number, forgetBeforeTs: number): Promise<boolean>;
}

export interface Storage {
  readonly backend: StorageBackend;
  readonly keys: KeyStore;
  readonly events: EventStore;
  readonly state: StateStore;
  readonly rooms: RoomStore;
  readonly roomClient: RoomClientStore;
  readonly relations: RelationStore;
  readonly users: UserStore;
  readonly admin: AdminStore;
  readonly transactions: TransactionStore;
  readonly destinations: DestinationStore;
  readonly outbound: OutboundStore;
  readonly e2ee: E2eeStore;
  readonly toDevice: ToDeviceStore;
  readonly deviceFederation: DeviceFederationStore;
  readonly accountData: AccountDataStore;
  readonly filters: FilterStore;
  readonly keyBackup: KeyBackupStore;
  readonly receipts: ReceiptStore;
  readonly presence: PresenceStore;
  readonly pushRules: PushRulesStore;
  readonly media: MediaStore;
  readonly slidingSync: SlidingSyncStore;
  readonly uiaSessions: UiaSessionStore;
  readonly registrationNonces: RegistrationNonceStore;
  readonly reports: ReportStore;
  readonly openIdTokens: OpenIdTokenStore;
  readonly pushers: PusherStore;
  readonly pushActions: PushActionStore;
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
