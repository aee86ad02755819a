/**
 * POST /rooms/{roomId}/upgrade as data: the state events of the replacement room, and the old room's power levels
 * once it is replaced (https://spec.matrix.org/v1.16/client-server-api/#server-behaviour-19).
 *
 * The new room, in order: 1. m.room.create with the new room_version and `predecessor` (the old room and its last
 * known event), the old create's `type` and `m.federate` kept as Synapse keeps them; 2. the upgrader's join;
 * 3. the old power levels (the upgrader raised for now when they could not otherwise send the copied state; v12
 * rooms list no creators in `users`; a downgrade from v12 lists the old creators at 100); 4. the copied state:
 * the spec's recommended list (UPGRADE_COPIED_STATE), with Synapse's additions: every m.space.child of a space, the
 * bans, and the canonical alias (its aliases move with the room); 5. the power levels as they were, if step 3
 * raised the upgrader. Membership but bans is not copied (the spec: servers cannot impersonate other servers' users).
 */
import type { EventId, RoomId, UserId } from "../ids/index.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import type { RoomVersionRules } from "../room-versions/rules.js";
import { tombstoneAboveState, type CreateRoomPlan, type StateEventTemplate } from "./create-room.js";

/** The spec's recommended state to transfer, m.room.power_levels apart (step 3). */
export const UPGRADE_COPIED_STATE: readonly string[] = [
  "m.room.server_acl", "m.room.encryption", "m.room.name", "m.room.avatar", "m.room.topic", "m.room.guest_access", "m.room.history_visibility", "m.room.join_rules",
];

/** Other state the upgrade reads from the old room: power levels, canonical alias, space children, bans. */
export const UPGRADE_READ_STATE: readonly string[] = [...UPGRADE_COPIED_STATE, "m.room.power_levels", "m.room.canonical_alias"];

export interface OldStateEntry {
  readonly type: string;
  readonly stateKey: string;
  readonly content: JsonObject;
}

export interface RoomUpgradeInput {
  /** The new room's version. */
  readonly rules: RoomVersionRules;
  readonly upgrader: UserId;
  readonly upgraderProfile?: JsonObject;
  readonly oldRoomId: RoomId;
  readonly lastEventId: EventId;
  readonly oldCreateContent: JsonObject;
  /** The old room's creators when its version gives creators unlimited power (v12), else empty. */
  readonly oldPrivilegedCreators: readonly UserId[];
  /** The old room's current state entries of UPGRADE_READ_STATE, its m.space.child entries and its bans. */
  readonly oldState: readonly OldStateEntry[];
  /** v12+: `additional_creators` of the request. */
  readonly additionalCreators?: readonly UserId[];
}

type Obj = Record<string, JsonValue>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const level = (v: JsonValue | undefined, dflt: number): number => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : dflt);

export function planRoomUpgrade(input: RoomUpgradeInput): CreateRoomPlan {
  const { rules, upgrader } = input;
  const ev = (type: string, content: JsonObject, stateKey = ""): StateEventTemplate => ({ type, stateKey, sender: upgrader, content });
  const events: StateEventTemplate[] = [];
  const find = (type: string, key = "") => input.oldState.find((e) => e.type === type && e.stateKey === key);

  // Step 1
  const create: Obj = { room_version: rules.id, predecessor: { room_id: input.oldRoomId, event_id: input.lastEventId } };
  for (const k of ["type", "m.federate"]) if (input.oldCreateContent[k] !== undefined) create[k] = input.oldCreateContent[k]!;
  if (!rules.auth.creatorFromSender) create["creator"] = upgrader;
  const extraCreators = rules.auth.privilegedCreators ? [...new Set(input.additionalCreators ?? [])].filter((u) => u !== upgrader) : [];
  if (extraCreators.length > 0) create["additional_creators"] = extraCreators;
  events.push(ev("m.room.create", create));

  // Step 2
  events.push(ev("m.room.member", { ...(input.upgraderProfile ?? {}), membership: "join" }, upgrader));

  // What steps 4 copies.
  const copied: StateEventTemplate[] = [];
  for (const type of UPGRADE_COPIED_STATE) {
    const e = find(type);
    if (e) copied.push(ev(type, e.content));
  }
  if (input.oldCreateContent["type"] === "m.space") for (const e of input.oldState) if (e.type === "m.space.child") copied.push(ev(e.type, e.content, e.stateKey));
  for (const e of input.oldState) {
    if (e.type !== "m.room.member" || e.content["membership"] !== "ban" || e.stateKey === upgrader) continue;
    const content: Obj = { membership: "ban" };
    if (typeof e.content["reason"] === "string") content["reason"] = e.content["reason"];
    copied.push(ev("m.room.member", content, e.stateKey));
  }
  const alias = find("m.room.canonical_alias");
  if (alias) copied.push(ev("m.room.canonical_alias", alias.content));

  // Step 3
  const oldPl = find("m.room.power_levels");
  let restore: JsonObject | undefined;
  if (oldPl) {
    const users: Obj = isObj(oldPl.content["users"]) ? { ...oldPl.content["users"] } : {};
    if (rules.auth.privilegedCreators) {
      for (const c of [upgrader, ...extraCreators]) delete users[c];
    } else {
      for (const c of input.oldPrivilegedCreators) users[c] = Math.max(100, level(users[c], 0));
    }
    const pl = tombstoneAboveState(rules, { ...oldPl.content, users });
    events.push(ev("m.room.power_levels", pl));
    if (!rules.auth.privilegedCreators) {
      const plEvents = isObj(pl["events"]) ? pl["events"] : {};
      const needed = Math.max(
        0,
        ...copied.map((c) => (c.type === "m.room.member" ? level(pl["ban"], 50) : level(plEvents[c.type], level(pl["state_default"], 50)))),
        level(plEvents["m.room.power_levels"], level(pl["state_default"], 50)),
      );
      const mine = level(users[upgrader], level(pl["users_default"], 0));
      if (mine < needed) {
        events[events.length - 1] = ev("m.room.power_levels", { ...pl, users: { ...users, [upgrader]: needed } });
        restore = pl;
      }
    }
  }

  // Step 4
  events.push(...copied);

  // Step 5
  if (restore) events.push(ev("m.room.power_levels", restore));
  return { rules, roomIdFromCreateEvent: rules.roomId === "create-event-hash", visibility: "private", events };
}

/**
 * The old room's power levels once replaced (the spec's example): events_default and invite at the greater of 50
 * and users_default + 1, so ordinary members can no longer talk or invite there.
 */
export function restrictedOldPowerLevels(content: JsonObject): JsonObject {
  const min = Math.max(50, level(content["users_default"], 0) + 1);
  return { ...content, events_default: Math.max(min, level(content["events_default"], 0)), invite: Math.max(min, level(content["invite"], 0)) };
}
