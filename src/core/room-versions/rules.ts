/**
 * Room versions as one table of capabilities (STYLE C3). Every behaviour that
 * differs between versions is a named flag here; use sites read the flag and
 * never compare version strings. Each row spreads the previous one and names
 * only what changed, so a row reads like the spec's "changes since" list.
 *
 * Sources: https://spec.matrix.org/v1.16/rooms/ (v1.md ... v12.md)
 */
import { MatrixError } from "../errors.js";
import { REDACTION_V1, REDACTION_V11, REDACTION_V6, REDACTION_V8, REDACTION_V9, type RedactionRules } from "./redaction.js";

export type { RedactionRules, KeptContent } from "./redaction.js";

/** How event ids are made: minted by the origin (v1-v2) or the reference hash. */
export type EventIdFormat = "server-minted" | "hash-base64" | "hash-urlsafe";

/**
 * Wire shape of a PDU: v1 has `event_id` and `[id, {hashes}]` pairs in
 * prev_events/auth_events; v3 has bare id lists and no `event_id`.
 */
export type EventFormat = "v1" | "v3";

export type StateResAlgorithm = "v1" | "v2" | "v2.1";

/** Redaction algorithm names, one per distinct set of kept keys. */
export type RedactionAlgorithm = "v1" | "v6" | "v8" | "v9" | "v11";

/** Room ids are minted by the creating server (`!x:server`) or are the create event's hash (v12). */
export type RoomIdFormat = "server-minted" | "create-event-hash";

export interface AuthRules {
  /** m.room.aliases events are authorised by the special rule (sender domain = state key) (v1-v5). */
  readonly specialCaseAliases: boolean;
  /** Redactions are checked in the auth rules: allowed at redact level or same-domain (v1-v2). */
  readonly redactionDomainCheckInAuth: boolean;
  /** Signing-key validity (`valid_until_ts`) is enforced at the event's origin_server_ts (v5+). */
  readonly enforceKeyValidity: boolean;
  /** The `notifications` key of power levels is checked on change (v6+). */
  readonly notificationsPowerLevels: boolean;
  /** The `knock` membership and join rule exist (v7+). */
  readonly knocking: boolean;
  /** The `restricted` join rule with `allow` conditions exists (v8+). */
  readonly restrictedJoins: boolean;
  /** The `knock_restricted` join rule exists (v10+). */
  readonly knockRestrictedJoinRule: boolean;
  /** Power level values must be JSON integers, not strings (v10+). */
  readonly integerPowerLevels: boolean;
  /** The room creator is the create event's `sender`, not `content.creator` (v11+). */
  readonly creatorFromSender: boolean;
  /** Creators are sender + `content.additional_creators`, have infinite power, may not appear in power levels (v12). */
  readonly privilegedCreators: boolean;
  /** The create event carries no room_id and is not listed in auth_events; the room id is its hash (v12). */
  readonly createEventIsRoomId: boolean;
}

/** Whose signatures an event needs besides its sender's server (server-server API, "Validating hashes and signatures"). */
export interface SignatureRules {
  /** The server in a server-minted `event_id` must sign too, if it differs from the sender's (v1-v2). */
  readonly eventIdServerSigns: boolean;
  /** A join's `content.join_authorised_via_users_server` user's server must sign (restricted joins, v8+). */
  readonly authorisingServerSigns: boolean;
}

export interface RoomVersionRules {
  readonly id: string;
  readonly stable: boolean;
  readonly eventFormat: EventFormat;
  readonly eventId: EventIdFormat;
  readonly roomId: RoomIdFormat;
  readonly stateRes: StateResAlgorithm;
  readonly redaction: RedactionAlgorithm;
  /** Canonical JSON must be strict: integers in range, no floats (v6+). */
  readonly strictCanonicalJson: boolean;
  readonly auth: AuthRules;
  /** The kept keys of the redaction algorithm named by `redaction`. */
  readonly redactionRules: RedactionRules;
  /** m.room.redaction carries `redacts` under `content` (v11+) rather than at the top level. */
  readonly redactsInContent: boolean;
  readonly signatures: SignatureRules;
}

export const V1: RoomVersionRules = {
  id: "1",
  stable: true,
  eventFormat: "v1",
  eventId: "server-minted",
  roomId: "server-minted",
  stateRes: "v1",
  redaction: "v1",
  strictCanonicalJson: false,
  auth: {
    specialCaseAliases: true,
    redactionDomainCheckInAuth: true,
    enforceKeyValidity: false,
    notificationsPowerLevels: false,
    knocking: false,
    restrictedJoins: false,
    knockRestrictedJoinRule: false,
    integerPowerLevels: false,
    creatorFromSender: false,
    privilegedCreators: false,
    createEventIsRoomId: false,
  },
  redactionRules: REDACTION_V1,
  redactsInContent: false,
  signatures: { eventIdServerSigns: true, authorisingServerSigns: false },
};
export const V2: RoomVersionRules = { ...V1, id: "2", stateRes: "v2" };
export const V3: RoomVersionRules = {
  ...V2,
  id: "3",
  eventFormat: "v3",
  eventId: "hash-base64",
  auth: { ...V2.auth, redactionDomainCheckInAuth: false },
  signatures: { ...V2.signatures, eventIdServerSigns: false },
};
export const V4: RoomVersionRules = { ...V3, id: "4", eventId: "hash-urlsafe" };
export const V5: RoomVersionRules = { ...V4, id: "5", auth: { ...V4.auth, enforceKeyValidity: true } };
export const V6: RoomVersionRules = {
  ...V5,
  id: "6",
  redaction: "v6",
  redactionRules: REDACTION_V6,
  strictCanonicalJson: true,
  auth: { ...V5.auth, specialCaseAliases: false, notificationsPowerLevels: true },
};
export const V7: RoomVersionRules = { ...V6, id: "7", auth: { ...V6.auth, knocking: true } };
export const V8: RoomVersionRules = {
  ...V7,
  id: "8",
  redaction: "v8",
  redactionRules: REDACTION_V8,
  auth: { ...V7.auth, restrictedJoins: true },
  signatures: { ...V7.signatures, authorisingServerSigns: true },
};
export const V9: RoomVersionRules = { ...V8, id: "9", redaction: "v9", redactionRules: REDACTION_V9 };
export const V10: RoomVersionRules = {
  ...V9,
  id: "10",
  auth: { ...V9.auth, knockRestrictedJoinRule: true, integerPowerLevels: true },
};
export const V11: RoomVersionRules = {
  ...V10,
  id: "11",
  redaction: "v11",
  redactionRules: REDACTION_V11,
  redactsInContent: true,
  auth: { ...V10.auth, creatorFromSender: true },
};
export const V12: RoomVersionRules = {
  ...V11,
  id: "12",
  roomId: "create-event-hash",
  stateRes: "v2.1",
  auth: { ...V11.auth, privilegedCreators: true, createEventIsRoomId: true },
};

export const ROOM_VERSIONS: ReadonlyMap<string, RoomVersionRules> = new Map(
  [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12].map((r) => [r.id, r]),
);

export const DEFAULT_ROOM_VERSION = "11";

export function isKnownRoomVersion(id: string): boolean {
  return ROOM_VERSIONS.has(id);
}

/** Looks a version up; unknown versions are refused with M_UNSUPPORTED_ROOM_VERSION. */
export function roomVersion(id: string): RoomVersionRules {
  const r = ROOM_VERSIONS.get(id);
  if (!r) throw MatrixError.unsupportedRoomVersion(id);
  return r;
}
