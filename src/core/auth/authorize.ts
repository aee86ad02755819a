/**
 * The authorization rules of every stable room version, driven by the
 * `auth` flags of the room-version table.
 *
 * https://spec.matrix.org/v1.16/rooms/v1/#authorization-rules (v1-v2; v3-v5 drop rule 11)
 * https://spec.matrix.org/v1.16/rooms/v6/#authorization-rules (aliases rule removed, notifications)
 * https://spec.matrix.org/v1.16/rooms/v7/ (knock), v8/v9 (restricted), v10 (integers, knock_restricted)
 * https://spec.matrix.org/v1.16/rooms/v11/#authorization-rules (creator is the sender)
 * https://spec.matrix.org/v1.16/rooms/v12/#authorisation-rules (creators, room id is the create event)
 *
 * Comments carry the rule numbers of the v12 text first and the v1 text in
 * brackets where they differ; verdicts carry the number the room version's
 * own page prints (see numbering.ts).
 *
 * Two entry points:
 * - `checkAuthEvents`: the event against its own `auth_events` (receipt check 4);
 * - `checkAgainstState`: the event against a room state (receipt checks 5 and 6,
 *   soft failure, and the iterative auth checks of state resolution).
 * Neither throws: malformed input is a refusal naming the rule.
 */
import { stateKeyOf, type Pdu, type StateKey } from "../events/pdu.js";
import type { EventId } from "../ids/index.js";
import { parseUserId } from "../ids/index.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import { isKnownRoomVersion, type RoomVersionRules } from "../room-versions/rules.js";
import { authEventTypesFor, CREATE_KEY, JOIN_RULES_KEY, POWER_LEVELS_KEY } from "./auth-events.js";
import { ruleNumbers, type RuleNumbers } from "./numbering.js";
import { creatorsOf, isJsonObject, LEVEL_KEYS, originalCreatorOf, parseLevel, PowerLevelView, UnreadableLevelError } from "./power-levels.js";
import { signedMatchesAnyKey, thirdPartyPublicKeys, verifyThirdPartySignature, type ThirdPartySignatureVerifier } from "./third-party-invite.js";

/** Every verdict names the rule that decided it, as the room version's own page numbers it. */
export type AuthVerdict = { readonly allowed: true; readonly rule: string } | { readonly allowed: false; readonly rule: string; readonly reason: string };

export interface AuthOptions {
  /** Events already rejected (rules "auth events were themselves rejected" and v12 rule 2). */
  readonly isRejected?: (id: EventId) => boolean;
  /** Verifies third-party invite signatures; defaults to ed25519 via core/crypto. */
  readonly verifyThirdPartySignature?: ThirdPartySignatureVerifier;
}

/** A room state to authorise against: a map keyed by stateKeyOf(type, state_key), or a lookup. */
export type AuthState = ReadonlyMap<StateKey, Pdu> | ((key: StateKey) => Pdu | undefined);

type Lookup = (key: StateKey) => Pdu | undefined;

class Refusal {
  constructor(
    readonly rule: string,
    readonly reason: string,
  ) {}
}

function refuse(rule: string | number, reason: string): never {
  throw new Refusal(String(rule), reason);
}

const allow = (rule: string): AuthVerdict => ({ allowed: true, rule });

/** Reads power levels for `rule`: a level that is not a number refuses the event under that rule (see UnreadableLevelError). */
function levels<T>(rule: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnreadableLevelError) refuse(rule, e.message);
    throw e;
  }
}

