/**
 * Strict checks of what remote servers answer to the room endpoints (FederationClient's typed methods). The body
 * has already passed the strict JSON parser (numbers as any JSON allows, so events of room versions 1-5 keep their
 * floats); here each field must have its type, PDUs must parse for the room version (core/events parsePdu: format,
 * size, event id) and belong to the room asked about. The first problem found is thrown as a ResponseShapeError
 * naming the field; the client turns it into FederationError "bad-response".
 */
import { tryParsePdu } from "../../core/events/index.js";
import type { Pdu } from "../../core/events/pdu.js";
import type { EventId, RoomId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { RoomVersionRules } from "../../core/room-versions/index.js";

export class ResponseShapeError extends Error {
  constructor(readonly field: string, why: string) {
    super(`${field}: ${why}`);
    this.name = "ResponseShapeError";
  }
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function objectAt(v: unknown, field: string): JsonObject {
  if (!isObject(v)) throw new ResponseShapeError(field, "must be a JSON object");
  return v;
}

export function stringAt(o: JsonObject, key: string, field = key): string {
  const v = o[key];
  if (typeof v !== "string") throw new ResponseShapeError(field, "must be a string");
  return v;
}

export function optionalStringAt(o: JsonObject, key: string): string | undefined {
  return o[key] === undefined ? undefined : stringAt(o, key);
}

export function integerAt(o: JsonObject, key: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new ResponseShapeError(key, "must be an integer");
  return v;
}

export function arrayAt(o: JsonObject, key: string, opts: { optional?: boolean } = {}): readonly unknown[] {
  const v = o[key];
  if (v === undefined && opts.optional) return [];
  if (!Array.isArray(v)) throw new ResponseShapeError(key, "must be an array");
  return v;
}

export function eventIdsAt(o: JsonObject, key: string): EventId[] {
  return arrayAt(o, key).map((v, i) => {
    if (typeof v !== "string" || !v.startsWith("$")) throw new ResponseShapeError(`${key}[${i}]`, "must be an event id");
    return v as EventId;
  });
}

export function objectsAt(o: JsonObject, key: string, opts: { optional?: boolean } = {}): JsonObject[] {
  return arrayAt(o, key, opts).map((v, i) => objectAt(v, `${key}[${i}]`));
}

/** PDUs of `key`, parsed for the room version; each must be in `roomId` when given. */
export function pdusAt(o: JsonObject, key: string, rules: RoomVersionRules, roomId?: RoomId, opts: { optional?: boolean } = {}): Pdu[] {
  return arrayAt(o, key, opts).map((v, i) => {
    const r = tryParsePdu(v, rules);
    if (!r.ok) throw new ResponseShapeError(`${key}[${i}]`, r.error.message);
    if (roomId !== undefined && r.pdu.roomId !== roomId) throw new ResponseShapeError(`${key}[${i}]`, `is an event of ${r.pdu.roomId}, not of ${roomId}`);
    return r.pdu;
  });
}

/** make_join / make_leave / make_knock: the event template and the room version it is for. */
export function eventTemplate(body: unknown, requireVersion: boolean): { roomVersion: string | undefined; event: JsonObject } {
  const o = objectAt(body, "(response)");
  const roomVersion = requireVersion ? stringAt(o, "room_version") : optionalStringAt(o, "room_version");
  const event = objectAt(o["event"], "event");
  return { roomVersion, event };
}
