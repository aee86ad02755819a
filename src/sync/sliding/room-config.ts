/**
 * Room configs of sliding sync (MSC4186, "Combining room configs" and "Changing room configs"): which state a config
 * asks for, the superset of several configs, how a config is remembered per connection, and what a changed config
 * newly asks for. Pure functions.
 *
 * Configs combine by keeping their `required_state`s side by side (the MSC's approach (a)): a state entry is wanted
 * when any of them wants it, so wildcards and excludes of one never narrow another.
 */
import type { JsonObject, JsonValue } from "../../core/json/types.js";
import type { RequiredState, RoomConfig, StateMatcher } from "./request.js";

const hit = (m: StateMatcher, type: string, stateKey: string) => (m.type === null || m.type === type) && (m.stateKey === null || m.stateKey === stateKey);

/** Whether one required_state asks for the entry (type, stateKey). Lazy members are decided elsewhere. */
export function wants(rs: RequiredState, type: string, stateKey: string): boolean {
  return rs.include.some((m) => hit(m, type, stateKey)) && !rs.exclude.some((m) => hit(m, type, stateKey));
}

/** Whether any of a room config's required states asks for the entry. */
export function configWants(c: RoomConfig, type: string, stateKey: string): boolean {
  return c.requiredState.some((rs) => wants(rs, type, stateKey));
}

export const isLazy = (c: RoomConfig): boolean => c.requiredState.some((rs) => rs.lazy);

/** Whether a config asks for nothing by (type, state key) at all (only lazy members, or nothing). */
export const wantsNoState = (c: RoomConfig): boolean => c.requiredState.every((rs) => rs.include.length === 0);

const keyOf = (rs: RequiredState) => JSON.stringify(toJson({ timelineLimit: 0, requiredState: [rs] })["required_state"]);

/** The superset of two configs: the larger timeline limit, every distinct required_state of both. */
export function combine(a: RoomConfig, b: RoomConfig): RoomConfig {
  const seen = new Set(a.requiredState.map(keyOf));
  const extra = b.requiredState.filter((rs) => {
    const k = keyOf(rs);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { timelineLimit: Math.max(a.timelineLimit, b.timelineLimit), requiredState: [...a.requiredState, ...extra] };
}

const matcherJson = (m: StateMatcher): JsonValue => [m.type, m.stateKey];

/** How a config is kept in connection state (storage keeps it as opaque JSON). Order-independent. */
export function toJson(c: RoomConfig): JsonObject {
  const rs = c.requiredState
    .map((r) => ({ include: r.include.map(matcherJson), exclude: r.exclude.map(matcherJson), lazy: r.lazy }))
    .map((r) => ({ ...r, include: sortJson(r.include), exclude: sortJson(r.exclude) }));
  return { timeline_limit: c.timelineLimit, required_state: sortJson(rs) as JsonValue[] };
}

function sortJson<T>(xs: T[]): T[] {
  return [...new Map(xs.map((x) => [JSON.stringify(x), x])).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, x]) => x);
}

function matcherFrom(v: unknown): StateMatcher | null {
  if (!Array.isArray(v) || v.length !== 2) return null;
  const [t, k] = v as unknown[];
  if ((t !== null && typeof t !== "string") || (k !== null && typeof k !== "string")) return null;
  return { type: t as string | null, stateKey: k as string | null };
}

/** A config read back from connection state; null when it is not one this code wrote. */
export function fromJson(j: JsonObject): RoomConfig | null {
  const limit = j["timeline_limit"];
  const rs = j["required_state"];
  if (typeof limit !== "number" || !Array.isArray(rs)) return null;
  const requiredState: RequiredState[] = [];
  for (const r of rs) {
    if (typeof r !== "object" || r === null || Array.isArray(r)) return null;
    const o = r as JsonObject;
    const include = Array.isArray(o["include"]) ? o["include"].map(matcherFrom) : null;
    const exclude = Array.isArray(o["exclude"]) ? o["exclude"].map(matcherFrom) : null;
    if (!include || !exclude || include.includes(null) || exclude.includes(null)) return null;
    requiredState.push({ include: include as StateMatcher[], exclude: exclude as StateMatcher[], lazy: o["lazy"] === true });
  }
  return { timelineLimit: limit, requiredState };
}

export const sameConfig = (a: RoomConfig, b: RoomConfig): boolean => JSON.stringify(toJson(a)) === JSON.stringify(toJson(b));

/**
 * Of the room's current state keys, those the new config asks for and the old one did not: what a changed
 * required_state must send now ("Changes to required_state").
 */
export function newlyWanted(prev: RoomConfig, next: RoomConfig, keys: Iterable<{ type: string; stateKey: string }>): { type: string; stateKey: string }[] {
  const out: { type: string; stateKey: string }[] = [];
  for (const k of keys) if (configWants(next, k.type, k.stateKey) && !configWants(prev, k.type, k.stateKey)) out.push(k);
  return out;
}