/** Runs a check; a Refusal becomes a verdict, and so does any unexpected exception (malformed input). */
function guard(f: () => AuthVerdict): AuthVerdict {
  try {
    return f();
  } catch (e) {
    if (e instanceof Refusal) return { allowed: false, rule: e.rule, reason: e.reason };
    return { allowed: false, rule: "malformed", reason: `malformed event: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The domain of a user id or v1-v2 event id: what follows the first ':'. */
function domainOf(id: unknown): string | undefined {
  if (typeof id !== "string") return undefined;
  const i = id.indexOf(":");
  return i < 0 ? undefined : id.slice(i + 1);
}

function isUserId(v: unknown): v is string {
  if (typeof v !== "string") return false;
  try {
    parseUserId(v);
    return true;
  } catch {
    return false;
  }
}

function contentOf(e: Pdu): JsonObject {
  return isJsonObject(e.content) ? e.content : {};
}

/** The v12 create event id that a room id stands for: `!x` -> `$x`. */
export function createEventIdForRoom(roomId: string): EventId {
  return `$${roomId.slice(1)}` as EventId;
}

function isCreateEvent(e: Pdu): boolean {
  return e.type === "m.room.create" && e.stateKey === "";
}

/** Rule 1: `m.room.create`. */
function checkCreate(event: Pdu, rules: RoomVersionRules, n: RuleNumbers): AuthVerdict {
  // 1.1 If it has any prev_events, reject.
  if (!Array.isArray(event.prevEvents)) refuse(n.createPrevEvents, "prev_events is missing or not a list");
  if (event.prevEvents.length > 0) refuse(n.createPrevEvents, "the create event has prev_events");
  if (rules.auth.createEventIsRoomId) {
    // 1.2 (v12) If the event has a room_id, reject.
    if (isJsonObject(event.raw) && event.raw["room_id"] !== undefined) refuse(n.createRoomId, "the create event has a room_id");
  } else {
    // 1.2 If the domain of the room_id does not match the domain of the sender, reject.
    const rd = domainOf(event.roomId);
    if (rd === undefined || rd !== domainOf(event.sender)) refuse(n.createRoomId, "the room_id's domain differs from the sender's");
  }
  // 1.3 If content.room_version is present and is not a recognised version, reject.
  const content = contentOf(event);
  if (content["room_version"] !== undefined) {
    const v = content["room_version"];
    if (typeof v !== "string" || !isKnownRoomVersion(v)) refuse(n.createRoomVersion, `room_version ${JSON.stringify(v)} is not a recognised version`);
  }
  if (rules.auth.privilegedCreators) {
    // 1.4 (v12) additional_creators must be an array of valid user ids.
    const extra = content["additional_creators"];
    if (extra !== undefined) {
      if (!Array.isArray(extra) || !extra.every(isUserId)) refuse(n.createCreators ?? n.create, "additional_creators is not a list of valid user ids");
    }
  } else if (!rules.auth.creatorFromSender) {
    // 1.4 (v1-v10) If content has no creator property, reject.
    if (content["creator"] === undefined) refuse(n.createCreators ?? n.create, "content has no creator");
  }
  // 1.5 Otherwise, allow.
  return allow(n.createAllow);
}

/**
 * Checks `event` against its own `auth_events`: `authEvents` must hold every
 * event the event cites (for v12 also the create event, which events there
 * do not cite; other extra events are ignored).
 */
export function checkAuthEvents(event: Pdu, authEvents: readonly Pdu[], rules: RoomVersionRules, opts: AuthOptions = {}): AuthVerdict {
  return guard(() => {
    const n = ruleNumbers(rules);
    // Rule 1: m.room.create.
    if (isCreateEvent(event)) return checkCreate(event, rules, n);

    const byId = new Map<string, Pdu>();
    for (const e of authEvents) if (e && typeof e.eventId === "string") byId.set(e.eventId, e);

    // Rule 2 (v12): the room id must be the id of an accepted create event.
    let create: Pdu | undefined;
    if (rules.auth.createEventIsRoomId) {
      const rule = n.roomIdIsCreate ?? "2";
      if (typeof event.roomId !== "string" || !event.roomId.startsWith("!")) refuse(rule, "room_id is missing or malformed");
      const id = createEventIdForRoom(event.roomId);
      create = byId.get(id);
      if (!create || !isCreateEvent(create)) refuse(rule, `the create event ${id} named by the room id is not available`);
      if (opts.isRejected?.(id)) refuse(rule, `the create event ${id} was rejected`);
    }

    // Rule 3 [2]: considering the event's auth_events.
    if (!Array.isArray(event.authEvents)) refuse(n.authEvents, "auth_events is missing or not a list");
    const entries: Pdu[] = [];
    for (const id of event.authEvents) {
      if (typeof id !== "string") refuse(n.authEvents, "auth_events holds a non-string id");
      const e = byId.get(id);
      if (!e) refuse(n.authEvents, `auth event ${id} is not available`);
      entries.push(e);
    }
    // 3.1 [2.1] duplicate entries for a (type, state_key) pair.
    const seen = new Map<StateKey, Pdu>();
    for (const e of entries) {
      if (typeof e.stateKey !== "string") refuse(n.authSelection, `auth event ${e.eventId} is not a state event`);
      const k = stateKeyOf(e.type, e.stateKey);
      if (seen.has(k)) refuse(n.authDuplicate, `auth_events has two entries for (${e.type}, ${JSON.stringify(e.stateKey)})`);
      seen.set(k, e);
    }
    // 3.2 [2.2] entries not named by the auth events selection (v12: never the create event).
    const selected = new Set(authEventTypesFor(event, { rules, includeCreate: !rules.auth.createEventIsRoomId }));
    for (const [k, e] of seen) {
      if (!selected.has(k)) refuse(n.authSelection, `auth event ${e.eventId} (${e.type}, ${JSON.stringify(e.stateKey)}) is not one the selection algorithm picks`);
    }
    // 3.3 [2.3] entries that were themselves rejected.
    for (const e of entries) if (opts.isRejected?.(e.eventId)) refuse(n.authRejected, `auth event ${e.eventId} was rejected`);
    // 2.4 (v1-v11) no m.room.create among the entries.
    if (!rules.auth.createEventIsRoomId) {
      create = seen.get(CREATE_KEY);
      if (!create) refuse(n.authNoCreate ?? n.authEvents, "auth_events has no m.room.create event");
    }
    // 3.4 [2.5] an entry from another room.
    for (const e of entries) {
      if (e.roomId !== event.roomId) refuse(n.authRoomId, `auth event ${e.eventId} belongs to room ${String(e.roomId)}`);
    }
    if (create && create.roomId !== event.roomId) refuse(n.authRoomId, `create event ${create.eventId} belongs to another room`);

    const lookup: Lookup = (k) => (k === CREATE_KEY ? create : seen.get(k));
    return checkRest(event, lookup, rules, n, opts);
  });
}

/**
 * Checks `event` against a room state (the state before it, or the current
 * state for soft failure). Rule 3 [2] (about the event's own auth_events) does
 * not apply; the create event comes from the state.
 */
export function checkAgainstState(event: Pdu, state: AuthState, rules: RoomVersionRules, opts: AuthOptions = {}): AuthVerdict {
  return guard(() => {
    const n = ruleNumbers(rules);
    if (isCreateEvent(event)) return checkCreate(event, rules, n);
    const lookup: Lookup = typeof state === "function" ? state : (k) => state.get(k);
    const create = lookup(CREATE_KEY);
    if (rules.auth.createEventIsRoomId) {
      // Rule 2 (v12): the room id names an accepted create event.
      const rule = n.roomIdIsCreate ?? "2";
      if (typeof event.roomId !== "string") refuse(rule, "room_id is missing");
      const id = createEventIdForRoom(event.roomId);
      if (!create || create.eventId !== id) refuse(rule, `the room's create event is not ${id}`);
      if (opts.isRejected?.(id)) refuse(rule, `the create event ${id} was rejected`);
    } else if (!create) {
      refuse(n.authNoCreate ?? n.authEvents, "the state has no m.room.create event");
    }
    return checkRest(event, lookup, rules, n, opts);
  });
}

