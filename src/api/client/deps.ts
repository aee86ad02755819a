/** What the client-API routes may be handed; each route takes the slice it names. app/ builds it. */
import type { Clock } from "../../core/clock.js";
import type { ServerName, UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { AccountDataStore, E2eeStore, EventStore, FilterStore, KeyBackupStore, PresenceStore, ProfileRecord, PushActionStore, PushRulesStore, ReceiptStore, RelationStore, ReportStore, RoomClientStore, RoomStore, StateStore, ToDeviceStore, UserStore } from "../../storage/ports.js";
import type { Notifier, PresenceTracker, SlidingSyncService, SyncService, TypingStream } from "../../sync/index.js";
import type { RoomReads, RoomService, RoomUpgrader } from "../../rooms/index.js";
import type { RateLimits } from "../http/index.js";
import type { PasswordHasher } from "./shared/password.js";
import type { UiaSessions } from "./shared/uia.js";
import type { NonceStore } from "./admin/nonces.js";

/** The password policy of Synapse's password_config.policy. */
export interface PasswordPolicy {
  readonly enabled: boolean;
  readonly minimumLength: number;
  readonly requireDigit: boolean;
  readonly requireSymbol: boolean;
  readonly requireLowercase: boolean;
  readonly requireUppercase: boolean;
}

export interface AccountSettings {
  /** enable_registration, and no verification Zion cannot offer is required. */
  readonly registrationOpen: boolean;
  /** Why registration is closed, for the 403 message. */
  readonly registrationClosedReason: string;
  /** registration_requires_token: /register asks for the m.login.registration_token stage (docs/admin-api.md). */
  readonly registrationRequiresToken: boolean;
  /** password_config.enabled: false turns password login and UIA password stages off. */
  readonly passwordLoginEnabled: boolean;
  readonly passwordPolicy: PasswordPolicy;
  /** registration_shared_secret(_path), or undefined when shared-secret registration is off. */
  readonly sharedSecret: string | undefined;
  /** refreshable_access_token_lifetime in ms. */
  readonly refreshableAccessTokenLifetimeMs: number;
}

export interface AccountDeps {
  readonly serverName: ServerName;
  readonly clock: Clock;
  readonly users: UserStore;
  readonly accounts: AccountSettings;
  readonly passwords: PasswordHasher;
  readonly uia: UiaSessions;
  readonly rateLimits: RateLimits;
  readonly registrationNonces: NonceStore;
}

/** Synapse's turn_* settings (/voip/turnServer). */
export interface TurnSettings {
  readonly uris: readonly string[];
  /** turn_shared_secret (or the content of turn_shared_secret_path): coturn's use-auth-secret credentials. */
  readonly sharedSecret: string | undefined;
  /** turn_username / turn_password: fixed credentials, used when there is no shared secret. */
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly userLifetimeMs: number;
}

/**
 * Told after a local user's displayname or avatar_url changed. app/ passes one that sends the new m.room.member
 * event into every room the user has joined (RoomService.updateProfileInJoinedRooms).
 */
export interface ProfileChangeListener {
  profileChanged(userId: UserId, profile: ProfileRecord): Promise<void>;
}

/**
 * Which users share a room with a user (whose device-list changes /keys/changes reports to them). app/ passes one
 * reading the joined members of the user's joined rooms.
 */
export interface DeviceListAudience {
  usersSharingRoomsWith(userId: UserId): Promise<ReadonlySet<UserId>>;
  /**
   * Between two event-stream positions: users who newly share a joined room with the user and users who share
   * none any more (src/sync deviceListMembership). Absent: /keys/changes answers `left: []`.
   */
  membershipChanges?(userId: UserId, fromEvents: number, toEvents: number): Promise<{ readonly newlyShared: readonly UserId[]; readonly left: readonly UserId[] }>;
}

/** A remote user's profile over federation (the FederationClient's query). */
export interface RemoteProfiles {
  queryProfile(destination: ServerName, userId: UserId, field?: "displayname" | "avatar_url"): Promise<{ displayname?: string; avatar_url?: string }>;
}

/**
 * Keys and to-device messages of users of other servers (src/rooms/device-lists E2eeFederation): /keys/query,
 * /keys/claim and /sendToDevice hand it the users of other servers.
 */
export interface RemoteE2ee {
  queryKeys(requested: ReadonlyMap<UserId, readonly string[]>, timeoutMs: number): Promise<{
    readonly deviceKeys: Record<string, Record<string, JsonObject>>;
    readonly masterKeys: Record<string, JsonObject>;
    readonly selfSigningKeys: Record<string, JsonObject>;
    readonly failures: Record<string, JsonObject>;
  }>;
  claimKeys(requested: ReadonlyMap<UserId, Readonly<Record<string, string>>>, timeoutMs: number): Promise<{ readonly oneTimeKeys: Record<string, Record<string, JsonObject>>; readonly failures: Record<string, JsonObject> }>;
  /** Queues m.direct_to_device EDUs; answers how many. */
  sendToDevice(sender: UserId, type: string, messages: ReadonlyMap<UserId, Readonly<Record<string, JsonObject>>>): Promise<number>;
}

/** What the per-user routes (keys, to-device, account data, profile, filters, key backup, capabilities) use. */
export interface UserDataDeps {
  readonly serverName: ServerName;
  readonly clock: Clock;
  readonly users: UserStore;
  readonly e2ee: E2eeStore;
  readonly toDevice: ToDeviceStore;
  readonly accountData: AccountDataStore;
  readonly filters: FilterStore;
  readonly keyBackup: KeyBackupStore;
  readonly turn: TurnSettings;
  /** default_room_version, for /capabilities. */
  readonly defaultRoomVersion: string;
  readonly profileChanges: ProfileChangeListener;
  readonly deviceListAudience: DeviceListAudience;
  /** The federation client (app/ always provides it). */
  readonly federationClient: RemoteProfiles;
  /** Keys and to-device messages of users of other servers. */
  readonly remoteE2ee: RemoteE2ee;
}

/** What /sync and the ephemeral-stream routes (typing, receipts, presence) use. */
export interface SyncDeps {
  readonly sync: SyncService;
  /** Simplified sliding sync (MSC4186). */
  readonly slidingSync: SlidingSyncService;
  readonly typing: TypingStream;
  readonly filters: FilterStore;
  readonly roomStore: RoomStore;
  readonly roomClient: RoomClientStore;
  readonly events: EventStore;
  readonly receipts: ReceiptStore;
  readonly accountData: AccountDataStore;
  readonly presence: PresenceStore;
  /** Local users' presence: PUT /presence goes through it (src/sync/presence-tracker.ts). */
  readonly presenceTracker: PresenceTracker;
  readonly pushRules: PushRulesStore;
  /** Push actions stored when events were persisted (migration 0018). */
  readonly pushActions: PushActionStore;
  readonly notifier: Notifier;
  readonly clock: Clock;
  /** presence.enabled (default true): false makes presence routes answer with nothing stored. */
  readonly presenceEnabled: boolean;
}

/** Room settings from homeserver.yaml. */
export interface RoomSettings {
  /** default_room_version. */
  readonly defaultRoomVersion: string;
}

/** What the room, event and directory routes may be handed (the pipeline and the stores they read). */
export interface RoomDeps {
  readonly serverName: ServerName;
  readonly clock: Clock;
  readonly rateLimits: RateLimits;
  readonly rooms: RoomService;
  readonly roomReads: RoomReads;
  readonly roomUpgrades: RoomUpgrader;
  readonly roomClient: RoomClientStore;
  readonly events: EventStore;
  readonly roomStore: RoomStore;
  readonly stateStore: StateStore;
  readonly relations: RelationStore;
  readonly users: UserStore;
  readonly roomSettings: RoomSettings;
}


/** The content reports users file (POST /rooms/{roomId}/report...), kept for the server admins. */
export interface ReportDeps {
  readonly reports: ReportStore;
}
