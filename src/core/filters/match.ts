/**
 * Applying filters: https://spec.matrix.org/v1.19/client-server-api/#filtering
 * (definitions EventFilter, RoomEventFilter and Filter.event_fields).
 */
import { valueAtPath } from "../events/dotted-path.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import { compileGlob } from "../push/glob.js";
import type { EventFilter, RoomEventFilter, RoomFilter } from "./filter.js";

/** `types`/`not_types` entries: `*` matches any sequence of characters (case-sensitive). */
function typeMatches(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => (p.includes("*") ? compileGlob(p, {}).matchesWhole(type) : p === type));
}

/** What an EventFilter looks at. */
export interface FilterableEvent {
  readonly type: string;
  readonly sender?: string;
}

/** Exclusions win over inclusions; an absent inclusion list includes everything (an empty one, nothing). */
export function eventFilterMatches(f: EventFilter, e: FilterableEvent): boolean {
  if (typeMatches(f.not_types, e.type)) return false;
  if (f.types && !typeMatches(f.types, e.type)) return false;
  if (e.sender !== undefined) {
    if ((f.not_senders as readonly string[]).includes(e.sender)) return false;
    if (f.senders && !(f.senders as readonly string[]).includes(e.sender)) return false;
  } else if (f.senders) {
    return false;
  }
  return true;
}

export function roomIncluded(f: { readonly rooms?: readonly string[]; readonly not_rooms: readonly string[] }, roomId: string): boolean {
  if (f.not_rooms.includes(roomId)) return false;
  return !f.rooms || f.rooms.includes(roomId);
}

/** Whether a room's data is wanted at all (RoomFilter.rooms/not_rooms apply before the inner filters). */
export function roomFilterIncludes(f: RoomFilter, roomId: string): boolean {
  return roomIncluded(f, roomId);
}

export interface FilterableRoomEvent extends FilterableEvent {
  readonly room_id?: string;
  readonly content?: JsonValue;
}

export function roomEventFilterMatches(f: RoomEventFilter, e: FilterableRoomEvent): boolean {
  if (!eventFilterMatches(f, e)) return false;
  if (e.room_id !== undefined && !roomIncluded(f, e.room_id)) return false;
  if (f.contains_url !== undefined) {
    const c = e.content;
    const has = typeof c === "object" && c !== null && !Array.isArray(c) && Object.prototype.hasOwnProperty.call(c, "url");
    if (has !== f.contains_url) return false;
  }
  return true;
}

/**
 * The number of events to return: the filter's `limit` if given, else the
 * endpoint's default, never above the endpoint's maximum.
 */
export function effectiveLimit(f: EventFilter, bounds: { readonly default: number; readonly max: number }): number {
  return Math.min(f.limit ?? bounds.default, bounds.max);
}

/** Whether membership events for the timeline's senders should be lazy-loaded, and whether redundantly. */
export function lazyLoading(f: RoomEventFilter): { readonly lazy: boolean; readonly redundant: boolean } {
  return { lazy: f.lazy_load_members, redundant: f.lazy_load_members && f.include_redundant_members };
}

function setOwn(o: Record<string, JsonValue>, key: string, v: JsonValue): void {
  // defineProperty, so that a field named "__proto__" is a field and not a prototype.
  Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
}

const isPrefix = (a: readonly string[], b: readonly string[]) => a.length <= b.length && a.every((x, i) => x === b[i]);

/**
 * `event_fields`: a copy of the event with only the listed paths (each a
 * parsed dotted path). A path naming an object keeps all of it (so a longer
 * path under it adds nothing); absent paths are skipped. Absent `fields`
 * keeps the event as it is. The event itself is never changed.
 */
export function projectEvent(event: JsonObject, fields: readonly (readonly string[])[] | undefined): JsonObject {
  if (!fields) return event;
  const paths = fields.filter((p, i) => p.length > 0 && !fields.some((q, j) => q.length > 0 && j !== i && isPrefix(q, p) && (q.length < p.length || j < i)));
  const out: Record<string, JsonValue> = {};
  for (const path of paths) {
    const v = valueAtPath(event, path);
    if (v === undefined) continue;
    let node = out;
    for (const name of path.slice(0, -1)) {
      // No kept value is a prefix of this path, so every node on the way is one made here.
      if (!Object.prototype.hasOwnProperty.call(node, name)) setOwn(node, name, {});
      node = node[name] as Record<string, JsonValue>;
    }
    setOwn(node, path[path.length - 1]!, v);
  }
  return out;
}
