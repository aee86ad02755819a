/**
 * Stripped state (https://spec.matrix.org/v1.16/client-server-api/#stripped-state): what an invitee or a knocking
 * user is shown of a room they are not in. Over federation it arrives as `invite_room_state` (PUT /invite) and
 * `knock_room_state` (send_knock); since MSC4311 its entries may be whole PDUs, which are stripped events too.
 *
 * 1. The value must be an array (absent: none) of at most MAX_STRIPPED_STATE entries: else M_BAD_JSON naming the
 *    field and the limit.
 * 2. Each entry that is an object with a string `type`, `state_key` and `sender` and an object `content` is kept as
 *    those four fields; any other entry is dropped, as Synapse drops them (the spec leaves it to the server for room
 *    versions 1-11).
 */
import { MatrixError } from "../errors.js";
import type { JsonObject } from "../json/types.js";

export const MAX_STRIPPED_STATE = 100;

/**
 * The state events (state key "") a server shows of a room it holds as stripped state, the spec's recommended list:
 * to an invitee (/sync's invite_state, federation's invite_room_state) and to a knocking user (knock_state,
 * knock_room_state).
 */
export const STRIPPED_STATE_TYPES = ["m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar", "m.room.canonical_alias", "m.room.encryption", "m.room.topic"] as const;

const isObj = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

export function parseStrippedState(raw: unknown, field: string): JsonObject[] {
  // Step 1.
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new MatrixError("M_BAD_JSON", 400, `${field} must be an array of stripped state events`);
  if (raw.length > MAX_STRIPPED_STATE) throw new MatrixError("M_BAD_JSON", 400, `${field} holds ${raw.length} events, more than the limit of ${MAX_STRIPPED_STATE}`);
  // Step 2.
  const out: JsonObject[] = [];
  for (const e of raw) {
    if (!isObj(e) || typeof e["type"] !== "string" || typeof e["state_key"] !== "string" || typeof e["sender"] !== "string" || !isObj(e["content"])) continue;
    out.push({ type: e["type"], state_key: e["state_key"], content: e["content"], sender: e["sender"] });
  }
  return out;
}

/** The stripped form of a state event (for invite_state / knock_state). */
export function strippedOf(e: { readonly type: string; readonly stateKey?: string | undefined; readonly content: JsonObject; readonly sender: string }): JsonObject {
  return { type: e.type, state_key: e.stateKey ?? "", content: e.content, sender: e.sender };
}
