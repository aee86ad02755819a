/**
 * Auth events selection: which room state authorises an event.
 * https://spec.matrix.org/v1.16/server-server-api/#auth-events-selection
 *
 * `authEventTypesFor` answers "which state is needed to auth this event" and so
 * includes `m.room.create` in every room version (the rules read it); the
 * selection an event's own `auth_events` must follow leaves the create event
 * out where the room id stands for it (v12, `createEventIsRoomId`).
 */
import { stateKeyOf, type Pdu, type StateKey } from "../events/pdu.js";
import type { RoomVersionRules } from "../room-versions/rules.js";
import { isJsonObject } from "./power-levels.js";

export interface AuthTypesOptions {
  /** Include `(m.room.create, "")` (default true; the `auth_events` selection of v12 passes false). */
  readonly includeCreate?: boolean;
  /** Rules to read; defaults to the event's own room version. */
  readonly rules?: RoomVersionRules;
}

export const CREATE_KEY = stateKeyOf("m.room.create", "");
export const POWER_LEVELS_KEY = stateKeyOf("m.room.power_levels", "");
export const JOIN_RULES_KEY = stateKeyOf("m.room.join_rules", "");

/** The (type, state_key) pairs whose current state authorises `event`, in selection order, without duplicates. */
export function authEventTypesFor(event: Pdu, opts: AuthTypesOptions = {}): StateKey[] {
  const rules = opts.rules ?? event.roomVersion;
  if (event.type === "m.room.create" && event.stateKey === "") return [];
  const out: StateKey[] = [];
  const add = (k: StateKey): void => {
    if (!out.includes(k)) out.push(k);
  };
  // The create event, depending on the room version.
  if (opts.includeCreate ?? true) add(CREATE_KEY);
  // The current power levels and the sender's membership.
  add(POWER_LEVELS_KEY);
  if (typeof event.sender === "string") add(stateKeyOf("m.room.member", event.sender));
  if (event.type === "m.room.member" && typeof event.stateKey === "string") {
    const content = isJsonObject(event.content) ? event.content : {};
    const membership = content["membership"];
    // The target's membership.
    add(stateKeyOf("m.room.member", event.stateKey));
    // The join rules for join, invite and knock.
    if (membership === "join" || membership === "invite" || membership === "knock") add(JOIN_RULES_KEY);
    // The third-party invite named by the token.
    if (membership === "invite") {
      const tpi = content["third_party_invite"];
      const signed = isJsonObject(tpi) ? tpi["signed"] : undefined;
      const token = isJsonObject(signed) ? signed["token"] : undefined;
      if (typeof token === "string") add(stateKeyOf("m.room.third_party_invite", token));
    }
    // The authorising user's membership for restricted joins (v8+).
    const via = content["join_authorised_via_users_server"];
    if (membership === "join" && rules.auth.restrictedJoins && typeof via === "string") add(stateKeyOf("m.room.member", via));
  }
  return out;
}
