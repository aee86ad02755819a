/**
 * POST /createRoom as data: a strict parser for the request body and the
 * ordered list of state events the server must send for it.
 * https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3createroom
 *
 * The steps, in the spec's order (numbered as there):
 * 1. m.room.create; 2. the creator's join; 3. m.room.power_levels (defaults,
 * then the preset, then power_level_content_override); 4. m.room.canonical_alias
 * if an alias was asked for; 5. the preset's join_rules, history_visibility
 * and guest_access; 6. initial_state in order; 7. name and topic; 8. invites.
 * Room-version differences come from the room-version table's flags.
 */
import { MatrixError } from "../errors.js";
import { parseRoomAlias, parseUserId, type RoomAlias, type ServerName, type UserId } from "../ids/index.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import { roomVersion, type RoomVersionRules } from "../room-versions/rules.js";

export type CreateRoomPreset = "private_chat" | "trusted_private_chat" | "public_chat";
const PRESETS: readonly string[] = ["private_chat", "trusted_private_chat", "public_chat"];

export interface InitialStateEvent {
  readonly type: string;
  readonly stateKey: string;
  readonly content: JsonObject;
}

export interface CreateRoomRequest {
  readonly visibility: "public" | "private";
  /** The preset asked for, or the one `visibility` implies. */
  readonly preset: CreateRoomPreset;
  readonly rules: RoomVersionRules;
  /** The alias localpart asked for; the caller resolves it to a RoomAlias and checks it is free. */
  readonly roomAliasName?: string;
  readonly name?: string;
  readonly topic?: string;
  /** Deduplicated, in the order given. */
  readonly invite: readonly UserId[];
  readonly initialState: readonly InitialStateEvent[];
  readonly creationContent: JsonObject;
  readonly powerLevelContentOverride?: JsonObject;
  readonly isDirect: boolean;
}

type Obj = Record<string, JsonValue>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function optString(body: Obj, key: string): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw MatrixError.badJson(`${key}: must be a string`);
  return v;
}
function optObject(body: Obj, key: string): Obj | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (!isObj(v)) throw MatrixError.badJson(`${key}: must be a JSON object`);
  return v;
}

/** Upper bounds so one request cannot make the server send unbounded events. */
export const MAX_CREATE_ROOM_INVITES = 1000;
export const MAX_CREATE_ROOM_INITIAL_STATE = 1000;

export interface CreateRoomLimits {
  /** The server's `default_room_version`. */
  readonly defaultRoomVersion: string;
}

/**
 * Parses a /createRoom body for `creator`. Wrong types are M_BAD_JSON, bad
 * values M_INVALID_PARAM (each naming the field), an unknown room version
 * M_UNSUPPORTED_ROOM_VERSION. `invite_3pid` is checked to be an array and
 * otherwise ignored (Zion has no identity-server invites).
 */
