/**
 * The redaction algorithm's kept keys, one row per distinct set of kept keys (STYLE C3).
 * Rows spread the previous one and name only what changed.
 *
 * v1-v5:  https://spec.matrix.org/v1.16/rooms/v1/#redactions
 * v6-v7:  https://spec.matrix.org/v1.16/rooms/v6/#redactions  (m.room.aliases no longer special)
 * v8:     https://spec.matrix.org/v1.16/rooms/v8/#redactions  (join_rules keep `allow`)
 * v9-v10: https://spec.matrix.org/v1.16/rooms/v9/#redactions  (member keeps `join_authorised_via_users_server`)
 * v11+:   https://spec.matrix.org/v1.16/rooms/v11/#redactions (top-level `origin`, `membership`, `prev_state`
 *         no longer kept; create keeps all content; power levels keep `invite`; redaction keeps `redacts`;
 *         member keeps `third_party_invite.signed`)
 */

/** "all" keeps the whole content object (m.room.create from v11). */
export type KeptContent = readonly string[] | "all";

export interface RedactionRules {
  /** Top-level keys that survive redaction; every other key is removed. */
  readonly keptTopLevelKeys: readonly string[];
  /** Per event type, the content keys that survive; types not listed keep no content. */
  readonly keptContentKeys: Readonly<Record<string, KeptContent>>;
  /** m.room.member keeps `third_party_invite`, reduced to its `signed` key (v11+). */
  readonly keepThirdPartyInviteSigned: boolean;
}

export const REDACTION_V1: RedactionRules = {
  keptTopLevelKeys: [
    "event_id",
    "type",
    "room_id",
    "sender",
    "state_key",
    "content",
    "hashes",
    "signatures",
    "depth",
    "prev_events",
    "prev_state",
    "auth_events",
    "origin",
    "origin_server_ts",
    "membership",
  ],
  keptContentKeys: {
    "m.room.member": ["membership"],
    "m.room.create": ["creator"],
    "m.room.join_rules": ["join_rule"],
    "m.room.power_levels": ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"],
    "m.room.aliases": ["aliases"],
    "m.room.history_visibility": ["history_visibility"],
  },
  keepThirdPartyInviteSigned: false,
};

const { "m.room.aliases": _aliases, ...contentWithoutAliases } = REDACTION_V1.keptContentKeys;

export const REDACTION_V6: RedactionRules = { ...REDACTION_V1, keptContentKeys: contentWithoutAliases };

export const REDACTION_V8: RedactionRules = {
  ...REDACTION_V6,
  keptContentKeys: { ...REDACTION_V6.keptContentKeys, "m.room.join_rules": ["join_rule", "allow"] },
};

export const REDACTION_V9: RedactionRules = {
  ...REDACTION_V8,
  keptContentKeys: { ...REDACTION_V8.keptContentKeys, "m.room.member": ["membership", "join_authorised_via_users_server"] },
};

export const REDACTION_V11: RedactionRules = {
  ...REDACTION_V9,
  keptTopLevelKeys: REDACTION_V9.keptTopLevelKeys.filter((k) => k !== "origin" && k !== "membership" && k !== "prev_state"),
  keptContentKeys: {
    ...REDACTION_V9.keptContentKeys,
    "m.room.create": "all",
    "m.room.power_levels": ["ban", "events", "events_default", "invite", "kick", "redact", "state_default", "users", "users_default"],
    "m.room.redaction": ["redacts"],
  },
  keepThirdPartyInviteSigned: true,
};