function membershipOf(get: Lookup, userId: string): string {
  const e = get(stateKeyOf("m.room.member", userId));
  if (!e) return "leave";
  const m = contentOf(e)["membership"];
  return typeof m === "string" ? m : "leave";
}

/** Rules 4 [3] onwards, once the create event is known. */
function checkRest(event: Pdu, get: Lookup, rules: RoomVersionRules, n: RuleNumbers, opts: AuthOptions): AuthVerdict {
  const create = get(CREATE_KEY);
  if (!create) refuse(n.authNoCreate ?? n.roomIdIsCreate ?? n.authEvents, "no m.room.create event");
  if (typeof event.sender !== "string") refuse(n.senderJoined, "sender is missing");
  if (typeof event.type !== "string") refuse(n.requiredLevel, "type is missing");

  // Rule 4 [3]: m.federate false and the sender is on another server than the creator.
  if (contentOf(create)["m.federate"] === false && domainOf(event.sender) !== domainOf(create.sender)) {
    refuse(n.federate, "the room does not federate and the sender is on another server than the creator");
  }

  // Rule 4 (v1-v5): m.room.aliases.
  if (rules.auth.specialCaseAliases && event.type === "m.room.aliases") {
    const a = n.aliases ?? 4;
    if (typeof event.stateKey !== "string") refuse(`${a}.1`, "m.room.aliases has no state_key");
    if (domainOf(event.sender) !== event.stateKey) refuse(`${a}.2`, "the sender's domain does not match the state_key");
    return allow(`${a}.3`);
  }

  const pl = new PowerLevelView(get(POWER_LEVELS_KEY), create, rules);

  // Rule 5 [4]: m.room.member.
  if (event.type === "m.room.member") return checkMember(event, get, create, pl, rules, n, opts);

  // Rule 6 [5]: the sender must be joined.
  if (membershipOf(get, event.sender) !== "join") refuse(n.senderJoined, `${event.sender} is not joined to the room`);

  // Rule 7 [6]: m.room.third_party_invite needs the invite level.
  if (event.type === "m.room.third_party_invite") {
    const [lvl, invite] = levels(n.thirdPartyInvite, () => [pl.userLevel(event.sender), pl.invite]);
    if (lvl >= invite) return allow(n.thirdPartyInvite);
    refuse(n.thirdPartyInvite, `sender level ${lvl} is below the invite level ${invite}`);
  }

  // Rule 8 [7]: the event type's required power level.
  const isState = typeof event.stateKey === "string";
  const [senderLevel, required] = levels(n.requiredLevel, () => [pl.userLevel(event.sender), pl.requiredLevel(event.type, isState)]);
  if (required > senderLevel) refuse(n.requiredLevel, `${event.type} needs level ${required}; the sender has ${senderLevel}`);

  // Rule 9 [8]: a state_key starting with '@' must be the sender.
  if (isState && event.stateKey!.startsWith("@") && event.stateKey !== event.sender) {
    refuse(n.userStateKey, "the state_key is a user id other than the sender");
  }

  // Rule 10 [9]: m.room.power_levels.
  if (event.type === "m.room.power_levels") return checkPowerLevels(event, create, pl, senderLevel, rules, n);

  // Rule 11 (v1-v2): m.room.redaction.
  if (rules.auth.redactionDomainCheckInAuth && event.type === "m.room.redaction") {
    const r = n.redaction ?? 11;
    if (senderLevel >= levels(`${r}.1`, () => pl.redact)) return allow(`${r}.1`);
    const target = domainOf(event.redacts);
    if (target !== undefined && target === domainOf(event.eventId)) return allow(`${r}.2`);
    refuse(`${r}.3`, "below the redact level and redacting an event from another server");
  }

  // Otherwise, allow.
  return allow(n.allow);
}

