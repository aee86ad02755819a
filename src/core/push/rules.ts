/**
 * Push rule types and the server-default rule set:
 * https://spec.matrix.org/v1.19/client-server-api/#push-rules and
 * https://spec.matrix.org/v1.19/client-server-api/#predefined-rules
 */
import type { JsonValue } from "../json/types.js";
import type { UserId } from "../ids/index.js";

/** Rule kinds in the order they are checked ("Push Rules", list items 1-5). */
export const PUSH_RULE_KINDS = ["override", "content", "room", "sender", "underride"] as const;
export type PushRuleKind = (typeof PUSH_RULE_KINDS)[number];

/** `notify`, or an object such as `{set_tweak: "sound", value: "default"}` (tweaks pass through). */
export type PushAction = "notify" | { readonly set_tweak: string; readonly value?: JsonValue; readonly [k: string]: JsonValue | undefined };

/** A condition as stored; unknown kinds are kept (and never match). */
export interface PushCondition {
  readonly kind: string;
  readonly key?: string;
  readonly pattern?: string;
  readonly is?: string;
  readonly value?: JsonValue;
}

export interface PushRule {
  readonly rule_id: string;
  readonly default: boolean;
  readonly enabled: boolean;
  readonly actions: readonly PushAction[];
  /** override and underride rules only. */
  readonly conditions?: readonly PushCondition[];
  /** content rules only. */
  readonly pattern?: string;
}

/** The `global` ruleset as GET /pushrules/ returns it: kind → rules in priority order. */
export type PushRuleset = { readonly [K in PushRuleKind]: readonly PushRule[] };

/**
 * Rules that look for mentions in `content.body`. They were deprecated in
 * v1.7 ("should only be enabled if the event does not have an m.mentions
 * property") and dropped from the default set in v1.17; Zion still ships them
 * by default, as Synapse does, so clients that do not send `m.mentions` still
 * highlight. The evaluator skips them for events that carry `m.mentions`.
 */
export const LEGACY_MENTION_RULE_IDS: ReadonlySet<string> = new Set([
  ".m.rule.contains_display_name",
  ".m.rule.roomnotif",
  ".m.rule.contains_user_name",
]);

export interface DefaultRuleOptions {
  /** Include the legacy body-mention rules (default true; see LEGACY_MENTION_RULE_IDS). */
  readonly legacyMentionRules?: boolean;
}

const SOUND_DEFAULT: PushAction = { set_tweak: "sound", value: "default" };
const HIGHLIGHT: PushAction = { set_tweak: "highlight" };

function rule(rule_id: string, actions: readonly PushAction[], conditions: readonly PushCondition[], enabled = true): PushRule {
  return { rule_id, default: true, enabled, conditions, actions };
}
const match = (key: string, pattern: string): PushCondition => ({ kind: "event_match", key, pattern });

function localpartOf(userId: UserId): string {
  return userId.slice(1, userId.indexOf(":"));
}

/** The server-default rules for one user, each kind in the spec's order. */
export function defaultPushRuleset(userId: UserId, opts: DefaultRuleOptions = {}): PushRuleset {
  const legacy = opts.legacyMentionRules ?? true;
  const override: PushRule[] = [
    rule(".m.rule.master", [], [], false),
    rule(".m.rule.suppress_notices", [], [match("content.msgtype", "m.notice")]),
    rule(".m.rule.invite_for_me", ["notify", SOUND_DEFAULT], [
      match("type", "m.room.member"),
      match("content.membership", "invite"),
      match("state_key", userId),
    ]),
    rule(".m.rule.member_event", [], [match("type", "m.room.member")]),
    rule(".m.rule.is_user_mention", ["notify", SOUND_DEFAULT, HIGHLIGHT], [
      { kind: "event_property_contains", key: "content.m\\.mentions.user_ids", value: userId },
    ]),
    ...(legacy ? [rule(".m.rule.contains_display_name", ["notify", SOUND_DEFAULT, HIGHLIGHT], [{ kind: "contains_display_name" }])] : []),
    rule(".m.rule.is_room_mention", ["notify", HIGHLIGHT], [
      { kind: "event_property_is", key: "content.m\\.mentions.room", value: true },
      { kind: "sender_notification_permission", key: "room" },
    ]),
    ...(legacy
      ? [rule(".m.rule.roomnotif", ["notify", HIGHLIGHT], [match("content.body", "@room"), { kind: "sender_notification_permission", key: "room" }])]
      : []),
    rule(".m.rule.tombstone", ["notify", HIGHLIGHT], [match("type", "m.room.tombstone"), match("state_key", "")]),
    rule(".m.rule.reaction", [], [match("type", "m.reaction")]),
    rule(".m.rule.room.server_acl", [], [match("type", "m.room.server_acl"), match("state_key", "")]),
    rule(".m.rule.suppress_edits", [], [{ kind: "event_property_is", key: "content.m\\.relates_to.rel_type", value: "m.replace" }]),
  ];
  const content: PushRule[] = legacy
    ? [{ rule_id: ".m.rule.contains_user_name", default: true, enabled: true, pattern: localpartOf(userId), actions: ["notify", SOUND_DEFAULT, HIGHLIGHT] }]
    : [];
  const underride: PushRule[] = [
    rule(".m.rule.call", ["notify", { set_tweak: "sound", value: "ring" }], [match("type", "m.call.invite")]),
    rule(".m.rule.encrypted_room_one_to_one", ["notify", SOUND_DEFAULT], [{ kind: "room_member_count", is: "2" }, match("type", "m.room.encrypted")]),
    rule(".m.rule.room_one_to_one", ["notify", SOUND_DEFAULT], [{ kind: "room_member_count", is: "2" }, match("type", "m.room.message")]),
    rule(".m.rule.message", ["notify"], [match("type", "m.room.message")]),
    rule(".m.rule.encrypted", ["notify"], [match("type", "m.room.encrypted")]),
  ];
  return { override, content, room: [], sender: [], underride };
}
