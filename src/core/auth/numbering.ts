/**
 * Rule numbers as each room version's specification prints them. The rules
 * keep their order across versions, but numbers shift where a version adds or
 * removes one (aliases until v5, redactions in v1-v2, the v12 room-id rule,
 * restricted joins from v8, knocks from v7, the v10 integer checks), so the
 * numbers are derived from the same capability flags that switch the rules.
 *
 * https://spec.matrix.org/v1.16/rooms/v1/#authorization-rules ...
 * https://spec.matrix.org/v1.16/rooms/v12/#authorisation-rules
 */
import type { RoomVersionRules } from "../room-versions/rules.js";

export interface RuleNumbers {
  readonly create: number;
  readonly createPrevEvents: string;
  readonly createRoomId: string;
  readonly createRoomVersion: string;
  /** v1-v10: `creator` present; v12: `additional_creators` valid; absent in v11. */
  readonly createCreators: string | undefined;
  readonly createAllow: string;
  /** v12: the room id names an accepted create event. */
  readonly roomIdIsCreate: string | undefined;
  readonly authEvents: number;
  readonly authDuplicate: string;
  readonly authSelection: string;
  readonly authRejected: string;
  readonly authNoCreate: string | undefined;
  readonly authRoomId: string;
  readonly federate: string;
  readonly aliases: number | undefined;
  readonly member: number;
  readonly memberFields: string;
  readonly memberAuthoriser: string | undefined;
  readonly join: string;
  /** Join sub-rule numbers: restricted is absent before v8, which shifts public and otherwise. */
  readonly joinRestricted: string | undefined;
  readonly joinPublic: string;
  readonly joinOtherwise: string;
  readonly invite: string;
  readonly leave: string;
  readonly ban: string;
  readonly knock: string | undefined;
  readonly memberUnknown: string;
  readonly senderJoined: string;
  readonly thirdPartyInvite: string;
  readonly requiredLevel: string;
  readonly userStateKey: string;
  readonly powerLevels: number;
  /** Power-level sub-rules (absent where the version has no such rule). */
  readonly plTopLevelIntegers: string | undefined;
  readonly plMapIntegers: string | undefined;
  readonly plUsers: string;
  readonly plCreatorsInUsers: string | undefined;
  readonly plNoPrevious: string;
  readonly plAlterations: string;
  readonly plMapRemoved: string;
  readonly plMapAdded: string;
  readonly plUsersRemoved: string;
  readonly plUsersAdded: string;
  readonly plAllow: string;
  readonly redaction: number | undefined;
  readonly allow: string;
}

const cache = new WeakMap<RoomVersionRules, RuleNumbers>();

export function ruleNumbers(rules: RoomVersionRules): RuleNumbers {
  const hit = cache.get(rules);
  if (hit) return hit;
  const a = rules.auth;
  let n = 1;
  const create = n++;
  const roomIdIsCreate = a.createEventIsRoomId ? n++ : undefined;
  const authEvents = n++;
  const federate = n++;
  const aliases = a.specialCaseAliases ? n++ : undefined;
  const member = n++;
  const senderJoined = n++;
  const thirdPartyInvite = n++;
  const requiredLevel = n++;
  const userStateKey = n++;
  const powerLevels = n++;
  const redaction = a.redactionDomainCheckInAuth ? n++ : undefined;
  const allow = n++;

  // 1.x: v1-v10 check `creator`; v11 drops it; v12 checks `additional_creators` and has no room_id.
  const createCreatorsIdx = a.creatorFromSender && !a.privilegedCreators ? undefined : 4;
  const createAllowIdx = createCreatorsIdx === undefined ? 4 : 5;

  // member.x
  let m = 2;
  const memberAuthoriser = a.restrictedJoins ? `${member}.${m++}` : undefined;
  const join = `${member}.${m++}`;
  const invite = `${member}.${m++}`;
  const leave = `${member}.${m++}`;
  const ban = `${member}.${m++}`;
  const knock = a.knocking ? `${member}.${m++}` : undefined;
  const memberUnknown = `${member}.${m++}`;
  let j = 5;
  const joinRestricted = a.restrictedJoins ? `${join}.${j++}` : undefined;
  const joinPublic = `${join}.${j++}`;
  const joinOtherwise = `${join}.${j++}`;

  // power_levels.x
  let p = 1;
  const plTopLevelIntegers = a.integerPowerLevels ? `${powerLevels}.${p++}` : undefined;
  const plMapIntegers = a.integerPowerLevels ? `${powerLevels}.${p++}` : undefined;
  const plUsers = `${powerLevels}.${p++}`;
  const plCreatorsInUsers = a.privilegedCreators ? `${powerLevels}.${p++}` : undefined;
  const plNoPrevious = `${powerLevels}.${p++}`;
  const plAlterations = `${powerLevels}.${p++}`;
  const plMapRemoved = `${powerLevels}.${p++}`;
  const plMapAdded = `${powerLevels}.${p++}`;
  const plUsersRemoved = `${powerLevels}.${p++}`;
  const plUsersAdded = `${powerLevels}.${p++}`;
  const plAllow = `${powerLevels}.${p++}`;

  const out: RuleNumbers = {
    create,
    createPrevEvents: `${create}.1`,
    createRoomId: `${create}.2`,
    createRoomVersion: `${create}.3`,
    createCreators: createCreatorsIdx === undefined ? undefined : `${create}.${createCreatorsIdx}`,
    createAllow: `${create}.${createAllowIdx}`,
    roomIdIsCreate: roomIdIsCreate === undefined ? undefined : `${roomIdIsCreate}`,
    authEvents,
    authDuplicate: `${authEvents}.1`,
    authSelection: `${authEvents}.2`,
    authRejected: `${authEvents}.3`,
    authNoCreate: a.createEventIsRoomId ? undefined : `${authEvents}.4`,
    authRoomId: a.createEventIsRoomId ? `${authEvents}.4` : `${authEvents}.5`,
    federate: `${federate}`,
    aliases,
    member,
    memberFields: `${member}.1`,
    memberAuthoriser,
    join,
    joinRestricted,
    joinPublic,
    joinOtherwise,
    invite,
    leave,
    ban,
    knock,
    memberUnknown,
    senderJoined: `${senderJoined}`,
    thirdPartyInvite: `${thirdPartyInvite}.1`,
    requiredLevel: `${requiredLevel}`,
    userStateKey: `${userStateKey}`,
    powerLevels,
    plTopLevelIntegers,
    plMapIntegers,
    plUsers,
    plCreatorsInUsers,
    plNoPrevious,
    plAlterations,
    plMapRemoved,
    plMapAdded,
    plUsersRemoved,
    plUsersAdded,
    plAllow,
    redaction,
    allow: `${allow}`,
  };
  cache.set(rules, out);
  return out;
}