function checkMember(
  event: Pdu,
  get: Lookup,
  create: Pdu,
  pl: PowerLevelView,
  rules: RoomVersionRules,
  n: RuleNumbers,
  opts: AuthOptions,
): AuthVerdict {
  const a = rules.auth;
  const content = contentOf(event);
  // 5.1 [4.1] No state_key or no membership: reject.
  if (typeof event.stateKey !== "string") refuse(n.memberFields, "m.room.member has no state_key");
  const membership = content["membership"];
  if (typeof membership !== "string") refuse(n.memberFields, "m.room.member has no membership");

  // 5.2 (v8+) join_authorised_via_users_server: the event must be signed by that user's server.
  // (This checks that the signature is there; it is verified with the other signatures on receipt.)
  if (a.restrictedJoins && content["join_authorised_via_users_server"] !== undefined) {
    const rule = n.memberAuthoriser ?? n.memberFields;
    const via = content["join_authorised_via_users_server"];
    if (!isUserId(via)) refuse(rule, "join_authorised_via_users_server is not a user id");
    const sigs = isJsonObject(event.raw) ? event.raw["signatures"] : undefined;
    const bySrv = isJsonObject(sigs) ? sigs[domainOf(via)!] : undefined;
    if (!isJsonObject(bySrv) || Object.keys(bySrv).length === 0) refuse(rule, `the event is not signed by ${domainOf(via)}, the authorising user's server`);
  }

  const target = event.stateKey;
  const sender = event.sender;
  const senderMembership = membershipOf(get, sender);
  const targetMembership = membershipOf(get, target);
  const jrEvent = get(JOIN_RULES_KEY);
  const joinRule = jrEvent ? contentOf(jrEvent)["join_rule"] : undefined;

  if (membership === "join") {
    const J = n.join;
    // .1 The only previous event is the create event and the state_key is the creator: allow.
    if (
      Array.isArray(event.prevEvents) &&
      event.prevEvents.length === 1 &&
      event.prevEvents[0] === create.eventId &&
      target === originalCreatorOf(create, rules)
    ) {
      return allow(`${J}.1`);
    }
    // .2 The sender must be the state_key.
    if (sender !== target) refuse(`${J}.2`, "a join whose sender is not the state_key");
    // .3 The sender is banned.
    if (senderMembership === "ban") refuse(`${J}.3`, `${sender} is banned`);
    // .4 invite (or knock, v7+): allow if invited or joined.
    if (joinRule === "invite" || (a.knocking && joinRule === "knock")) {
      if (senderMembership === "invite" || senderMembership === "join") return allow(`${J}.4`);
    }
    // .5 (v8+) restricted (or knock_restricted, v10+).
    if (n.joinRestricted && (joinRule === "restricted" || (a.knockRestrictedJoinRule && joinRule === "knock_restricted"))) {
      const R = n.joinRestricted;
      if (senderMembership === "join" || senderMembership === "invite") return allow(`${R}.1`);
      const via = content["join_authorised_via_users_server"];
      if (typeof via !== "string") refuse(`${R}.2`, "a restricted join without join_authorised_via_users_server");
      if (membershipOf(get, via) !== "join") refuse(`${R}.2`, `the authorising user ${via} is not joined`);
      if (levels(`${R}.2`, () => pl.userLevel(via) < pl.invite)) refuse(`${R}.2`, `the authorising user ${via} may not invite`);
      return allow(`${R}.3`);
    }
    // .6 public: allow.
    if (joinRule === "public") return allow(n.joinPublic);
    // .7 Otherwise, reject.
    refuse(n.joinOtherwise, `the join rule ${JSON.stringify(joinRule ?? null)} does not let ${sender} join`);
  }

  if (membership === "invite") {
    const I = n.invite;
    // .1 Third-party invites.
    if (Object.prototype.hasOwnProperty.call(content, "third_party_invite")) {
      const T = `${I}.1`;
      const tpi = content["third_party_invite"];
      if (targetMembership === "ban") refuse(`${T}.1`, `${target} is banned`);
      const signed = isJsonObject(tpi) ? tpi["signed"] : undefined;
      if (!isJsonObject(signed)) refuse(`${T}.2`, "third_party_invite has no signed object");
      const mxid = signed["mxid"];
      const token = signed["token"];
      if (typeof mxid !== "string" || typeof token !== "string") refuse(`${T}.3`, "signed lacks mxid or token");
      if (mxid !== target) refuse(`${T}.4`, "signed.mxid does not match the state_key");
      const tpiEvent = get(stateKeyOf("m.room.third_party_invite", token));
      if (!tpiEvent) refuse(`${T}.5`, `no m.room.third_party_invite with state_key ${JSON.stringify(token)}`);
      if (tpiEvent.sender !== sender) refuse(`${T}.6`, "the invite's sender did not send the third-party invite");
      const keys = thirdPartyPublicKeys(contentOf(tpiEvent));
      if (signedMatchesAnyKey(signed, keys, opts.verifyThirdPartySignature ?? verifyThirdPartySignature)) return allow(`${T}.7`);
      refuse(`${T}.8`, "no signature in signed matches a public key of the third-party invite");
    }
    // .2 The sender must be joined.
    if (senderMembership !== "join") refuse(`${I}.2`, `${sender} is not joined`);
    // .3 The target must not be joined or banned.
    if (targetMembership === "join" || targetMembership === "ban") refuse(`${I}.3`, `${target} is already ${targetMembership === "join" ? "joined" : "banned"}`);
    // .4 Sender at or above the invite level: allow.
    const [lvl, invite] = levels(`${I}.4`, () => [pl.userLevel(sender), pl.invite]);
    if (lvl >= invite) return allow(`${I}.4`);
    // .5 Otherwise, reject.
    refuse(`${I}.5`, `sender level ${lvl} is below the invite level ${invite}`);
  }

  if (membership === "leave") {
    const L = n.leave;
    // .1 Leaving oneself: allowed from invite, join (and knock, v7+).
    if (sender === target) {
      if (senderMembership === "invite" || senderMembership === "join" || (a.knocking && senderMembership === "knock")) return allow(`${L}.1`);
      refuse(`${L}.1`, `${sender} cannot leave from membership ${senderMembership}`);
    }
    // .2 The sender must be joined.
    if (senderMembership !== "join") refuse(`${L}.2`, `${sender} is not joined`);
    const lvl = levels(`${L}.3`, () => pl.userLevel(sender));
    // .3 Unbanning needs the ban level.
    if (targetMembership === "ban") {
      const ban = levels(`${L}.3`, () => pl.ban);
      if (lvl < ban) refuse(`${L}.3`, `sender level ${lvl} is below the ban level ${ban}`);
    }
    // .4 Kick level and above the target: allow.
    const [kick, targetLvl] = levels(`${L}.4`, () => [pl.kick, pl.userLevel(target)]);
    if (lvl >= kick && targetLvl < lvl) return allow(`${L}.4`);
    // .5 Otherwise, reject.
    refuse(`${L}.5`, `sender level ${lvl} is below the kick level ${kick} or not above the target's ${targetLvl}`);
  }

  if (membership === "ban") {
    const B = n.ban;
    // .1 The sender must be joined.
    if (senderMembership !== "join") refuse(`${B}.1`, `${sender} is not joined`);
    // .2 Ban level and above the target: allow.
    const [lvl, ban, targetLvl] = levels(`${B}.2`, () => [pl.userLevel(sender), pl.ban, pl.userLevel(target)]);
    if (lvl >= ban && targetLvl < lvl) return allow(`${B}.2`);
    // .3 Otherwise, reject.
    refuse(`${B}.3`, `sender level ${lvl} is below the ban level ${ban} or not above the target's ${targetLvl}`);
  }

  if (membership === "knock" && n.knock) {
    const K = n.knock;
    // .1 Only knock (and knock_restricted, v10+) rooms take knocks.
    if (!(joinRule === "knock" || (a.knockRestrictedJoinRule && joinRule === "knock_restricted"))) {
      refuse(`${K}.1`, `the join rule ${JSON.stringify(joinRule ?? null)} does not take knocks`);
    }
    // .2 The sender must be the state_key.
    if (sender !== target) refuse(`${K}.2`, "a knock whose sender is not the state_key");
    // .3 Not banned, invited or joined: allow.
    if (senderMembership !== "ban" && senderMembership !== "invite" && senderMembership !== "join") return allow(`${K}.3`);
    // .4 Otherwise, reject.
    refuse(`${K}.4`, `${sender} is already ${senderMembership}`);
  }

  // Otherwise, the membership is unknown.
  return refuse(n.memberUnknown, `unknown membership ${JSON.stringify(membership)}`);
}

