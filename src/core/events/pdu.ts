/**
 * The normalised view of a PDU that the rest of Zion works with, whatever the
 * room version's wire format (v1 `[id, hashes]` pairs versus v3 bare ids;
 * v1-v2 `event_id` field versus hash-derived ids; v12 create events without
 * `room_id`). `raw` keeps the wire JSON exactly as received or built, which is
 * what gets stored, hashed, signed and sent.
 */
import type { EventId, RoomId, UserId } from "../ids/index.js";
import type { JsonObject } from "../json/types.js";
import type { RoomVersionRules } from "../room-versions/rules.js";

export interface Pdu {
  readonly eventId: EventId;
  readonly roomId: RoomId;
  readonly sender: UserId;
  readonly type: string;
  /** `undefined` for message (non-state) events; "" is a valid state key. */
  readonly stateKey: string | undefined;
  readonly content: JsonObject;
  readonly prevEvents: readonly EventId[];
  readonly authEvents: readonly EventId[];
  readonly depth: number;
  readonly originServerTs: number;
  /** Top-level `redacts` (v1-v10) or `content.redacts` (v11+), for m.room.redaction. */
  readonly redacts: EventId | undefined;
  readonly roomVersion: RoomVersionRules;
  /** The wire JSON (with `signatures`, `hashes`, and any `unsigned`). */
  readonly raw: JsonObject;
}

/** A state map key: `${type}\u0000${stateKey}`; use stateKeyOf to build one. */
export type StateKey = string & { readonly __brand: "StateKey" };

export function stateKeyOf(type: string, stateKey: string): StateKey {
  return `${type}\u0000${stateKey}` as StateKey;
}

export function splitStateKey(k: StateKey): { type: string; stateKey: string } {
  const i = k.indexOf("\u0000");
  return { type: k.slice(0, i), stateKey: k.slice(i + 1) };
}

/** Room state: (type, state_key) -> event id. */
export type StateMap = ReadonlyMap<StateKey, EventId>;
