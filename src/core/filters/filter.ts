/**
 * Filters: the `Filter` of POST /user/{userId}/filter and /sync's inline
 * `filter`, and the `RoomEventFilter` of /messages and /context:
 * https://spec.matrix.org/v1.19/client-server-api/#filtering
 *
 * The parser is strict about the fields the spec defines (a wrong type is
 * M_BAD_JSON, a value out of range M_INVALID_PARAM, each naming the field as
 * a path like `room.timeline.limit`) and ignores keys it does not know, so
 * that clients sending newer or unstable fields still work.
 */
import { MatrixError } from "../errors.js";
import { parseDottedPath } from "../events/dotted-path.js";
import { parseRoomId, parseUserId, type RoomId, type UserId } from "../ids/index.js";

export interface EventFilter {
  /** Absent: the endpoint's default applies (see effectiveLimit). */
  readonly limit?: number;
  /** Absent: every type; `*` matches any sequence of characters. */
  readonly types?: readonly string[];
  readonly not_types: readonly string[];
  readonly senders?: readonly UserId[];
  readonly not_senders: readonly UserId[];
}

export interface RoomEventFilter extends EventFilter {
  readonly rooms?: readonly RoomId[];
  readonly not_rooms: readonly RoomId[];
  /** true: only events whose content has `url`; false: only those without; absent: either. */
  readonly contains_url?: boolean;
  readonly lazy_load_members: boolean;
  /** Only meaningful with lazy_load_members. */
  readonly include_redundant_members: boolean;
  readonly unread_thread_notifications: boolean;
}

export interface RoomFilter {
  readonly rooms?: readonly RoomId[];
  readonly not_rooms: readonly RoomId[];
  readonly include_leave: boolean;
  readonly ephemeral: RoomEventFilter;
  readonly state: RoomEventFilter;
  readonly timeline: RoomEventFilter;
  readonly account_data: RoomEventFilter;
}

export type EventFormat = "client" | "federation";

export interface Filter {
  /** Parsed dotted paths; absent: every field. */
  readonly event_fields?: readonly (readonly string[])[];
  readonly event_format: EventFormat;
  readonly presence: EventFilter;
  readonly account_data: EventFilter;
  readonly room: RoomFilter;
}

/** Upper bound on list lengths and the number of event_fields, so one filter cannot make matching expensive. */
export const MAX_FILTER_LIST = 1000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const at = (path: string, key: string) => (path ? `${path}.${key}` : key);

function obj(v: unknown, path: string): Obj {
  if (v === undefined) return {};
  if (!isObj(v)) throw MatrixError.badJson(`${path || "filter"}: must be a JSON object`);
  return v;
}

function bool(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw MatrixError.badJson(`${at(path, key)}: must be a boolean`);
  return v;
}

function strings(o: Obj, key: string, path: string): string[] | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  const f = at(path, key);
  if (!Array.isArray(v)) throw MatrixError.badJson(`${f}: must be an array of strings`);
  if (v.length > MAX_FILTER_LIST) throw MatrixError.invalidParam(f, `has more than ${MAX_FILTER_LIST} entries`);
  v.forEach((s: unknown, i) => {
    if (typeof s !== "string") throw MatrixError.badJson(`${f}[${i}]: must be a string`);
  });
  return v as string[];
}

const users = (o: Obj, key: string, path: string) => strings(o, key, path)?.map((s, i) => parseUserId(s, `${at(path, key)}[${i}]`));
const rooms = (o: Obj, key: string, path: string) => strings(o, key, path)?.map((s, i) => parseRoomId(s, `${at(path, key)}[${i}]`));

function parseEventFilterFields(o: Obj, path: string): EventFilter {
  const out: { -readonly [K in keyof EventFilter]: EventFilter[K] } = { not_types: [], not_senders: [] };
  const limit = o["limit"];
  if (limit !== undefined) {
    if (typeof limit !== "number" || !Number.isInteger(limit)) throw MatrixError.badJson(`${at(path, "limit")}: must be an integer`);
    if (limit < 1) throw MatrixError.invalidParam(at(path, "limit"), "must be greater than 0");
    out.limit = limit;
  }
  const types = strings(o, "types", path);
  if (types) out.types = types;
  out.not_types = strings(o, "not_types", path) ?? [];
  const senders = users(o, "senders", path);
  if (senders) out.senders = senders;
  out.not_senders = users(o, "not_senders", path) ?? [];
  return out;
}

export function parseEventFilter(raw: unknown, path = ""): EventFilter {
  return parseEventFilterFields(obj(raw, path), path);
}

export function parseRoomEventFilter(raw: unknown, path = ""): RoomEventFilter {
  const o = obj(raw, path);
  const base = parseEventFilterFields(o, path);
  const r = rooms(o, "rooms", path);
  const contains = bool(o, "contains_url", path);
  return {
    ...base,
    ...(r ? { rooms: r } : {}),
    not_rooms: rooms(o, "not_rooms", path) ?? [],
    ...(contains !== undefined ? { contains_url: contains } : {}),
    lazy_load_members: bool(o, "lazy_load_members", path) ?? false,
    include_redundant_members: bool(o, "include_redundant_members", path) ?? false,
    unread_thread_notifications: bool(o, "unread_thread_notifications", path) ?? false,
  };
}

function parseRoomFilter(raw: unknown, path: string): RoomFilter {
  const o = obj(raw, path);
  const r = rooms(o, "rooms", path);
  return {
    ...(r ? { rooms: r } : {}),
    not_rooms: rooms(o, "not_rooms", path) ?? [],
    include_leave: bool(o, "include_leave", path) ?? false,
    ephemeral: parseRoomEventFilter(o["ephemeral"], at(path, "ephemeral")),
    state: parseRoomEventFilter(o["state"], at(path, "state")),
    timeline: parseRoomEventFilter(o["timeline"], at(path, "timeline")),
    account_data: parseRoomEventFilter(o["account_data"], at(path, "account_data")),
  };
}

/** A whole Filter (the body of POST /user/{userId}/filter, or /sync's inline filter); `path` prefixes field names. */
export function parseFilter(raw: unknown, path = ""): Filter {
  if (!isObj(raw)) throw MatrixError.badJson(`${path || "filter"}: must be a JSON object`);
  const fields = strings(raw, "event_fields", path);
  const format = raw["event_format"];
  if (format !== undefined && format !== "client" && format !== "federation") {
    throw MatrixError.invalidParam(at(path, "event_format"), "must be \"client\" or \"federation\"");
  }
  return {
    ...(fields ? { event_fields: fields.map(parseDottedPath) } : {}),
    event_format: format ?? "client",
    presence: parseEventFilter(raw["presence"], at(path, "presence")),
    account_data: parseEventFilter(raw["account_data"], at(path, "account_data")),
    room: parseRoomFilter(raw["room"], at(path, "room")),
  };
}

/** The filter that filters nothing. */
export const EMPTY_FILTER: Filter = parseFilter({});