function checkPowerLevels(
  event: Pdu,
  create: Pdu,
  current: PowerLevelView,
  senderLevel: number,
  rules: RoomVersionRules,
  n: RuleNumbers,
): AuthVerdict {
  const content = contentOf(event);
  const a = rules.auth;
  // 10.1-10.3 [9.1-9.3]: the shape checks depend only on the content and the
  // version, so their outcome is memoised per content object (state
  // resolution re-checks the same power levels events many times).
  let memo = shapeMemo.get(content);
  if (!memo) shapeMemo.set(content, (memo = new Map()));
  let shape = memo.get(rules.id);
  if (shape === undefined) {
    try {
      checkPowerLevelsShape(content, rules, n);
      shape = null;
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      shape = e;
    }
    memo.set(rules.id, shape);
  }
  if (shape) throw shape;
  const users = content["users"];
  // 10.4 (v12) creators may not be listed in users.
  if (a.privilegedCreators && isJsonObject(users)) {
    for (const c of creatorsOf(create, rules)) {
      if (Object.prototype.hasOwnProperty.call(users, c)) refuse(n.plCreatorsInUsers!, `users lists the room creator ${c}`);
    }
  }
  return checkPowerLevelChanges(event, content, users, current, senderLevel, rules, n);
}

const shapeMemo = new WeakMap<JsonObject, Map<string, Refusal | null>>();

