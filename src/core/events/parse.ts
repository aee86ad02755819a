/**
 * PDU format checks: step 1 of "Checks performed on receipt of a PDU",
 * https://spec.matrix.org/v1.16/server-server-api/#checks-performed-on-receipt-of-a-pdu
 * against the event format of the room version (https://spec.matrix.org/v1.16/rooms/v12/#event-format
 * and the pdu_v1/v3/v4/v6/v11/v12 schemas) and the size limits,
 * https://spec.matrix.org/v1.16/client-server-api/#size-limits:
 *
 * 1. The event is a JSON object that encodes as canonical JSON (strictly from
 *    v6: no floats, integers in range), at most 65,536 bytes including signatures.
 * 2. `type` (string, <= 255 bytes), `state_key` (string <= 255 bytes, optional),
 *    `sender` (user id, <= 255 bytes), `content` (object).
 * 3. `room_id`: a room id (`!x:server` up to v11, `!<hash>` from v12), except
 *    that a v12 m.room.create has none (its room id is its own hash).
 * 4. `origin_server_ts` and `depth` are integers (depth >= 0).
 * 5. `hashes` is an object with a string `sha256`; `signatures` maps server
 *    names to objects of strings; `unsigned`, when present, is an object.
 * 6. `prev_events` / `auth_events`: lists of event ids (v3+) or of
 *    `[event id, {hashes}]` pairs (v1-v2), with at most 20 and 10 entries (the
 *    PDU schema of every room version: "Must contain less than or equal to 20
 *    events" / "... 10 events"; Synapse refuses more too).
 * 7. `event_id` (v1-v2 only): `$opaque:server`, <= 255 bytes.
 * 8. `redacts`: an event id, top level up to v10 and under content from v11.
 * The event id of a v3+ event is computed here (the reference hash).
 */
import { MatrixError } from "../errors.js";
import { parseEventId, parseRoomId, parseUserId, type EventId, type RoomId, type UserId } from "../ids/index.js";
import { canonicalJson } from "../json/canonical.js";
import { CanonicalJsonError, formatJsonPath } from "../json/errors.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import { utf8Length } from "../json/utf8.js";
import type { RoomVersionRules } from "../room-versions/rules.js";
import { PduFormatError } from "./errors.js";
import { computeEventId, roomIdFromCreateEventId } from "./hashes.js";
import type { Pdu } from "./pdu.js";

