/**
 * Hashes and ids of events.
 *
 * Content hash: https://spec.matrix.org/v1.16/server-server-api/#calculating-the-content-hash-for-an-event
 *   1. remove `unsigned`, `signatures` and `hashes`; 2. canonical JSON; 3. SHA-256.
 * Reference hash: https://spec.matrix.org/v1.16/server-server-api/#calculating-the-reference-hash-for-an-event
 *   1. redact; 2. remove `signatures` and `unsigned`; 3. canonical JSON; 4. SHA-256.
 * Event ids: https://spec.matrix.org/v1.16/rooms/v3/#event-ids (standard base64) and
 *   https://spec.matrix.org/v1.16/rooms/v4/#event-ids (URL-safe), `$` + the reference hash;
 *   v1-v2 ids are minted by the origin server and carried in `event_id`.
 * Room ids (v12): https://spec.matrix.org/v1.16/appendices/#room-ids, the create event's id with `!`.
 */
import { sha256Utf8, utf8, utf8Length } from "../crypto/primitives.js";
import type { EventId, RoomId } from "../ids/index.js";
import { encodeBase64, encodeBase64Url } from "../json/base64.js";
import { canonicalJsonValue, canonicalJsonWithout } from "../json/canonical.js";
import { CanonicalJsonError, formatJsonPath } from "../json/errors.js";
import { numberTextAt } from "../json/numbers.js";
import type { JsonObject } from "../json/types.js";
import type { RedactionRules, RoomVersionRules } from "../room-versions/rules.js";
import { PduFormatError } from "./errors.js";
import { redactedContent, redactEvent } from "./redact.js";

const hasOwn = Object.prototype.hasOwnProperty;

function strictness(rules: RoomVersionRules | undefined): { strict: boolean } {
  return { strict: rules?.strictCanonicalJson ?? true };
}

/** The bytes the content hash covers: the event without unsigned, signatures and hashes, as canonical JSON. */
export function contentHashBytes(raw: JsonObject, rules?: RoomVersionRules): Uint8Array {
  return utf8(contentHashText(raw, rules));
}

const NOT_HASHED = new Set(["unsigned", "signatures", "hashes"]);

function contentHashText(raw: JsonObject, rules?: RoomVersionRules): string {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new PduFormatError("(event)", "must be a JSON object");
  return canonicalJsonWithout(raw, NOT_HASHED, strictness(rules));
}

/**
 * The receipt path's one pass over the whole event: its content hash and the
 * UTF-8 size of its full canonical JSON, from one encoding. The full text is
 * the content-hashed text with the `hashes`, `signatures` and `unsigned`
 * members added back, each `"key":value` plus a separating comma. Throws
 * PduFormatError (naming the path) where canonical JSON refuses a value.
 */
export function measureEvent(raw: JsonObject, rules: RoomVersionRules): { canonicalBytes: number; contentHash: Uint8Array } {
  let text: string;
  try {
    text = contentHashText(raw, rules);
  } catch (e) {
    if (e instanceof CanonicalJsonError) throw new PduFormatError(e.path.length ? formatJsonPath(e.path) : "(event)", e.reason);
    throw e;
  }
  let size = utf8Length(text);
  let added = 0;
  for (const k of NOT_HASHED) {
    if (!hasOwn.call(raw, k) || raw[k] === undefined) continue;
    try {
      size += k.length + 3 + utf8Length(canonicalJsonValue(raw[k], rules.strictCanonicalJson)); // "k": plus the value
    } catch (e) {
      if (e instanceof CanonicalJsonError) throw new PduFormatError(formatJsonPath([k, ...e.path]), e.reason);
      throw e;
    }
    added++;
  }
  size += text === "{}" ? Math.max(0, added - 1) : added; // commas
  return { canonicalBytes: size, contentHash: sha256Utf8(text) };
}

/** SHA-256 content hash (the value of `hashes.sha256`, before base64). */
export function contentHash(raw: JsonObject, rules?: RoomVersionRules): Uint8Array {
  return sha256Utf8(contentHashText(raw, rules));
}

/**
 * The bytes both the reference hash and the origin's signature cover: the
 * redacted event without signatures and unsigned, as canonical JSON. Computed
 * once per event on the verification path and used for both.
 */
export function redactedSignedBytes(raw: JsonObject, rules: RoomVersionRules): Uint8Array {
  return utf8(redactedSignedText(raw, rules));
}

