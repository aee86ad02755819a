/**
 * The request body of simplified sliding sync (MSC4186,
 * https://github.com/matrix-org/matrix-spec-proposals/blob/main/proposals/4186-simplified-sliding-sync.md), parsed
 * once into typed values. The unstable endpoint speaks the shape clients send today (Synapse's, which matrix-js-sdk
 * and Element X use): `ranges`, `required_state` as `[type, state_key]` pairs with `*`, `$LAZY` and `$ME`, the
 * `is_invite` filter. The MSC's newer spellings are accepted too: `range`, `required_state` as
 * `{include, exclude, lazy_members}`, `is_invited`.
 *
 * A wrong type is 400 M_BAD_JSON, a value out of bounds 400 M_INVALID_PARAM, each naming the field's path; unknown
 * fields and unknown extensions are ignored, as the MSC asks.
 */
import { MatrixError } from "../../core/errors.js";
import { parseRoomId, type RoomId, type UserId } from "../../core/ids/index.js";

/** The most timeline events one room config may ask for (Synapse's cap). */
export const MAX_TIMELINE_LIMIT = 1000;
/** The MSC's caps on lists and room subscriptions, and Synapse's on a list key's length. */
export const MAX_LISTS = 100;
export const MAX_SUBSCRIPTIONS = 100;
export const MAX_LIST_KEY = 64;
/** Bounds on what one request may name, so that the work it causes stays bounded. */
export const MAX_RANGES = 100;
export const MAX_REQUIRED_STATE = 1000;
export const MAX_FILTER_ENTRIES = 1000;
export const MAX_CONN_ID = 255;
export const MAX_TO_DEVICE_LIMIT = 1000;

/** One `required_state` entry: null type or state key matches any. */
export interface StateMatcher {
  readonly type: string | null;
  readonly stateKey: string | null;
}

/** What state a room config asks for: anything an `include` matches and no `exclude` does, plus lazy members. */
export interface RequiredState {
  readonly include: readonly StateMatcher[];
  readonly exclude: readonly StateMatcher[];
  readonly lazy: boolean;
}

/** A room config. Several configs of one room combine as their superset: the largest limit, any of the states. */
export interface RoomConfig {
  readonly timelineLimit: number;
  readonly requiredState: readonly RequiredState[];
}

export interface ListFilters {
  readonly isDm?: boolean;
  readonly isEncrypted?: boolean;
  readonly isInvite?: boolean;
  readonly roomTypes?: readonly (string | null)[];
  readonly notRoomTypes?: readonly (string | null)[];
  readonly spaces?: readonly RoomId[];
  readonly tags?: readonly string[];
  readonly notTags?: readonly string[];
}

export interface ListRequest {
  /** Inclusive [start, end] windows; null: the whole list. */
  readonly ranges: readonly (readonly [number, number])[] | null;
  readonly config: RoomConfig;
  readonly filters: ListFilters;
}

/** Which rooms an extension covers: list names and subscribed room ids, null meaning all of them ("*"). */
export interface ExtensionScope {
  readonly lists: readonly string[] | null;
  readonly rooms: readonly string[] | null;
}

export interface ExtensionsRequest {
  readonly toDevice?: { readonly limit: number; readonly since: number | null };
  readonly e2ee?: true;
  readonly accountData?: ExtensionScope;
  readonly receipts?: ExtensionScope;
  readonly typing?: ExtensionScope;
}

export interface SlidingRequest {
  readonly connId: string;
  readonly lists: ReadonlyMap<string, ListRequest>;
  readonly subscriptions: ReadonlyMap<RoomId, RoomConfig>;
  readonly extensions: ExtensionsRequest;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const bad = (path: string, why: string) => MatrixError.badJson(`${path}: ${why}`);

function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw bad(path, "must be an object");
  return v;
}
function optBool(o: Obj, k: string, path: string): boolean | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw bad(`${path}.${k}`, "must be true or false");
  return v;
}
function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw bad(path, "must be an integer");
  if (v < min || v > max) throw MatrixError.invalidParam(path, `must be between ${min} and ${max}`);
  return v;
}
function strings(v: unknown, path: string, max: number, nullable = false): (string | null)[] {
  if (!Array.isArray(v)) throw bad(path, "must be an array");
  if (v.length > max) throw MatrixError.invalidParam(path, `has more than ${max} entries`);
  return v.map((x, i) => {
    if (nullable && x === null) return null;
    if (typeof x !== "string") throw bad(`${path}[${i}]`, nullable ? "must be a string or null" : "must be a string");
    return x;
  });
}

const ANY = "*";