/** Rules 10.1-10.3 [9.1-9.3; v1 10.1]: the value types of a power levels event. */
function checkPowerLevelsShape(content: JsonObject, rules: RoomVersionRules, n: RuleNumbers): void {
  const a = rules.auth;

  if (a.integerPowerLevels) {
    // 10.1 [9.1] (v10+) The top-level levels must be integers.
    for (const k of LEVEL_KEYS) {
      if (content[k] !== undefined && !Number.isInteger(content[k])) refuse(n.plTopLevelIntegers!, `${k} is not an integer`);
    }
    // 10.2 [9.2] events and notifications must be objects of integers.
    for (const k of ["events", "notifications"] as const) {
      const m = content[k];
      if (m === undefined) continue;
      if (!isJsonObject(m)) refuse(n.plMapIntegers!, `${k} is not an object`);
      for (const [t, v] of Object.entries(m)) if (!Number.isInteger(v)) refuse(n.plMapIntegers!, `${k}[${JSON.stringify(t)}] is not an integer`);
    }
  }
  // v1-v9 check only `users` here; the other values are compared (and so
  // must be numbers) only once there is a previous power levels event
  // (checkLevelsComparable).
  // 10.3 [9.3, v1 10.1] users: valid user ids mapped to integers (strings allowed before v10).
  const users = content["users"];
  if (users !== undefined) {
    if (!isJsonObject(users)) refuse(n.plUsers, "users is not an object");
    for (const [u, v] of Object.entries(users)) {
      if (!isUserId(u)) refuse(n.plUsers, `users has a key ${JSON.stringify(u)} that is not a user id`);
      if (parseLevel(v, rules) === undefined) refuse(n.plUsers, `users[${JSON.stringify(u)}] is not an integer`);
    }
  }
}