const NOT_SIGNED = new Set(["signatures", "unsigned"]);

/** Per redaction row: the kept top-level keys without `signatures`, sorted (all ASCII), with their encoded `"key":`. */
const plans = new WeakMap<RedactionRules, readonly { key: string; prefix: string; commaPrefix: string }[]>();

function planOf(r: RedactionRules): readonly { key: string; prefix: string; commaPrefix: string }[] {
  let plan = plans.get(r);
  if (!plan) {
    plan = [...r.keptTopLevelKeys]
      .filter((k) => !NOT_SIGNED.has(k))
      .sort()
      .map((key) => ({ key, prefix: `${JSON.stringify(key)}:`, commaPrefix: `,${JSON.stringify(key)}:` }));
    plans.set(r, plan);
  }
  return plan;
}

/**
 * The canonical JSON text of the redacted event without signatures and unsigned,
 * written straight from the event: no redacted copy is built on this hot path.
 * Any encoding problem falls back to the plain route, which names the path.
 */
export function redactedSignedText(raw: JsonObject, rules: RoomVersionRules): string {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new PduFormatError("(event)", "must be a JSON object");
  const strict = rules.strictCanonicalJson;
  try {
    let out = "{";
    let first = true;
    const plan = planOf(rules.redactionRules);
    for (let i = 0; i < plan.length; i++) {
      const step = plan[i]!;
      let encoded: string;
      if (step.key === "content") {
        // Most events (messages) keep no content at all: no object to build or encode.
        const type = raw["type"];
        encoded = typeof type !== "string" || !hasOwn.call(rules.redactionRules.keptContentKeys, type) ? "{}" : canonicalJsonValue(redactedContent(raw, rules), strict);
      } else {
        if (!hasOwn.call(raw, step.key)) continue;
        const value = raw[step.key];
        if (value === undefined) continue;
        // A top-level number is encoded alone, outside its container: its kept literal (v1-5) is looked up here.
        encoded = (!strict && typeof value === "number" && Number.isFinite(value) && numberTextAt(raw, step.key)) || canonicalJsonValue(value, strict);
      }
      out += first ? step.prefix : step.commaPrefix;
      out += encoded;
      first = false;
    }
    return out + "}";
  } catch {
    return canonicalJsonWithout(redactEvent(raw, rules), NOT_SIGNED, { strict });
  }
}

/** SHA-256 reference hash of an event. */
export function referenceHash(raw: JsonObject, rules: RoomVersionRules): Uint8Array {
  return sha256Utf8(redactedSignedText(raw, rules));
}

/** The event id a reference hash stands for in a hash-id room version (v3: base64, v4+: URL-safe). */
export function eventIdFromReferenceHash(hash: Uint8Array, rules: RoomVersionRules): EventId {
  if (rules.eventId === "server-minted") throw new PduFormatError("event_id", `room version ${rules.id} event ids are minted by the origin server, not hashed`);
  return `$${rules.eventId === "hash-base64" ? encodeBase64(hash) : encodeBase64Url(hash)}` as EventId;
}

/** The id of an event: its `event_id` (v1-v2) or `$` + its reference hash (v3+). */
export function computeEventId(raw: JsonObject, rules: RoomVersionRules): EventId {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new PduFormatError("(event)", "must be a JSON object");
  if (rules.eventId === "server-minted") {
    const id = raw["event_id"];
    if (typeof id !== "string") throw new PduFormatError("event_id", `is required in room version ${rules.id}`);
    return id as EventId;
  }
  return eventIdFromReferenceHash(referenceHash(raw, rules), rules);
}

/** A v12 room id from its create event's id: the same hash with `!` for `$`. */
export function roomIdFromCreateEventId(createEventId: EventId): RoomId {
  return `!${createEventId.slice(1)}` as RoomId;
}

/** The room id a v12 m.room.create event founds (the hash of the event). */
export function roomIdOfCreateEvent(raw: JsonObject, rules: RoomVersionRules): RoomId {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new PduFormatError("(event)", "must be a JSON object");
  if (rules.roomId !== "create-event-hash") {
    const id = raw["room_id"];
    if (typeof id !== "string") throw new PduFormatError("room_id", "is required");
    return id as RoomId;
  }
  return roomIdFromCreateEventId(computeEventId(raw, rules));
}