/** Synapse's form: `[type, state_key]` pairs; `["*", "*"]` is everything, `["m.room.member", "$LAZY"]` lazy members. */
function requiredStatePairs(v: unknown[], path: string, userId: UserId): RequiredState {
  if (v.length > MAX_REQUIRED_STATE) throw MatrixError.invalidParam(path, `has more than ${MAX_REQUIRED_STATE} entries`);
  const include: StateMatcher[] = [];
  let lazy = false;
  v.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") throw bad(`${path}[${i}]`, "must be a [type, state_key] pair of strings");
    const [type, key] = pair as [string, string];
    if (type === "m.room.member" && key === "$LAZY") {
      lazy = true;
      return;
    }
    include.push({ type: type === ANY ? null : type, stateKey: key === ANY ? null : key === "$ME" ? userId : key });
  });
  return { include, exclude: [], lazy };
}

function matchers(v: unknown, path: string, userId: UserId): StateMatcher[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(path, "must be an array");
  if (v.length > MAX_REQUIRED_STATE) throw MatrixError.invalidParam(path, `has more than ${MAX_REQUIRED_STATE} entries`);
  return v.map((m, i) => {
    const o = obj(m, `${path}[${i}]`);
    const type = o["type"];
    const key = o["state_key"];
    if (type !== undefined && typeof type !== "string") throw bad(`${path}[${i}].type`, "must be a string");
    if (key !== undefined && typeof key !== "string") throw bad(`${path}[${i}].state_key`, "must be a string");
    return { type: type ?? null, stateKey: key === undefined ? null : key === "$ME" ? userId : key };
  });
}

function requiredState(v: unknown, path: string, userId: UserId): RequiredState {
  if (Array.isArray(v)) return requiredStatePairs(v, path, userId);
  if (isObj(v)) {
    return {
      include: matchers(v["include"], `${path}.include`, userId),
      exclude: matchers(v["exclude"], `${path}.exclude`, userId),
      lazy: optBool(v, "lazy_members", path) ?? false,
    };
  }
  throw bad(path, "must be an array of [type, state_key] pairs or an object with include, exclude and lazy_members");
}

function roomConfig(o: Obj, path: string, userId: UserId): RoomConfig {
  if (o["timeline_limit"] === undefined) throw bad(`${path}.timeline_limit`, "is required");
  if (o["required_state"] === undefined) throw bad(`${path}.required_state`, "is required");
  return {
    timelineLimit: int(o["timeline_limit"], `${path}.timeline_limit`, 0, MAX_TIMELINE_LIMIT),
    requiredState: [requiredState(o["required_state"], `${path}.required_state`, userId)],
  };
}

function range(v: unknown, path: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) throw bad(path, "must be a [start, end] pair");
  const start = int(v[0], `${path}[0]`, 0, Number.MAX_SAFE_INTEGER);
  const end = int(v[1], `${path}[1]`, 0, Number.MAX_SAFE_INTEGER);
  if (start > end) throw MatrixError.invalidParam(path, "start is after end");
  return [start, end];
}

function filters(v: unknown, path: string): ListFilters {
  if (v === undefined || v === null) return {};
  const o = obj(v, path);
  const out: { -readonly [K in keyof ListFilters]: ListFilters[K] } = {};
  const isDm = optBool(o, "is_dm", path);
  if (isDm !== undefined) out.isDm = isDm;
  const isEncrypted = optBool(o, "is_encrypted", path);
  if (isEncrypted !== undefined) out.isEncrypted = isEncrypted;
  const isInvite = optBool(o, "is_invite", path) ?? optBool(o, "is_invited", path);
  if (isInvite !== undefined) out.isInvite = isInvite;
  if (o["room_types"] != null) out.roomTypes = strings(o["room_types"], `${path}.room_types`, MAX_FILTER_ENTRIES, true);
  if (o["not_room_types"] != null) out.notRoomTypes = strings(o["not_room_types"], `${path}.not_room_types`, MAX_FILTER_ENTRIES, true);
  if (o["spaces"] != null) {
    out.spaces = (strings(o["spaces"], `${path}.spaces`, MAX_FILTER_ENTRIES) as string[]).map((s, i) => {
      try {
        return parseRoomId(s);
      } catch {
        throw MatrixError.invalidParam(`${path}.spaces[${i}]`, "is not a room ID");
      }
    });
  }
  if (o["tags"] != null) out.tags = strings(o["tags"], `${path}.tags`, MAX_FILTER_ENTRIES) as string[];
  if (o["not_tags"] != null) out.notTags = strings(o["not_tags"], `${path}.not_tags`, MAX_FILTER_ENTRIES) as string[];
  return out;
}