export function parseCreateRoomRequest(raw: unknown, creator: UserId, limits: CreateRoomLimits): CreateRoomRequest {
  if (!isObj(raw)) throw MatrixError.badJson("body: must be a JSON object");
  const body = raw;

  const visibility = optString(body, "visibility") ?? "private";
  if (visibility !== "public" && visibility !== "private") throw MatrixError.invalidParam("visibility", 'must be "public" or "private"');
  const presetRaw = optString(body, "preset");
  if (presetRaw !== undefined && !PRESETS.includes(presetRaw)) throw MatrixError.invalidParam("preset", `must be one of ${PRESETS.join(", ")}`);
  // "If unspecified, the server should use the visibility to determine which preset to use."
  const preset = (presetRaw ?? (visibility === "public" ? "public_chat" : "private_chat")) as CreateRoomPreset;

  const rules = roomVersion(optString(body, "room_version") ?? limits.defaultRoomVersion);

  const roomAliasName = optString(body, "room_alias_name");
  if (roomAliasName !== undefined && (roomAliasName.length === 0 || /[:\s]/.test(roomAliasName))) {
    throw MatrixError.invalidParam("room_alias_name", "must be a non-empty alias localpart without ':' or whitespace");
  }
  const name = optString(body, "name");
  const topic = optString(body, "topic");

  const inviteRaw = body["invite"];
  const invite: UserId[] = [];
  if (inviteRaw !== undefined) {
    if (!Array.isArray(inviteRaw)) throw MatrixError.badJson("invite: must be an array of user ids");
    if (inviteRaw.length > MAX_CREATE_ROOM_INVITES) throw MatrixError.invalidParam("invite", `has more than ${MAX_CREATE_ROOM_INVITES} entries`);
    inviteRaw.forEach((u, i) => {
      if (typeof u !== "string") throw MatrixError.badJson(`invite[${i}]: must be a string`);
      const id = parseUserId(u, `invite[${i}]`);
      if (id === creator) throw MatrixError.invalidParam(`invite[${i}]`, "is the room's creator");
      if (!invite.includes(id)) invite.push(id);
    });
  }
  if (body["invite_3pid"] !== undefined && !Array.isArray(body["invite_3pid"])) throw MatrixError.badJson("invite_3pid: must be an array");

  const initialRaw = body["initial_state"];
  const initialState: InitialStateEvent[] = [];
  if (initialRaw !== undefined) {
    if (!Array.isArray(initialRaw)) throw MatrixError.badJson("initial_state: must be an array");
    if (initialRaw.length > MAX_CREATE_ROOM_INITIAL_STATE) throw MatrixError.invalidParam("initial_state", `has more than ${MAX_CREATE_ROOM_INITIAL_STATE} entries`);
    initialRaw.forEach((e, i) => {
      const f = `initial_state[${i}]`;
      if (!isObj(e)) throw MatrixError.badJson(`${f}: must be a JSON object`);
      if (typeof e["type"] !== "string") throw MatrixError.badJson(`${f}.type: must be a string`);
      if (e["state_key"] !== undefined && typeof e["state_key"] !== "string") throw MatrixError.badJson(`${f}.state_key: must be a string`);
      if (!isObj(e["content"])) throw MatrixError.badJson(`${f}.content: must be a JSON object`);
      if (e["type"] === "m.room.create") throw MatrixError.invalidParam(`${f}.type`, "the server makes the m.room.create event (use creation_content)");
      initialState.push({ type: e["type"], stateKey: e["state_key"] ?? "", content: e["content"] });
    });
  }

  const creationContent = optObject(body, "creation_content") ?? {};
  if (rules.auth.privilegedCreators && creationContent["additional_creators"] !== undefined) {
    const extra = creationContent["additional_creators"];
    if (!Array.isArray(extra)) throw MatrixError.badJson("creation_content.additional_creators: must be an array of user ids");
    extra.forEach((u, i) => {
      if (typeof u !== "string") throw MatrixError.badJson(`creation_content.additional_creators[${i}]: must be a string`);
      parseUserId(u, `creation_content.additional_creators[${i}]`);
    });
  }

  const powerLevelContentOverride = optObject(body, "power_level_content_override");

  const isDirect = body["is_direct"];
  if (isDirect !== undefined && typeof isDirect !== "boolean") throw MatrixError.badJson("is_direct: must be a boolean");

  const req: CreateRoomRequest = {
    visibility,
    preset,
    rules,
    ...(roomAliasName !== undefined ? { roomAliasName } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(topic !== undefined ? { topic } : {}),
    invite,
    initialState,
    creationContent,
    ...(powerLevelContentOverride ? { powerLevelContentOverride } : {}),
    isDirect: isDirect ?? false,
  };

  // v12: creators have infinite power and may not be listed in power levels' users.
  if (rules.auth.privilegedCreators) {
    const creators = creatorsOf(req, creator);
    const initialPlIndex = initialState.findIndex((e) => e.type === "m.room.power_levels" && e.stateKey === "");
    const sources: [string, JsonValue | undefined][] = [
      ["power_level_content_override.users", powerLevelContentOverride?.["users"]],
      [`initial_state[${initialPlIndex}].content.users`, initialState[initialPlIndex]?.content["users"]],
    ];
    for (const [fieldName, users] of sources) {
      if (!isObj(users)) continue;
      for (const u of Object.keys(users)) {
        if (creators.includes(u as UserId)) {
          throw MatrixError.invalidParam(fieldName, `${u} is a room creator, whose power cannot be set in room version ${rules.id}`);
        }
      }
    }
  }
  return req;
}

/**
 * The alias `room_alias_name` names on this server (`#name:server`); over-long
 * aliases are M_INVALID_PARAM naming room_alias_name. The caller checks it is
 * free (M_ROOM_IN_USE) before planning the room.
 */
export function roomAliasFromName(name: string, server: ServerName): RoomAlias {
  return parseRoomAlias(`#${name}:${server}`, "room_alias_name");
}

/** v12 creators: the sender, creation_content.additional_creators and, for trusted_private_chat, the invitees (deduplicated). */
function creatorsOf(req: CreateRoomRequest, creator: UserId): UserId[] {
  const out: UserId[] = [creator];
  const extra = req.creationContent["additional_creators"];
  const add = (u: string) => {
    if (!out.includes(u as UserId)) out.push(u as UserId);
  };
  if (Array.isArray(extra)) for (const u of extra) if (typeof u === "string") add(u);
  if (req.preset === "trusted_private_chat") for (const u of req.invite) add(u);
  return out;
}

/** A state event the server is to build, sign and send, in order. */
export interface StateEventTemplate {
  readonly type: string;
  readonly stateKey: string;
  readonly sender: UserId;
  readonly content: JsonObject;
}

export interface CreateRoomPlan {
  readonly rules: RoomVersionRules;
  /** v12: the room id is the create event's hash, so the create event carries no room_id. */
  readonly roomIdFromCreateEvent: boolean;
  /** For the published room directory. */
  readonly visibility: "public" | "private";
  readonly events: readonly StateEventTemplate[];
}

export interface CreateRoomContext {
  readonly creator: UserId;
  /** The alias from room_alias_name, already made and checked free by the caller. */
  readonly alias?: RoomAlias;
  /** Extra content for the creator's join (displayname, avatar_url). */
  readonly creatorProfile?: JsonObject;
}

const PRESET_STATE: Record<CreateRoomPreset, { join_rule: string; history_visibility: string; guest_access: string }> = {
  private_chat: { join_rule: "invite", history_visibility: "shared", guest_access: "can_join" },
  trusted_private_chat: { join_rule: "invite", history_visibility: "shared", guest_access: "can_join" },
  public_chat: { join_rule: "public", history_visibility: "shared", guest_access: "forbidden" },
};

/**
 * Step 3's generated content. The spec leaves the numbers to the server;
 * these are Synapse's, so rooms behave the same for Element users: state at
 * 50, power levels, history visibility, tombstone, ACLs and encryption at
 * 100, and in private presets anyone may invite. In v12 the creators are not
 * listed and tombstone needs 150 ("MUST explicitly be higher than state_default").
 */
function defaultPowerLevels(req: CreateRoomRequest, creator: UserId): JsonObject {
  const privileged = req.rules.auth.privilegedCreators;
  const users: Record<string, JsonValue> = {};
  if (!privileged) {
    users[creator] = 100;
    // trusted_private_chat: "All invitees are given the same power level as the room creator."
    if (req.preset === "trusted_private_chat") for (const u of req.invite) users[u] = 100;
  }
  const content: Record<string, JsonValue> = {
    users,
    users_default: 0,
    events: {
      "m.room.name": 50,
      "m.room.power_levels": 100,
      "m.room.history_visibility": 100,
      "m.room.canonical_alias": 50,
      "m.room.avatar": 50,
      "m.room.tombstone": privileged ? 150 : 100,
      "m.room.server_acl": 100,
      "m.room.encryption": 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: req.preset === "public_chat" ? 50 : 0,
  };
  return content;
}

/**
 * v12: "the power level for sending m.room.tombstone events MUST explicitly be
 * higher than state_default". When the client's content leaves tombstone out
 * (an `events` override replaces the whole map), add it: 150, or one above a
 * higher state_default. A level the client set itself is kept.
 */
export function tombstoneAboveState(rules: RoomVersionRules, content: JsonObject): JsonObject {
  if (!rules.auth.privilegedCreators) return content;
  const events = isObj(content["events"]) ? content["events"] : {};
  if (events["m.room.tombstone"] !== undefined) return content;
  const stateDefault = typeof content["state_default"] === "number" ? content["state_default"] : 50;
  return { ...content, events: { ...events, "m.room.tombstone": Math.max(150, stateDefault + 1) } };
}

export function planCreateRoom(req: CreateRoomRequest, ctx: CreateRoomContext): CreateRoomPlan {
  const { creator } = ctx;
  const rules = req.rules;
  const ev = (type: string, content: JsonObject, stateKey = ""): StateEventTemplate => ({ type, stateKey, sender: creator, content });
  const events: StateEventTemplate[] = [];

  // Step 1: the create event. The server overwrites creator and room_version.
  const create: Record<string, JsonValue> = { ...req.creationContent, room_version: rules.id };
  delete create["creator"];
  if (!rules.auth.creatorFromSender) create["creator"] = creator;
  if (rules.auth.privilegedCreators) {
    const extra = creatorsOf(req, creator).slice(1);
    if (extra.length > 0) create["additional_creators"] = extra;
    else delete create["additional_creators"];
  }
  events.push(ev("m.room.create", create));

  // Step 2: the creator joins.
  events.push(ev("m.room.member", { ...(ctx.creatorProfile ?? {}), membership: "join" }, creator));

  // Step 3: power levels: initial_state's if it has them (they must come this
  // early, before the events they authorise), else the defaults; then
  // power_level_content_override "applied on top", top-level key by key.
  const initialKeys = new Set(req.initialState.map((e) => `${e.type}\u0000${e.stateKey}`));
  const inInitial = (type: string) => initialKeys.has(`${type}\u0000`);
  const initialPl = req.initialState.find((e) => e.type === "m.room.power_levels" && e.stateKey === "");
  events.push(ev("m.room.power_levels", tombstoneAboveState(rules, { ...(initialPl?.content ?? defaultPowerLevels(req, creator)), ...(req.powerLevelContentOverride ?? {}) })));

  // Step 4: the canonical alias, unless initial_state sets one.
  if (ctx.alias !== undefined && !inInitial("m.room.canonical_alias")) events.push(ev("m.room.canonical_alias", { alias: ctx.alias }));

  // Step 5: the preset's state; initial_state "takes precedence over events set by preset".
  const p = PRESET_STATE[req.preset];
  if (!inInitial("m.room.join_rules")) events.push(ev("m.room.join_rules", { join_rule: p.join_rule }));
  if (!inInitial("m.room.history_visibility")) events.push(ev("m.room.history_visibility", { history_visibility: p.history_visibility }));
  if (!inInitial("m.room.guest_access")) events.push(ev("m.room.guest_access", { guest_access: p.guest_access }));

  // Step 6: initial_state in order, except the power levels (sent at step 3) and what name and topic overwrite.
  for (const e of req.initialState) {
    if (e === initialPl) continue;
    if (e.stateKey === "" && ((e.type === "m.room.name" && req.name !== undefined) || (e.type === "m.room.topic" && req.topic !== undefined))) continue;
    events.push(ev(e.type, e.content, e.stateKey));
  }

  // Step 7: name and topic (the topic also as a text/plain m.topic block).
  if (req.name !== undefined) events.push(ev("m.room.name", { name: req.name }));
  if (req.topic !== undefined) {
    events.push(ev("m.room.topic", { topic: req.topic, "m.topic": { "m.text": [{ body: req.topic, mimetype: "text/plain" }] } }));
  }

  // Step 8: invites, with is_direct when asked.
  for (const u of req.invite) events.push(ev("m.room.member", { membership: "invite", ...(req.isDirect ? { is_direct: true } : {}) }, u));

  return { rules, roomIdFromCreateEvent: rules.roomId === "create-event-hash", visibility: req.visibility, events };
}
