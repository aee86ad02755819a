/**
 * Push rule evaluation: the actions of the first enabled rule that matches an
 * event, in the order https://spec.matrix.org/v1.19/client-server-api/#push-rules
 * lists the kinds, with the conditions of
 * https://spec.matrix.org/v1.19/client-server-api/#push-rules ("Conditions")
 */
import { parseDottedPath, valueAtPath } from "../events/dotted-path.js";
import type { UserId } from "../ids/index.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import { compileGlob, type CompiledGlob } from "./glob.js";
import { LEGACY_MENTION_RULE_IDS, PUSH_RULE_KINDS, type PushAction, type PushCondition, type PushRule, type PushRuleKind, type PushRuleset } from "./rules.js";

export interface PushContext {
  /** The user whose rules these are. */
  readonly userId: UserId;
  /** Their display name in the room, or null. */
  readonly displayName: string | null;
  /** Joined members of the room. */
  readonly memberCount: number;
  /** The sender's power level in the room. */
  readonly senderPowerLevel: number;
  /** The `notifications` object of the room's power levels (absent keys are 50). */
  readonly notificationPowerLevels: Readonly<Record<string, number>>;
}

export interface PushOutcome {
  readonly kind: PushRuleKind;
  readonly ruleId: string;
  readonly actions: readonly PushAction[];
  readonly notify: boolean;
  /** The highlight tweak (given with no value it is true; absent it is false). */
  readonly highlight: boolean;
  /** The sound tweak's value, if any. */
  readonly sound: string | null;
}

/** `notifications.room` and any other notification key default to 50 (m.room.power_levels). */
const DEFAULT_NOTIFICATION_LEVEL = 50;

/** Each rule's and condition's compiled pattern, kept with the (immutable) rule object. */
const compiled = new WeakMap<object, CompiledGlob>();
function globOf(owner: object, pattern: string): CompiledGlob {
  let g = compiled.get(owner);
  if (!g) {
    g = compileGlob(pattern, { caseInsensitive: true });
    compiled.set(owner, g);
  }
  return g;
}

/** Condition keys parsed once (a rule's key is evaluated for every member and event); bounded like the globs. */
const parsedPaths = new Map<string, readonly string[]>();
const PATH_CACHE_LIMIT = 1_000;
function pathOf(key: string): readonly string[] {
  let p = parsedPaths.get(key);
  if (!p) {
    if (parsedPaths.size >= PATH_CACHE_LIMIT) parsedPaths.clear();
    p = parseDottedPath(key);
    parsedPaths.set(key, p);
  }
  return p;
}

function stringAt(event: JsonObject, key: string): string | undefined {
  const v = valueAtPath(event, pathOf(key));
  return typeof v === "string" ? v : undefined;
}

function isScalar(v: JsonValue | undefined): boolean {
  return v === null || typeof v === "string" || typeof v === "boolean" || Number.isSafeInteger(v);
}

/** The `is` of room_member_count: an optional `==`, `<`, `>`, `<=`, `>=` and a decimal integer. */
function memberCountMatches(is: string, count: number): boolean {
  const m = /^(==|<=|>=|<|>)?([0-9]+)$/.exec(is);
  if (!m) return false;
  const n = Number(m[2]);
  switch (m[1] ?? "==") {
    case "==": return count === n;
    case "<": return count < n;
    case ">": return count > n;
    case "<=": return count <= n;
    default: return count >= n;
  }
}

export function conditionMatches(c: PushCondition, event: JsonObject, ctx: PushContext): boolean {
  switch (c.kind) {
    case "event_match": {
      if (typeof c.key !== "string" || typeof c.pattern !== "string") return false;
      const v = stringAt(event, c.key);
      if (v === undefined) return false;
      const g = globOf(c, c.pattern);
      // As a special case, content.body matches any word-bounded substring.
      return c.key === "content.body" ? g.matchesWord(v) : g.matchesWhole(v);
    }
    case "event_property_is": {
      if (typeof c.key !== "string" || !isScalar(c.value)) return false;
      const v = valueAtPath(event, pathOf(c.key));
      return isScalar(v) && v === c.value;
    }
    case "event_property_contains": {
      if (typeof c.key !== "string" || !isScalar(c.value)) return false;
      const v = valueAtPath(event, pathOf(c.key));
      return Array.isArray(v) && v.some((x) => isScalar(x) && x === c.value);
    }
    case "contains_display_name": {
      const name = ctx.displayName;
      const body = stringAt(event, "content.body");
      if (!name || body === undefined) return false;
      return compileGlob(name, { caseInsensitive: true, literal: true }).matchesWord(body);
    }
    case "room_member_count":
      return typeof c.is === "string" && memberCountMatches(c.is, ctx.memberCount);
    case "sender_notification_permission": {
      if (typeof c.key !== "string") return false;
      const own = Object.prototype.hasOwnProperty.call(ctx.notificationPowerLevels, c.key) ? ctx.notificationPowerLevels[c.key] : undefined;
      const needed = typeof own === "number" ? own : DEFAULT_NOTIFICATION_LEVEL;
      return ctx.senderPowerLevel >= needed;
    }
    default:
      return false; // "Unrecognised conditions MUST NOT match any events."
  }
}

function hasMentions(event: JsonObject): boolean {
  const content = event["content"];
  return typeof content === "object" && content !== null && !Array.isArray(content) && Object.prototype.hasOwnProperty.call(content, "m.mentions");
}

export function ruleMatches(kind: PushRuleKind, rule: PushRule, event: JsonObject, ctx: PushContext): boolean {
  if (!rule.enabled) return false;
  // Deprecated body-mention rules apply only to events without m.mentions (v1.7 note on each).
  if (rule.default && LEGACY_MENTION_RULE_IDS.has(rule.rule_id) && hasMentions(event)) return false;
  switch (kind) {
    case "override":
    case "underride":
      return (rule.conditions ?? []).every((c) => conditionMatches(c, event, ctx));
    case "content": {
      const body = stringAt(event, "content.body");
      return typeof rule.pattern === "string" && body !== undefined && globOf(rule, rule.pattern).matchesWord(body);
    }
    case "room":
      return event["room_id"] === rule.rule_id;
    case "sender":
      return event["sender"] === rule.rule_id;
  }
}

export function summariseActions(actions: readonly PushAction[]): { notify: boolean; highlight: boolean; sound: string | null } {
  let notify = false;
  let highlight = false;
  let sound: string | null = null;
  for (const a of actions) {
    if (a === "notify") notify = true;
    else if (typeof a === "object") {
      if (a.set_tweak === "highlight") highlight = a.value === undefined ? true : a.value === true;
      if (a.set_tweak === "sound" && typeof a.value === "string") sound = a.value;
    }
  }
  return { notify, highlight, sound };
}

/**
 * The outcome of the first enabled matching rule, or null when none matches
 * or the user sent the event ("Homeservers MUST NOT notify the Push Gateway
 * for events that the user has sent themselves").
 */
export function evaluatePushRules(ruleset: PushRuleset, event: JsonObject, ctx: PushContext): PushOutcome | null {
  if (event["sender"] === ctx.userId) return null;
  for (const kind of PUSH_RULE_KINDS) {
    for (const rule of ruleset[kind]) {
      if (ruleMatches(kind, rule, event, ctx)) {
        return { kind, ruleId: rule.rule_id, actions: rule.actions, ...summariseActions(rule.actions) };
      }
    }
  }
  return null;
}