export const MAX_PDU_BYTES = 65536;
export const MAX_ID_BYTES = 255;
/** Step 6: https://spec.matrix.org/v1.16/rooms/v12/#event-format (pdu_v12: prev_events, auth_events). */
export const MAX_PREV_EVENTS = 20;
export const MAX_AUTH_EVENTS = 10;

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Runs an id parser from core/ids and turns its MatrixError into a PduFormatError on `field`. */
function id<T>(field: string, parse: (raw: string, field: string) => T, v: unknown): T {
  if (typeof v !== "string") throw new PduFormatError(field, `must be a string, got ${describe(v)}`);
  try {
    return parse(v, field);
  } catch (e) {
    if (e instanceof MatrixError) throw new PduFormatError(field, e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message);
    throw e;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing (missing)";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return `a ${typeof v}`;
}

function shortString(field: string, v: unknown): string {
  if (typeof v !== "string") throw new PduFormatError(field, `must be a string, got ${describe(v)}`);
  if (v.length > MAX_ID_BYTES / 3 && utf8Length(v) > MAX_ID_BYTES) throw new PduFormatError(field, `is longer than ${MAX_ID_BYTES} bytes`);
  return v;
}

function integer(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new PduFormatError(field, `must be an integer, got ${describe(v)}`);
  return v;
}

function eventIdList(field: string, v: unknown, rules: RoomVersionRules, max: number): EventId[] {
  if (!Array.isArray(v)) throw new PduFormatError(field, `must be an array, got ${describe(v)}`);
  if (v.length > max) throw new PduFormatError(field, `lists ${v.length} events, over the limit of ${max}`);
  const out: EventId[] = [];
  for (let i = 0; i < v.length; i++) {
    const item: unknown = v[i];
    if (rules.eventFormat === "v1") {
      if (!Array.isArray(item) || item.length !== 2) throw new PduFormatError(`${field}[${i}]`, "must be an [event id, hashes] pair");
      if (!isObject(item[1])) throw new PduFormatError(`${field}[${i}][1]`, "must be an object of hashes");
      out.push(id(`${field}[${i}][0]`, parseEventId, item[0]));
    } else {
      out.push(id(`${field}[${i}]`, parseEventId, item));
    }
  }
  return out;
}

const V12_ROOM_ID = /^![A-Za-z0-9_-]{43}$/;

export interface ParsePduOptions {
  /** The event id when the caller already computed it (the batch path); skips recomputing the reference hash. */
  readonly eventId?: EventId;
  /**
   * The UTF-8 size of the whole event's canonical JSON when the caller has
   * already encoded it with the version's strictness (measureEvent); skips
   * encoding it again for step 1.
   */
  readonly canonicalSize?: number;
}

/** Checks a received or stored PDU against its room version's format; throws PduFormatError naming the field. */
export function parsePdu(raw: unknown, rules: RoomVersionRules, opts: ParsePduOptions = {}): Pdu {
  // Step 1
  if (!isObject(raw)) throw new PduFormatError("(event)", `must be a JSON object, got ${describe(raw)}`);
  let size = opts.canonicalSize;
  if (size === undefined) {
    let text: string;
    try {
      text = canonicalJson(raw, { strict: rules.strictCanonicalJson });
    } catch (e) {
      if (e instanceof CanonicalJsonError) throw new PduFormatError(e.path.length ? formatJsonPath(e.path) : "(event)", e.reason);
      throw e;
    }
    size = text.length > MAX_PDU_BYTES / 3 ? utf8Length(text) : text.length;
  }
  if (size > MAX_PDU_BYTES) {
    throw new PduFormatError("(event)", `is ${size} bytes as canonical JSON, over the limit of ${MAX_PDU_BYTES}`, "M_TOO_LARGE");
  }
  // Step 2
  const type = shortString("type", raw["type"]);
  const rawStateKey = raw["state_key"];
  const stateKey = rawStateKey === undefined ? undefined : shortString("state_key", rawStateKey);
  const sender: UserId = id("sender", parseUserId, raw["sender"]);
  const content = raw["content"];
  if (!isObject(content)) throw new PduFormatError("content", `must be an object, got ${describe(content)}`);
  // Step 4
  const originServerTs = integer("origin_server_ts", raw["origin_server_ts"]);
  const depth = integer("depth", raw["depth"]);
  if (depth < 0) throw new PduFormatError("depth", "must not be negative");
  // Step 5
  const hashes = raw["hashes"];
  if (!isObject(hashes)) throw new PduFormatError("hashes", `must be an object, got ${describe(hashes)}`);
  if (typeof hashes["sha256"] !== "string") throw new PduFormatError("hashes.sha256", `must be a string, got ${describe(hashes["sha256"])}`);
  const signatures = raw["signatures"];
  if (!isObject(signatures)) throw new PduFormatError("signatures", `must be an object, got ${describe(signatures)}`);
  for (const [server, sigs] of Object.entries(signatures)) {
    if (!isObject(sigs)) throw new PduFormatError(`signatures[${JSON.stringify(server)}]`, "must be an object of key id to signature");
    for (const [keyId, sig] of Object.entries(sigs)) {
      if (typeof sig !== "string") throw new PduFormatError(`signatures[${JSON.stringify(server)}][${JSON.stringify(keyId)}]`, "must be a string");
    }
  }
  if (raw["unsigned"] !== undefined && !isObject(raw["unsigned"])) throw new PduFormatError("unsigned", `must be an object, got ${describe(raw["unsigned"])}`);
  // Step 6
  const prevEvents = eventIdList("prev_events", raw["prev_events"], rules, MAX_PREV_EVENTS);
  const authEvents = eventIdList("auth_events", raw["auth_events"], rules, MAX_AUTH_EVENTS);
  // Step 7
  let eventId: EventId;
  if (rules.eventId === "server-minted") {
    eventId = id("event_id", parseEventId, raw["event_id"]);
    if (!eventId.includes(":")) throw new PduFormatError("event_id", `must be '$opaque:server' in room version ${rules.id}`);
  } else {
    eventId = opts.eventId ?? computeEventId(raw, rules);
  }
  // Step 3
  let roomId: RoomId;
  const rawRoomId = raw["room_id"];
  if (rules.roomId === "create-event-hash") {
    if (type === "m.room.create" && stateKey === "") {
      if (rawRoomId !== undefined) throw new PduFormatError("room_id", `must be absent on an m.room.create event in room version ${rules.id} (the room id is the event's hash)`);
      roomId = roomIdFromCreateEventId(eventId);
    } else {
      roomId = id("room_id", parseRoomId, rawRoomId);
      if (!V12_ROOM_ID.test(roomId)) throw new PduFormatError("room_id", `must be '!' and a 43-character URL-safe hash in room version ${rules.id}`);
    }
  } else {
    roomId = id("room_id", parseRoomId, rawRoomId);
    if (!roomId.includes(":")) throw new PduFormatError("room_id", `must be '!opaque:server' in room version ${rules.id}`);
  }
  // Step 8
  let redacts: EventId | undefined;
  const rawRedacts: JsonValue | undefined = rules.redactsInContent ? content["redacts"] : raw["redacts"];
  if (rawRedacts !== undefined) redacts = id(rules.redactsInContent ? "content.redacts" : "redacts", parseEventId, rawRedacts);

  return {
    eventId,
    roomId,
    sender,
    type,
    stateKey,
    content,
    prevEvents,
    authEvents,
    depth,
    originServerTs,
    redacts,
    roomVersion: rules,
    raw,
  };
}

/** parsePdu as a verdict instead of an exception. */
export function tryParsePdu(raw: unknown, rules: RoomVersionRules, opts: ParsePduOptions = {}): { ok: true; pdu: Pdu } | { ok: false; error: PduFormatError } {
  try {
    return { ok: true, pdu: parsePdu(raw, rules, opts) };
  } catch (e) {
    if (e instanceof PduFormatError) return { ok: false, error: e };
    if (e instanceof MatrixError) return { ok: false, error: new PduFormatError("(event)", e.message) };
    throw e;
  }
}