function list(v: unknown, path: string, userId: UserId): ListRequest {
  const o = obj(v, path);
  let ranges: [number, number][] | null = null;
  if (o["ranges"] != null) {
    if (!Array.isArray(o["ranges"])) throw bad(`${path}.ranges`, "must be an array of [start, end] pairs");
    if (o["ranges"].length > MAX_RANGES) throw MatrixError.invalidParam(`${path}.ranges`, `has more than ${MAX_RANGES} ranges`);
    ranges = o["ranges"].map((r, i) => range(r, `${path}.ranges[${i}]`));
  } else if (o["range"] != null) {
    ranges = [range(o["range"], `${path}.range`)];
  }
  if (optBool(o, "slow_get_all_rooms", path) === true) ranges = null;
  return { ranges, config: roomConfig(o, path, userId), filters: filters(o["filters"], `${path}.filters`) };
}

function scope(o: Obj, path: string): ExtensionScope {
  const names = (k: "lists" | "rooms"): string[] | null => {
    if (o[k] == null) return null;
    const l = strings(o[k], `${path}.${k}`, MAX_LISTS + MAX_SUBSCRIPTIONS) as string[];
    return l.includes("*") ? null : l;
  };
  return { lists: names("lists"), rooms: names("rooms") };
}

function extensions(v: unknown): ExtensionsRequest {
  if (v === undefined || v === null) return {};
  const o = obj(v, "extensions");
  const out: { -readonly [K in keyof ExtensionsRequest]: ExtensionsRequest[K] } = {};
  const enabled = (k: string): Obj | null => {
    if (o[k] == null) return null;
    const e = obj(o[k], `extensions.${k}`);
    return optBool(e, "enabled", `extensions.${k}`) === true ? e : null;
  };
  const td = enabled("to_device");
  if (td) {
    const since = td["since"];
    if (since != null && (typeof since !== "string" || !/^(0|[1-9][0-9]{0,15})$/.test(since))) throw MatrixError.invalidParam("extensions.to_device.since", "is not a to-device token this server issued");
    out.toDevice = { limit: td["limit"] == null ? 100 : int(td["limit"], "extensions.to_device.limit", 1, MAX_TO_DEVICE_LIMIT), since: since == null ? null : Number(since) };
  }
  if (enabled("e2ee")) out.e2ee = true;
  for (const [k, key] of [["account_data", "accountData"], ["receipts", "receipts"], ["typing", "typing"]] as const) {
    const e = enabled(k);
    if (e) out[key] = scope(e, `extensions.${k}`);
  }
  return out;
}

/** Parses a request body (already JSON, at most the route's byte limit) for `userId` (who `$ME` stands for). */
export function parseSlidingRequest(body: unknown, userId: UserId): SlidingRequest {
  const o = obj(body, "body");
  const connId = o["conn_id"] ?? "";
  if (typeof connId !== "string") throw bad("conn_id", "must be a string");
  if (connId.length > MAX_CONN_ID) throw MatrixError.invalidParam("conn_id", `is longer than ${MAX_CONN_ID} characters`);
  const lists = new Map<string, ListRequest>();
  if (o["lists"] != null) {
    const l = obj(o["lists"], "lists");
    const keys = Object.keys(l);
    if (keys.length > MAX_LISTS) throw MatrixError.invalidParam("lists", `has more than ${MAX_LISTS} lists`);
    for (const k of keys) {
      if (k.length > MAX_LIST_KEY) throw MatrixError.invalidParam("lists", `list key ${JSON.stringify(k.slice(0, 16))}... is longer than ${MAX_LIST_KEY} characters`);
      lists.set(k, list(l[k], `lists.${k}`, userId));
    }
  }
  const subscriptions = new Map<RoomId, RoomConfig>();
  if (o["room_subscriptions"] != null) {
    const s = obj(o["room_subscriptions"], "room_subscriptions");
    const keys = Object.keys(s);
    if (keys.length > MAX_SUBSCRIPTIONS) throw MatrixError.invalidParam("room_subscriptions", `has more than ${MAX_SUBSCRIPTIONS} rooms`);
    for (const k of keys) {
      let roomId: RoomId;
      try {
        roomId = parseRoomId(k);
      } catch {
        throw MatrixError.invalidParam("room_subscriptions", `${JSON.stringify(k.slice(0, 64))} is not a room ID`);
      }
      subscriptions.set(roomId, roomConfig(obj(s[k], `room_subscriptions.${k}`), `room_subscriptions.${k}`, userId));
    }
  }
  return { connId, lists, subscriptions, extensions: extensions(o["extensions"]) };
}