/**
 * v1-v9 accept integers, integer strings and floats; anything else cannot be
 * compared by the change rules 10.6-10.8 [v1 10.3-10.5], so the event is
 * refused there. Only once there is a previous power levels event: the first
 * one is checked for `users` alone (v1 10.1-10.2), as the text says.
 */
function checkLevelsComparable(content: JsonObject, mapKeys: readonly string[], rules: RoomVersionRules, n: RuleNumbers): void {
  for (const k of LEVEL_KEYS) {
    if (content[k] !== undefined && parseLevel(content[k], rules) === undefined) refuse(`${n.plAlterations}.2`, `${k} is not a number`);
  }
  for (const k of mapKeys) {
    const m = content[k];
    if (m === undefined) continue;
    if (!isJsonObject(m)) refuse(`${n.plMapAdded}.1`, `${k} is not an object`);
    for (const [t, v] of Object.entries(m)) if (parseLevel(v, rules) === undefined) refuse(`${n.plMapAdded}.1`, `${k}[${JSON.stringify(t)}] is not a number`);
  }
}

function checkPowerLevelChanges(
  event: Pdu,
  content: JsonObject,
  users: JsonValue | undefined,
  current: PowerLevelView,
  senderLevel: number,
  rules: RoomVersionRules,
  n: RuleNumbers,
): AuthVerdict {
  const mapKeys = rules.auth.notificationsPowerLevels ? (["events", "notifications"] as const) : (["events"] as const);
  // 10.5 [9.4, v1 10.2] No previous power levels: allow.
  const prev = current.event;
  if (!prev) return allow(n.plNoPrevious);
  if (!rules.auth.integerPowerLevels) checkLevelsComparable(content, mapKeys, rules, n);
  const old = contentOf(prev);
  const lvl = (v: unknown): number | undefined => (v === undefined ? undefined : parseLevel(v, rules));
  // The current values are compared too: one that is not a number (a v1-v9
  // first power levels event may hold one) cannot be, so the change is refused.
  const wasLvl = (v: unknown, rule: string, field: string): number | undefined => {
    const x = lvl(v);
    if (x === undefined && v !== undefined && v !== null) refuse(rule, `the current ${field} is ${JSON.stringify(v)}, not a number, so the change cannot be compared`);
    return x;
  };

  // 10.6 [9.5, v1 10.3] Top-level levels added, changed or removed.
  for (const k of LEVEL_KEYS) {
    const was = wasLvl(old[k], `${n.plAlterations}.1`, k);
    const now = lvl(content[k]);
    if (was === now) continue;
    if (was !== undefined && was > senderLevel) refuse(`${n.plAlterations}.1`, `${k} is currently ${was}, above the sender's ${senderLevel}`);
    if (now !== undefined && now > senderLevel) refuse(`${n.plAlterations}.2`, `${k} would be ${now}, above the sender's ${senderLevel}`);
  }
  // 10.7 [9.6, v1 10.4] events (and notifications, v6+) entries changed or removed.
  // 10.8 [9.7, v1 10.5] entries added or changed.
  for (const mk of mapKeys) {
    const om = isJsonObject(old[mk]) ? (old[mk] as JsonObject) : {};
    const nm = isJsonObject(content[mk]) ? (content[mk] as JsonObject) : {};
    for (const [t, v] of Object.entries(om)) {
      const was = wasLvl(v, `${n.plMapRemoved}.1`, `${mk}[${JSON.stringify(t)}]`);
      const now = lvl(nm[t]);
      if (was !== now && was !== undefined && was > senderLevel) {
        refuse(`${n.plMapRemoved}.1`, `${mk}[${JSON.stringify(t)}] is currently ${was}, above the sender's ${senderLevel}`);
      }
    }
    for (const [t, v] of Object.entries(nm)) {
      const was = lvl(om[t]);
      const now = lvl(v);
      if (was !== now && now !== undefined && now > senderLevel) {
        refuse(`${n.plMapAdded}.1`, `${mk}[${JSON.stringify(t)}] would be ${now}, above the sender's ${senderLevel}`);
      }
    }
  }
  // 10.9 [9.8, v1 10.6] users entries changed or removed, other than the sender's own.
  const ou = isJsonObject(old["users"]) ? (old["users"] as JsonObject) : {};
  const nu = isJsonObject(users) ? users : {};
  for (const [u, v] of Object.entries(ou)) {
    if (u === event.sender) continue;
    const was = lvl(v);
    const now = lvl(nu[u]);
    if (was !== now && was !== undefined && was >= senderLevel) {
      refuse(`${n.plUsersRemoved}.1`, `${u} is at ${was}, not below the sender's ${senderLevel}`);
    }
  }
  // 10.10 [9.9, v1 10.7] users entries added or changed.
  for (const [u, v] of Object.entries(nu)) {
    const was = lvl(ou[u]);
    const now = lvl(v);
    if (was !== now && now !== undefined && now > senderLevel) {
      refuse(`${n.plUsersAdded}.1`, `${u} would be at ${now}, above the sender's ${senderLevel}`);
    }
  }
  // 10.11 [9.10, v1 10.8] Otherwise, allow.
  return allow(n.plAllow);
}
