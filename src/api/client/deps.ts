/** What the client-API routes may be handed; each route takes the slice it names. app/ builds it. */
import type { Clock } from "../../core/clock.js";
import type { ServerName } from "../../core/ids/index.js";
import type { EventStore, RoomClientStore, RoomStore, StateStore, UserStore } from "../../storage/ports.js";
import type { RoomReads, RoomService } from "../../rooms/index.js";
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
  readonly roomClient: RoomClientStore;
  readonly events: EventStore;
  readonly roomStore: RoomStore;
  readonly stateStore: StateStore;
  readonly users: UserStore;
  readonly roomSettings: RoomSettings;
}
