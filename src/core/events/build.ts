/**
 * Building a new PDU: https://spec.matrix.org/v1.16/server-server-api/#adding-hashes-and-signatures-to-outgoing-events
 *
 * 1. Assemble the wire JSON in the room version's format: v1-v2 carry the
 *    minted `event_id` and `[id, {hashes}]` pairs, v3+ bare id lists; `redacts`
 *    goes top level up to v10 and under content from v11; a v12 m.room.create
 *    has no `room_id`.
 * 2. Content hash into `hashes.sha256` (unpadded base64).
 * 3. Redact, sign the redacted copy, copy the signatures back to the full event.
 * 4. Parse the result like any received event: it computes the event id (and
 *    a v12 create event's room id) and proves we never emit a malformed PDU.
 *    A refusal of a field the client chose (type, state_key, content, redacts,
 *    the size) stays a PduFormatError for the client; one of a field the server
 *    filled in (prev_events, auth_events, depth, origin_server_ts, room_id,
 *    event_id, hashes, signatures: e.g. more than 20 prev events) is an
 *    OwnDataError, answered 500 and logged, never a 400.
 */
import type { SigningKey } from "../crypto/keys.js";
import { OwnDataError } from "../errors.js";
import { signJson } from "../crypto/sign.js";
import type { EventId } from "../ids/index.js";
import { encodeBase64 } from "../json/base64.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import type { RoomVersionRules } from "../room-versions/rules.js";
import { PduFormatError } from "./errors.js";
import { contentHash } from "./hashes.js";
import { parsePdu } from "./parse.js";
import type { Pdu } from "./pdu.js";
import { redactEvent } from "./redact.js";

/** A referenced event; v1-v2 pairs carry its `hashes` (sha256), v3+ only the id. */
export interface EventRef {
  readonly eventId: EventId | string;
  readonly sha256?: string;
}

export interface PduTemplate {
  readonly type: string;
  readonly sender: string;
  readonly content: JsonObject;
  /** Present for state events ("" is a valid state key). */
  readonly stateKey?: string;
  /** Required, except for a v12 m.room.create (whose room id is its hash). */
  readonly roomId?: string;
  readonly prevEvents: readonly (EventRef | string)[];
  readonly authEvents: readonly (EventRef | string)[];
  readonly depth: number;
  readonly originServerTs: number;
  /** For m.room.redaction: placed top level (v1-v10) or under content (v11+). */
  readonly redacts?: string;
  /** v1-v2 only: the id the origin minted (`$opaque:our.server`); randomness is the caller's. */
  readonly eventId?: string;
  /** The legacy top-level `origin` (kept by redaction up to v10); omitted unless given. */
  readonly origin?: string;
  readonly unsigned?: JsonObject;
}

export interface PduSigner {
  readonly serverName: string;
  readonly key: SigningKey;
}

function refs(list: readonly (EventRef | string)[], rules: RoomVersionRules): JsonValue[] {
  return list.map((r) => {
    const ref: EventRef = typeof r === "string" ? { eventId: r } : r;
    return rules.eventFormat === "v1" ? [ref.eventId, ref.sha256 === undefined ? {} : { sha256: ref.sha256 }] : ref.eventId;
  });
}

/** Builds, hashes and signs a new PDU for a room version (steps above); throws PduFormatError on a bad template. */
export function buildPdu(rules: RoomVersionRules, t: PduTemplate, signer: PduSigner): Pdu {
  // Step 1
  const isV12Create = rules.roomId === "create-event-hash" && t.type === "m.room.create";
  let content: JsonObject = t.content;
  const raw: Record<string, JsonValue> = {
    type: t.type,
    sender: t.sender,
    depth: t.depth,
    origin_server_ts: t.originServerTs,
    prev_events: refs(t.prevEvents, rules),
    auth_events: refs(t.authEvents, rules),
  };
  if (t.stateKey !== undefined) raw["state_key"] = t.stateKey;
  if (isV12Create) {
    if (t.roomId !== undefined) throw new PduFormatError("room_id", `must not be given for an m.room.create event in room version ${rules.id}`);
  } else {
    if (t.roomId === undefined) throw new PduFormatError("room_id", "is required");
    raw["room_id"] = t.roomId;
  }
  if (rules.eventId === "server-minted") {
    if (t.eventId === undefined) throw new PduFormatError("event_id", `room version ${rules.id} needs an event id minted by the origin`);
    raw["event_id"] = t.eventId;
  } else if (t.eventId !== undefined) {
    throw new PduFormatError("event_id", `room version ${rules.id} derives event ids from the hash; do not give one`);
  }
  if (t.redacts !== undefined) {
    if (rules.redactsInContent) content = { ...content, redacts: t.redacts };
    else raw["redacts"] = t.redacts;
  }
  if (t.origin !== undefined) raw["origin"] = t.origin;
  raw["content"] = content;
  // Steps 2 and 3
  const signed = hashAndSignEvent(raw, rules, signer);
  // Step 4
  try {
    return parsePdu(t.unsigned === undefined ? signed : { ...signed, unsigned: t.unsigned }, rules);
  } catch (e) {
    if (e instanceof PduFormatError && SERVER_FIELDS.test(e.field)) throw new OwnDataError(`building a ${t.type} event`, e);
    throw e;
  }
}

/** The fields buildPdu's caller (the server, not the client) fills in (step 4). */
const SERVER_FIELDS = /^(prev_events|auth_events|depth|origin_server_ts|room_id|event_id|hashes|signatures)\b/;

/**
 * Adds our signature to an event without touching its hashes: signs the
 * redacted copy and merges the signature into the event's `signatures`
 * (e.g. a resident server co-signing a join in send_join, or a restricted
 * join's authorising server).
 */
export function signEvent(raw: JsonObject, rules: RoomVersionRules, signer: PduSigner): JsonObject {
  const signedRedacted = signJson(redactEvent(raw, rules), signer.serverName, signer.key);
  return { ...raw, signatures: signedRedacted["signatures"]! };
}

/**
 * Steps 2 and 3 on any event object: sets `hashes.sha256` to its content hash,
 * then signs (signEvent). Keeps `unsigned` and earlier signatures of other servers.
 */
export function hashAndSignEvent(raw: JsonObject, rules: RoomVersionRules, signer: PduSigner): JsonObject {
  const hashes = { sha256: encodeBase64(contentHash(raw, rules)) };
  return signEvent({ ...raw, hashes }, rules, signer);
}
