/**
 * The redaction algorithm: https://spec.matrix.org/v1.16/rooms/v11/#redactions
 * (and the v1, v6, v8, v9 pages; the kept keys per version are the rows of
 * room-versions/redaction.ts).
 *
 * 1. Keep only the top-level keys the room version lists.
 * 2. Keep only the content keys listed for the event's type; other types keep
 *    an empty content (m.room.create keeps all of it from v11).
 * 3. From v11, m.room.member keeps `third_party_invite` reduced to its `signed` key.
 * `unsigned` is not in any list, so it is removed.
 */
import { copyNumberTexts } from "../json/numbers.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import type { RoomVersionRules } from "../room-versions/rules.js";
import { PduFormatError } from "./errors.js";

const hasOwn = Object.prototype.hasOwnProperty;

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Returns the redacted copy of an event (the input is not changed). Works on any object, valid PDU or not. */
export function redactEvent(raw: JsonObject, rules: RoomVersionRules): JsonObject {
  if (!isObject(raw)) throw new PduFormatError("(event)", "must be a JSON object");
  const out: Record<string, JsonValue> = {};
  // Step 1
  for (const k of rules.redactionRules.keptTopLevelKeys) {
    if (hasOwn.call(raw, k) && raw[k] !== undefined) out[k] = raw[k]!;
  }
  out["content"] = redactedContent(raw, rules);
  // The copy keeps the number literals of v1-5 events (json/numbers.ts), or its hash would change.
  copyNumberTexts(raw, out, rules.redactionRules.keptTopLevelKeys);
  return out;
}

/** Steps 2 and 3: the content an event keeps after redaction (always an object). */
export function redactedContent(raw: JsonObject, rules: RoomVersionRules): JsonObject {
  const r = rules.redactionRules;
  const content = raw["content"];
  const type = raw["type"];
  const kept: Record<string, JsonValue> = {};
  let newContent: JsonObject = kept;
  if (isObject(content) && typeof type === "string" && hasOwn.call(r.keptContentKeys, type)) {
    const keys = r.keptContentKeys[type]!;
    if (keys === "all") newContent = content;
    else {
      for (const k of keys) if (hasOwn.call(content, k) && content[k] !== undefined) kept[k] = content[k]!;
      copyNumberTexts(content, kept, keys);
    }
    // Step 3
    if (type === "m.room.member" && r.keepThirdPartyInviteSigned) {
      const tpi = content["third_party_invite"];
      if (isObject(tpi)) kept["third_party_invite"] = hasOwn.call(tpi, "signed") ? { signed: tpi["signed"]! } : {};
    }
  }
  return newContent;
}
