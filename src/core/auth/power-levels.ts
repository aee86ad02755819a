/**
 * Power levels as the authorization rules read them.
 *
 * Definitions: https://spec.matrix.org/v1.16/server-server-api/#definitions
 * Defaults: https://spec.matrix.org/v1.16/client-server-api/#mroompower_levels
 * String and float values (v1-v9): https://spec.matrix.org/v1.16/rooms/v1/#mroompower_levels-events-accept-values-as-strings
 *
 * Room versions 1-9 accept values written as strings (`" +050 "`) or floats
 * (truncated); from v10 (`rules.auth.integerPowerLevels`) only JSON integers
 * count. Room creators have infinite power from v12 (`privilegedCreators`).
 */
import type { Pdu } from "../events/pdu.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import type { RoomVersionRules } from "../room-versions/rules.js";

const STRINGY_INT = /^\s*[+-]?\d+\s*$/;

/**
 * A power level value as a number, or undefined when the value is not one
 * the room version accepts (a non-integer in v10+, a non-numeric string, a
 * non-finite float, a bool, an object ...).
 */
export function parseLevel(v: unknown, rules: RoomVersionRules): number | undefined {
  if (typeof v === "number") {
    if (Number.isInteger(v)) return v;
    if (rules.auth.integerPowerLevels) return undefined;
    return Number.isFinite(v) ? Math.trunc(v) : undefined;
  }
  if (typeof v === "string" && !rules.auth.integerPowerLevels && STRINGY_INT.test(v)) {
    const n = Number.parseInt(v.trim(), 10);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A level a rule needs is present in the power levels but is not a number the
 * room version accepts (only possible before v10, where the first power
 * levels event is checked for `users` only). The text is silent; a rule that
 * compares against an unreadable level cannot be satisfied, so the event is
 * refused (as Synapse does; docs/interop.md).
 */
export class UnreadableLevelError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
  ) {
    super(`power levels: ${field} is ${JSON.stringify(value)}, not a number, so the rule that reads it cannot be evaluated`);
    this.name = "UnreadableLevelError";
  }
}

/** A level value: the default when absent or null, the number when readable, else UnreadableLevelError. */
function readLevel(v: JsonValue | undefined, field: string, dflt: number, rules: RoomVersionRules): number {
  if (v === undefined || v === null) return dflt;
  const n = parseLevel(v, rules);
  if (n === undefined) throw new UnreadableLevelError(field, v);
  return n;
}

function levelOr(content: JsonObject | undefined, key: string, dflt: number, rules: RoomVersionRules): number {
  if (!content) return dflt;
  return readLevel(content[key], key, dflt, rules);
}

/** The room creators: `content.creator` (v1-v10), the sender (v11+), plus `additional_creators` (v12). */
export function creatorsOf(create: Pdu | undefined, rules: RoomVersionRules): ReadonlySet<string> {
  const out = new Set<string>();
  if (!create) return out;
  const content = isJsonObject(create.content) ? create.content : {};
  if (rules.auth.creatorFromSender) out.add(create.sender);
  else if (typeof content["creator"] === "string") out.add(content["creator"]);
  if (rules.auth.privilegedCreators) {
    const extra = content["additional_creators"];
    if (Array.isArray(extra)) for (const u of extra) if (typeof u === "string") out.add(u);
  }
  return out;
}

/** The one creator the "first join" rule speaks of: `content.creator` (v1-v10) or the create event's sender (v11+). */
export function originalCreatorOf(create: Pdu | undefined, rules: RoomVersionRules): string | undefined {
  if (!create) return undefined;
  if (rules.auth.creatorFromSender) return create.sender;
  const c = isJsonObject(create.content) ? create.content["creator"] : undefined;
  return typeof c === "string" ? c : undefined;
}

/** A read-only view of the current power levels (or their absence) plus the create event. */
export class PowerLevelView {
  private readonly content: JsonObject | undefined;
  private readonly creators: ReadonlySet<string>;
  private readonly creator: string | undefined;

  constructor(
    readonly event: Pdu | undefined,
    create: Pdu | undefined,
    private readonly rules: RoomVersionRules,
  ) {
    this.content = event && isJsonObject(event.content) ? event.content : undefined;
    this.creators = creatorsOf(create, rules);
    this.creator = originalCreatorOf(create, rules);
  }

  /** A user's level: infinite for v12 creators; users[u], else users_default; 100 for the creator when there is no power levels event. */
  userLevel(userId: string): number {
    if (this.rules.auth.privilegedCreators && this.creators.has(userId)) return Number.POSITIVE_INFINITY;
    if (!this.event) {
      if (this.rules.auth.privilegedCreators) return 0;
      return this.creator !== undefined && this.creator === userId ? 100 : 0;
    }
    const users = this.content?.["users"];
    if (isJsonObject(users) && Object.prototype.hasOwnProperty.call(users, userId) && users[userId] !== null) {
      return readLevel(users[userId], `users[${JSON.stringify(userId)}]`, 0, this.rules);
    }
    return levelOr(this.content, "users_default", 0, this.rules);
  }

  /** The *required power level* for an event type: `events[type]`, else state_default (50) or events_default (0). */
  requiredLevel(type: string, isState: boolean): number {
    const events = this.content?.["events"];
    if (events !== undefined && events !== null && !isJsonObject(events)) throw new UnreadableLevelError("events", events);
    if (isJsonObject(events) && Object.prototype.hasOwnProperty.call(events, type) && events[type] !== null) {
      return readLevel(events[type], `events[${JSON.stringify(type)}]`, 0, this.rules);
    }
    return isState ? levelOr(this.content, "state_default", 50, this.rules) : levelOr(this.content, "events_default", 0, this.rules);
  }

  get invite(): number {
    return levelOr(this.content, "invite", 0, this.rules);
  }
  get kick(): number {
    return levelOr(this.content, "kick", 50, this.rules);
  }
  get ban(): number {
    return levelOr(this.content, "ban", 50, this.rules);
  }
  get redact(): number {
    return levelOr(this.content, "redact", 50, this.rules);
  }
}

/** The top-level integer properties of power levels that the change rules compare. */
export const LEVEL_KEYS = ["users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"] as const;

export type { JsonValue };
