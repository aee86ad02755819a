/**
 * Builds `Pdu` objects for tests with arbitrary event ids (no hashing or
 * signing): the auth and state-res code only reads the normalised fields.
 * `raw` mirrors them in the room version's wire shape so code that looks at
 * raw JSON (signatures, v12 create without room_id) sees something sensible.
 */
import type { Pdu } from "../../src/core/events/pdu.js";
import type { EventId, RoomId, UserId } from "../../src/core/ids/index.js";
import type { JsonObject, JsonValue } from "../../src/core/json/types.js";
import type { RoomVersionRules } from "../../src/core/room-versions/rules.js";

export interface PduSpec {
  readonly id: string;
  readonly roomId: string;
  readonly type: string;
  readonly sender: string;
  readonly stateKey?: string | undefined;
  readonly content?: JsonObject;
  readonly prev?: readonly string[];
  readonly auth?: readonly string[];
  readonly depth?: number;
  readonly ts?: number;
  readonly redacts?: string;
  /** Extra signatures: server name -> key id -> signature (the sender's server is always present). */
  readonly signatures?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export function makePdu(rules: RoomVersionRules, s: PduSpec): Pdu {
  const content = s.content ?? {};
  const prev = s.prev ?? [];
  const auth = s.auth ?? [];
  const senderServer = s.sender.includes(":") ? s.sender.slice(s.sender.indexOf(":") + 1) : "invalid";
  const signatures: Record<string, JsonValue> = { [senderServer]: { "ed25519:test": "c2ln" } };
  for (const [srv, keys] of Object.entries(s.signatures ?? {})) signatures[srv] = { ...keys };
  const v1 = rules.eventFormat === "v1";
  const isV12Create = rules.auth.createEventIsRoomId && s.type === "m.room.create" && s.stateKey === "";
  const raw: Record<string, JsonValue> = {
    type: s.type,
    sender: s.sender,
    content,
    prev_events: v1 ? prev.map((p) => [p, { sha256: "x" }]) : [...prev],
    auth_events: v1 ? auth.map((p) => [p, { sha256: "x" }]) : [...auth],
    depth: s.depth ?? 1,
    origin_server_ts: s.ts ?? 0,
    hashes: { sha256: "x" },
    signatures,
  };
  if (!isV12Create) raw["room_id"] = s.roomId;
  if (v1) raw["event_id"] = s.id;
  if (s.stateKey !== undefined) raw["state_key"] = s.stateKey;
  if (s.redacts !== undefined) raw["redacts"] = s.redacts;
  return {
    eventId: s.id as EventId,
    roomId: s.roomId as RoomId,
    sender: s.sender as UserId,
    type: s.type,
    stateKey: s.stateKey,
    content,
    prevEvents: prev as EventId[],
    authEvents: auth as EventId[],
    depth: s.depth ?? 1,
    originServerTs: s.ts ?? 0,
    redacts: s.redacts as EventId | undefined,
    roomVersion: rules,
    raw,
  };
}
