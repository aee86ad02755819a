/**
 * Table-driven tests of the authorization rules. Each case names the rule it
 * exercises (as a function of the version's rule numbers, since numbers shift
 * between versions) and runs in every room version where that rule exists;
 * the coverage test at the end checks that each numbered rule of v1, v10,
 * v11 and v12 has at least one allowed and one refused case (rules that only
 * say "Otherwise, allow" need just the allowed one).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkAgainstState, checkAuthEvents, type AuthOptions, type AuthVerdict } from "./authorize.js";
import { ruleNumbers, type RuleNumbers } from "./numbering.js";
import { ROOM_VERSIONS, V1, V10, V11, V12, type RoomVersionRules } from "../room-versions/rules.js";
import type { Pdu } from "../events/pdu.js";
import { AuthKit, ALICE, BOB, CAROL, DAN, EVE, type KitOptions } from "../../../test/gen/auth-kit.js";
import { makePdu } from "../../../test/gen/pdu.js";
import { signingKeyFromSeed, signJson, publicKeyBase64 } from "../crypto/index.js";
import type { JsonObject } from "../json/types.js";

type RuleRef = (n: RuleNumbers, r: RoomVersionRules) => string | undefined;

interface Case {
  readonly name: string;
  /** The rule(s) this case exercises (coverage tags). */
  readonly tags: readonly RuleRef[];
  /** "allow" or the rule expected in the refusal. */
  readonly expect: "allow" | RuleRef;
  /** Which rule should allow it (checked when given). */
  readonly allowedBy?: RuleRef;
  /** Extra applicability test beyond "every tag exists in this version". */
  readonly when?: (r: RoomVersionRules) => boolean;
  readonly kit?: (r: RoomVersionRules) => KitOptions;
  /** "both" (default): checkAgainstState and checkAuthEvents; "auth-events": only checkAuthEvents. */
  readonly mode?: "both" | "auth-events";
  readonly opts?: (k: AuthKit) => AuthOptions;
  readonly build: (k: AuthKit) => Pdu;
}

const sub = (f: (n: RuleNumbers) => string | number | undefined, i: number): RuleRef => (n) => {
  const base = f(n);
  return base === undefined ? undefined : `${base}.${i}`;
};
const R = (f: (n: RuleNumbers) => string | number | undefined): RuleRef => (n) => {
  const v = f(n);
  return v === undefined ? undefined : String(v);
};

const msg = (k: AuthKit, sender: string, extra: Partial<Parameters<AuthKit["ev"]>[0]> = {}): Pdu =>
  k.ev({ type: "m.room.message", sender, content: { body: "hi" }, ...extra });
const memberEv = (k: AuthKit, sender: string, target: string, membership: string, extra: JsonObject = {}): Pdu =>
  k.ev({ type: "m.room.member", sender, stateKey: target, content: { membership, ...extra } });
const plEv = (k: AuthKit, sender: string, content: JsonObject): Pdu => k.ev({ type: "m.room.power_levels", sender, stateKey: "", content });

/** A create event built by hand (for the rule 1 cases). */
function createEv(k: AuthKit, content: JsonObject, opts: { prev?: string[]; roomId?: string; sender?: string; withRoomId?: boolean } = {}): Pdu {
  const base = { room_version: k.rules.id, ...(k.rules.auth.creatorFromSender ? {} : { creator: ALICE }), ...content };
  const e = makePdu(k.rules, {
    id: "$newcreate:a.test",
    roomId: opts.roomId ?? k.roomId,
    type: "m.room.create",
    sender: opts.sender ?? ALICE,
    stateKey: "",
    content: base as JsonObject,
    prev: opts.prev ?? [],
  });
  return opts.withRoomId ? { ...e, raw: { ...e.raw, room_id: e.roomId } } : e;
}

// Third-party invites: a real ed25519 key signs `signed`.
const tpiKey = signingKeyFromSeed("tpi", new Uint8Array(32).fill(7));
const otherKey = signingKeyFromSeed("other", new Uint8Array(32).fill(9));
function tpiSetup(k: AuthKit, sender = BOB): void {
  k.add(k.ev({ type: "m.room.third_party_invite", sender, stateKey: "tok", content: { display_name: "d…", public_key: publicKeyBase64(tpiKey) } }));
}
function tpiContent(mxid: string, token = "tok", key = tpiKey): JsonObject {
  const signed = signJson({ mxid, token, sender: BOB } as JsonObject, "id.test", key);
  return { third_party_invite: { display_name: "d…", signed } };
}

const J = (n: RuleNumbers) => n.join;
const I = (n: RuleNumbers) => n.invite;
const L = (n: RuleNumbers) => n.leave;
const B = (n: RuleNumbers) => n.ban;
const K = (n: RuleNumbers) => n.knock;
const T = (n: RuleNumbers) => `${n.invite}.1`;
const ALIASES = (n: RuleNumbers) => n.aliases;
const RED = (n: RuleNumbers) => n.redaction;

const CASES: Case[] = [
  // ---- Rule 1: m.room.create
  { name: "allows a create event without prev_events", tags: [R((n) => n.createPrevEvents), R((n) => n.createAllow)], expect: "allow", allowedBy: R((n) => n.createAllow), build: (k) => createEv(k, {}) },
  { name: "refuses a create event with prev_events", tags: [R((n) => n.createPrevEvents)], expect: R((n) => n.createPrevEvents), build: (k) => createEv(k, {}, { prev: ["$x:a.test"] }) },
  { name: "refuses a create event whose room id is on another server than the sender", tags: [R((n) => n.createRoomId)], when: (r) => !r.auth.createEventIsRoomId, expect: R((n) => n.createRoomId), build: (k) => createEv(k, {}, { roomId: "!room:b.test" }) },
  { name: "allows a create event whose room id is on the sender's server", tags: [R((n) => n.createRoomId)], when: (r) => !r.auth.createEventIsRoomId, expect: "allow", build: (k) => createEv(k, {}, { roomId: "!room:a.test" }) },
  { name: "refuses a v12 create event that carries a room_id", tags: [R((n) => n.createRoomId)], when: (r) => r.auth.createEventIsRoomId, expect: R((n) => n.createRoomId), build: (k) => createEv(k, {}, { withRoomId: true }) },
  { name: "allows a v12 create event without a room_id", tags: [R((n) => n.createRoomId)], when: (r) => r.auth.createEventIsRoomId, expect: "allow", build: (k) => createEv(k, {}) },
  { name: "refuses a create event naming an unknown room version", tags: [R((n) => n.createRoomVersion)], expect: R((n) => n.createRoomVersion), build: (k) => createEv(k, { room_version: "999" }) },
  { name: "allows a create event naming a known room version", tags: [R((n) => n.createRoomVersion)], expect: "allow", build: (k) => createEv(k, { room_version: "11" }) },
  { name: "refuses a create event without content.creator (v1-v10)", tags: [R((n) => n.createCreators)], when: (r) => !r.auth.creatorFromSender, expect: R((n) => n.createCreators), build: (k) => {
    const e = createEv(k, {});
    const { creator: _c, ...rest } = e.content as Record<string, unknown>;
    return { ...e, content: rest as JsonObject };
  } },
  { name: "allows a create event with content.creator (v1-v10)", tags: [R((n) => n.createCreators)], when: (r) => !r.auth.creatorFromSender, expect: "allow", build: (k) => createEv(k, { creator: ALICE }) },
  { name: "refuses additional_creators that are not user ids (v12)", tags: [R((n) => n.createCreators)], when: (r) => r.auth.privilegedCreators, expect: R((n) => n.createCreators), build: (k) => createEv(k, { additional_creators: ["bob"] }) },
  { name: "allows additional_creators that are user ids (v12)", tags: [R((n) => n.createCreators)], when: (r) => r.auth.privilegedCreators, expect: "allow", build: (k) => createEv(k, { additional_creators: [BOB] }) },

  // ---- Rule 2 (v12): the room id is the create event's id
  { name: "refuses an event whose room id names no known create event", tags: [R((n) => n.roomIdIsCreate)], expect: R((n) => n.roomIdIsCreate), build: (k) => ({ ...msg(k, CAROL), roomId: "!othercreate" as Pdu["roomId"] }) },
  { name: "allows an event whose room id is its room's create event", tags: [R((n) => n.roomIdIsCreate)], expect: "allow", build: (k) => msg(k, CAROL) },

  // ---- Rule 3 [2]: considering auth_events
  { name: "refuses auth_events with two power levels events", tags: [R((n) => n.authDuplicate)], mode: "auth-events", expect: R((n) => n.authDuplicate), build: (k) => {
    const older = [...k.all.values()].find((e) => e.type === "m.room.power_levels")!;
    k.powerLevels({ users: k.users({ [DAN]: 1 }) });
    const e = msg(k, CAROL);
    return { ...e, authEvents: [...e.authEvents, older.eventId] };
  } },
  { name: "allows auth_events with one event per (type, state_key)", tags: [R((n) => n.authDuplicate), R((n) => n.authSelection), R((n) => n.authRejected), R((n) => n.authNoCreate), R((n) => n.authRoomId)], mode: "auth-events", expect: "allow", build: (k) => msg(k, CAROL) },
  { name: "refuses a message citing the join rules, which the selection does not pick", tags: [R((n) => n.authSelection)], mode: "auth-events", expect: R((n) => n.authSelection), build: (k) => {
    const e = msg(k, CAROL);
    return { ...e, authEvents: [...e.authEvents, [...k.all.values()].find((x) => x.type === "m.room.join_rules")!.eventId] };
  } },
  { name: "refuses a v12 event citing the create event", tags: [R((n) => n.authSelection)], when: (r) => r.auth.createEventIsRoomId, mode: "auth-events", expect: R((n) => n.authSelection), build: (k) => {
    const e = msg(k, CAROL);
    return { ...e, authEvents: [k.createId as Pdu["eventId"], ...e.authEvents] };
  } },
  { name: "refuses auth_events holding a rejected event", tags: [R((n) => n.authRejected)], mode: "auth-events", expect: R((n) => n.authRejected), opts: (k) => {
    const pl = [...k.state.values()].find((e) => e.type === "m.room.power_levels")!.eventId;
    return { isRejected: (id) => id === pl };
  }, build: (k) => msg(k, CAROL) },
  { name: "refuses auth_events without the create event (v1-v11)", tags: [R((n) => n.authNoCreate)], mode: "auth-events", expect: R((n) => n.authNoCreate), build: (k) => {
    const e = msg(k, CAROL);
    return { ...e, authEvents: e.authEvents.filter((id) => id !== k.createId) };
  } },
  { name: "refuses an auth event from another room", tags: [R((n) => n.authRoomId)], mode: "auth-events", expect: R((n) => n.authRoomId), build: (k) => {
    const pl = [...k.state.values()].find((e) => e.type === "m.room.power_levels")!;
    k.all.set(pl.eventId, { ...pl, roomId: "!elsewhere:a.test" as Pdu["roomId"] });
    return msg(k, CAROL);
  } },

  // ---- Rule 4 [3]: m.federate
  { name: "refuses an event from another server in a room that does not federate", tags: [R((n) => n.federate)], kit: () => ({ createContent: { "m.federate": false }, only: "join" }), expect: R((n) => n.federate), build: (k) => memberEv(k, BOB, BOB, "join") },
  { name: "allows an event from the creator's server in a room that does not federate", tags: [R((n) => n.federate)], kit: () => ({ createContent: { "m.federate": false }, only: "join" }), expect: "allow", build: (k) => msg(k, ALICE) },

  // ---- Rule 4 (v1-v5): m.room.aliases
  { name: "refuses m.room.aliases without a state_key (v1-v5)", tags: [sub(ALIASES, 1)], expect: sub(ALIASES, 1), build: (k) => k.ev({ type: "m.room.aliases", sender: DAN, content: { aliases: [] } }) },
  { name: "refuses m.room.aliases whose state_key is not the sender's domain (v1-v5)", tags: [sub(ALIASES, 2)], expect: sub(ALIASES, 2), build: (k) => k.ev({ type: "m.room.aliases", sender: BOB, stateKey: "a.test", content: { aliases: [] } }) },
  { name: "allows m.room.aliases for the sender's own domain, even from a non-member (v1-v5)", tags: [sub(ALIASES, 1), sub(ALIASES, 2), sub(ALIASES, 3)], expect: "allow", allowedBy: sub(ALIASES, 3), build: (k) => k.ev({ type: "m.room.aliases", sender: DAN, stateKey: "d.test", content: { aliases: [] } }) },
  { name: "treats m.room.aliases like any state event from v6 (a non-member is refused)", tags: [], when: (r) => !r.auth.specialCaseAliases, expect: R((n) => n.senderJoined), build: (k) => k.ev({ type: "m.room.aliases", sender: DAN, stateKey: "d.test", content: { aliases: [] } }) },

  // ---- Rule 5 [4]: m.room.member
  { name: "refuses a member event without membership", tags: [R((n) => n.memberFields)], expect: R((n) => n.memberFields), build: (k) => k.ev({ type: "m.room.member", sender: DAN, stateKey: DAN, content: {} }) },
  { name: "refuses a member event without a state_key", tags: [R((n) => n.memberFields)], expect: R((n) => n.memberFields), build: (k) => k.ev({ type: "m.room.member", sender: DAN, content: { membership: "join" } }) },
  { name: "allows a member event with state_key and membership", tags: [R((n) => n.memberFields)], expect: "allow", build: (k) => memberEv(k, DAN, DAN, "join") },
  { name: "refuses join_authorised_via_users_server without the authoriser's signature (v8+)", tags: [R((n) => n.memberAuthoriser)], expect: R((n) => n.memberAuthoriser), build: (k) => {
    k.joinRule("restricted", { allow: [] });
    return memberEv(k, DAN, DAN, "join", { join_authorised_via_users_server: BOB });
  } },
  { name: "allows join_authorised_via_users_server signed by the authoriser's server (v8+)", tags: [R((n) => n.memberAuthoriser), sub((n) => n.joinRestricted, 2), sub((n) => n.joinRestricted, 3)], expect: "allow", allowedBy: sub((n) => n.joinRestricted, 3), build: (k) => {
    k.joinRule("restricted", { allow: [] });
    return k.ev({ type: "m.room.member", sender: DAN, stateKey: DAN, content: { membership: "join", join_authorised_via_users_server: BOB }, signatures: { "b.test": { "ed25519:k": "c2ln" } } });
  } },

  // join
  { name: "allows the creator's first join right after the create event", tags: [sub(J, 1)], kit: () => ({ only: "create" }), expect: "allow", allowedBy: sub(J, 1), build: (k) => memberEv(k, ALICE, ALICE, "join") },
  { name: "refuses a first join right after the create event by someone other than the creator", tags: [sub(J, 1)], kit: () => ({ only: "create" }), expect: R((n) => n.joinOtherwise), build: (k) => memberEv(k, BOB, BOB, "join") },
  { name: "refuses a join sent on behalf of someone else", tags: [sub(J, 2)], expect: sub(J, 2), build: (k) => memberEv(k, ALICE, DAN, "join") },
  { name: "allows a join sent by the joining user", tags: [sub(J, 2), sub(J, 3)], expect: "allow", allowedBy: R((n) => n.joinPublic), build: (k) => memberEv(k, DAN, DAN, "join") },
  { name: "refuses a join from a banned user", tags: [sub(J, 3)], expect: sub(J, 3), build: (k) => {
    k.member(DAN, "ban");
    return memberEv(k, DAN, DAN, "join");
  } },
  { name: "allows an invited user to join an invite-only room", tags: [sub(J, 4)], expect: "allow", allowedBy: sub(J, 4), build: (k) => {
    k.joinRule("invite");
    k.member(DAN, "invite");
    return memberEv(k, DAN, DAN, "join");
  } },
  { name: "refuses an uninvited user joining an invite-only room", tags: [sub(J, 4), R((n) => n.joinPublic)], expect: R((n) => n.joinOtherwise), build: (k) => {
    k.joinRule("invite");
    return memberEv(k, DAN, DAN, "join");
  } },
  { name: "allows an invited user to join a knock room (v7+)", tags: [sub(J, 4)], when: (r) => r.auth.knocking, expect: "allow", allowedBy: sub(J, 4), build: (k) => {
    k.joinRule("knock");
    k.member(DAN, "invite");
    return memberEv(k, DAN, DAN, "join");
  } },
  { name: "allows an invited user to join a restricted room (v8+)", tags: [sub((n) => n.joinRestricted, 1)], expect: "allow", allowedBy: sub((n) => n.joinRestricted, 1), build: (k) => {
    k.joinRule("restricted", { allow: [] });
    k.member(DAN, "invite");
    return memberEv(k, DAN, DAN, "join");
  } },
  { name: "refuses a restricted join without an authorising user (v8+)", tags: [sub((n) => n.joinRestricted, 1), sub((n) => n.joinRestricted, 2)], expect: sub((n) => n.joinRestricted, 2), build: (k) => {
    k.joinRule("restricted", { allow: [] });
    return memberEv(k, DAN, DAN, "join");
  } },
  { name: "refuses a restricted join authorised by a user below the invite level (v8+)", tags: [sub((n) => n.joinRestricted, 2)], expect: sub((n) => n.joinRestricted, 2), build: (k) => {
    k.powerLevels({ users: k.users(), invite: 20 });
    k.joinRule("restricted", { allow: [] });
    return k.ev({ type: "m.room.member", sender: DAN, stateKey: DAN, content: { membership: "join", join_authorised_via_users_server: CAROL }, signatures: { "c.test": { "ed25519:k": "c2ln" } } });
  } },
  { name: "refuses a restricted join authorised by a user who is not joined (v8+)", tags: [sub((n) => n.joinRestricted, 2)], expect: sub((n) => n.joinRestricted, 2), build: (k) => {
    k.joinRule("restricted", { allow: [] });
    return k.ev({ type: "m.room.member", sender: DAN, stateKey: DAN, content: { membership: "join", join_authorised_via_users_server: EVE }, signatures: { "e.test": { "ed25519:k": "c2ln" } } });
  } },
  { name: "allows an authorised join to a knock_restricted room (v10+)", tags: [], when: (r) => r.auth.knockRestrictedJoinRule, expect: "allow", allowedBy: sub((n) => n.joinRestricted, 3), build: (k) => {
    k.joinRule("knock_restricted", { allow: [] });
    return k.ev({ type: "m.room.member", sender: DAN, stateKey: DAN, content: { membership: "join", join_authorised_via_users_server: BOB }, signatures: { "b.test": { "ed25519:k": "c2ln" } } });
  } },
  { name: "refuses joining a knock_restricted room before v10 (unknown join rule)", tags: [], when: (r) => r.auth.restrictedJoins && !r.auth.knockRestrictedJoinRule, expect: R((n) => n.joinOtherwise), build: (k) => {
    k.joinRule("knock_restricted", { allow: [] });
    return k.ev({ type: "m.room.member", sender: DAN, stateKey: DAN, content: { membership: "join", join_authorised_via_users_server: BOB }, signatures: { "b.test": { "ed25519:k": "c2ln" } } });
  } },
  { name: "allows anyone to join a public room", tags: [R((n) => n.joinPublic), R((n) => n.joinOtherwise)], expect: "allow", allowedBy: R((n) => n.joinPublic), build: (k) => memberEv(k, EVE, EVE, "join") },
  { name: "refuses a join when the join rule is private", tags: [R((n) => n.joinOtherwise)], expect: R((n) => n.joinOtherwise), build: (k) => {
    k.joinRule("private");
    return memberEv(k, EVE, EVE, "join");
  } },
  { name: "refuses a join when there is no join rule at all", tags: [R((n) => n.joinOtherwise)], kit: () => ({ only: "join" }), expect: R((n) => n.joinOtherwise), build: (k) => memberEv(k, EVE, EVE, "join") },

  // invite: third-party
  { name: "allows a third-party invite whose signed block verifies with the invite's key", tags: [sub(T, 1), sub(T, 2), sub(T, 3), sub(T, 4), sub(T, 5), sub(T, 6), sub(T, 7), sub(T, 8)], expect: "allow", allowedBy: sub(T, 7), build: (k) => {
    tpiSetup(k);
    return memberEv(k, BOB, DAN, "invite", tpiContent(DAN));
  } },
  { name: "refuses a third-party invite of a banned user", tags: [sub(T, 1)], expect: sub(T, 1), build: (k) => {
    tpiSetup(k);
    k.member(DAN, "ban");
    return memberEv(k, BOB, DAN, "invite", tpiContent(DAN));
  } },
  { name: "refuses a third-party invite without signed", tags: [sub(T, 2)], expect: sub(T, 2), build: (k) => {
    tpiSetup(k);
    return memberEv(k, BOB, DAN, "invite", { third_party_invite: { display_name: "d" } });
  } },
  { name: "refuses a third-party invite whose signed has no token", tags: [sub(T, 3)], expect: sub(T, 3), build: (k) => {
    tpiSetup(k);
    return memberEv(k, BOB, DAN, "invite", { third_party_invite: { signed: { mxid: DAN } } });
  } },
  { name: "refuses a third-party invite whose mxid is not the state_key", tags: [sub(T, 4)], expect: sub(T, 4), build: (k) => {
    tpiSetup(k);
    return memberEv(k, BOB, DAN, "invite", tpiContent(EVE));
  } },
  { name: "refuses a third-party invite with no matching m.room.third_party_invite", tags: [sub(T, 5)], expect: sub(T, 5), build: (k) => {
    tpiSetup(k);
    return memberEv(k, BOB, DAN, "invite", tpiContent(DAN, "other-token"));
  } },
  { name: "refuses a third-party invite sent by someone other than the m.room.third_party_invite's sender", tags: [sub(T, 6)], expect: sub(T, 6), build: (k) => {
    tpiSetup(k, CAROL);
    return memberEv(k, BOB, DAN, "invite", tpiContent(DAN));
  } },
  { name: "refuses a third-party invite signed with a key the invite does not list", tags: [sub(T, 7), sub(T, 8)], expect: sub(T, 8), build: (k) => {
    tpiSetup(k);
    return memberEv(k, BOB, DAN, "invite", tpiContent(DAN, "tok", otherKey));
  } },
  // invite
  { name: "allows a joined member at the invite level to invite", tags: [sub(I, 2), sub(I, 3), sub(I, 4), sub(I, 5)], expect: "allow", allowedBy: sub(I, 4), build: (k) => memberEv(k, CAROL, DAN, "invite") },
  { name: "refuses an invite from a user who is not joined", tags: [sub(I, 2)], expect: sub(I, 2), build: (k) => memberEv(k, DAN, EVE, "invite") },
  { name: "refuses inviting a user who is already joined", tags: [sub(I, 3)], expect: sub(I, 3), build: (k) => memberEv(k, BOB, CAROL, "invite") },
  { name: "refuses inviting a banned user", tags: [sub(I, 3)], expect: sub(I, 3), build: (k) => {
    k.member(DAN, "ban");
    return memberEv(k, BOB, DAN, "invite");
  } },
  { name: "refuses an invite from a user below the invite level", tags: [sub(I, 4), sub(I, 5)], expect: sub(I, 5), build: (k) => {
    k.powerLevels({ users: k.users(), invite: 20 });
    return memberEv(k, CAROL, DAN, "invite");
  } },

  // leave
  { name: "allows a joined user to leave", tags: [sub(L, 1)], expect: "allow", allowedBy: sub(L, 1), build: (k) => memberEv(k, CAROL, CAROL, "leave") },
  { name: "allows an invited user to reject the invite", tags: [sub(L, 1)], expect: "allow", allowedBy: sub(L, 1), build: (k) => {
    k.member(DAN, "invite");
    return memberEv(k, DAN, DAN, "leave");
  } },
  { name: "refuses a leave by a user who never joined", tags: [sub(L, 1)], expect: sub(L, 1), build: (k) => memberEv(k, DAN, DAN, "leave") },
  { name: "allows a knocking user to withdraw the knock (v7+)", tags: [], when: (r) => r.auth.knocking, expect: "allow", allowedBy: sub(L, 1), build: (k) => {
    k.joinRule("knock");
    k.member(DAN, "knock");
    return memberEv(k, DAN, DAN, "leave");
  } },
  { name: "refuses a kick by a user who is not joined", tags: [sub(L, 2)], expect: sub(L, 2), build: (k) => memberEv(k, DAN, CAROL, "leave") },
  { name: "allows a kick by a joined user above the kick level and the target", tags: [sub(L, 2), sub(L, 3), sub(L, 4), sub(L, 5)], expect: "allow", allowedBy: sub(L, 4), build: (k) => memberEv(k, BOB, CAROL, "leave") },
  { name: "refuses an unban by a user below the ban level", tags: [sub(L, 3)], expect: sub(L, 3), build: (k) => {
    k.powerLevels({ users: k.users(), ban: 75 });
    k.member(DAN, "ban");
    return memberEv(k, BOB, DAN, "leave");
  } },
  { name: "allows an unban by a user at the ban level", tags: [sub(L, 3)], expect: "allow", allowedBy: sub(L, 4), build: (k) => {
    k.member(DAN, "ban");
    return memberEv(k, BOB, DAN, "leave");
  } },
  { name: "refuses kicking a user of higher power", tags: [sub(L, 4), sub(L, 5)], expect: sub(L, 5), build: (k) => memberEv(k, CAROL, BOB, "leave") },
  { name: "refuses kicking a user of equal power", tags: [sub(L, 5)], expect: sub(L, 5), build: (k) => {
    k.powerLevels({ users: k.users({ [DAN]: 50 }) });
    k.join(DAN);
    return memberEv(k, BOB, DAN, "leave");
  } },

  // ban
  { name: "refuses a ban by a user who is not joined", tags: [sub(B, 1)], expect: sub(B, 1), build: (k) => memberEv(k, DAN, CAROL, "ban") },
  { name: "allows a ban by a joined user at the ban level above the target", tags: [sub(B, 1), sub(B, 2), sub(B, 3)], expect: "allow", allowedBy: sub(B, 2), build: (k) => memberEv(k, BOB, CAROL, "ban") },
  { name: "refuses a ban from a user below the ban level", tags: [sub(B, 2), sub(B, 3)], expect: sub(B, 3), build: (k) => memberEv(k, CAROL, DAN, "ban") },
  { name: "refuses a ban of a user at the sender's level", tags: [sub(B, 2), sub(B, 3)], expect: sub(B, 3), build: (k) => {
    k.powerLevels({ users: k.users({ [DAN]: 50 }) });
    return memberEv(k, BOB, DAN, "ban");
  } },

  // knock
  { name: "refuses a knock on a public room (v7+)", tags: [sub(K, 1)], expect: sub(K, 1), build: (k) => memberEv(k, DAN, DAN, "knock") },
  { name: "allows a knock on a knock room by an outsider (v7+)", tags: [sub(K, 1), sub(K, 2), sub(K, 3)], expect: "allow", allowedBy: sub(K, 3), build: (k) => {
    k.joinRule("knock");
    return memberEv(k, DAN, DAN, "knock");
  } },
  { name: "allows a knock on a knock_restricted room (v10+)", tags: [], when: (r) => r.auth.knockRestrictedJoinRule, expect: "allow", allowedBy: sub(K, 3), build: (k) => {
    k.joinRule("knock_restricted", { allow: [] });
    return memberEv(k, DAN, DAN, "knock");
  } },
  { name: "refuses a knock on a knock_restricted room before v10", tags: [], when: (r) => r.auth.knocking && !r.auth.knockRestrictedJoinRule, expect: sub(K, 1), build: (k) => {
    k.joinRule("knock_restricted", { allow: [] });
    return memberEv(k, DAN, DAN, "knock");
  } },
  { name: "refuses a knock sent on behalf of someone else (v7+)", tags: [sub(K, 2)], expect: sub(K, 2), build: (k) => {
    k.joinRule("knock");
    return memberEv(k, BOB, DAN, "knock");
  } },
  { name: "refuses a knock from a member who is already joined (v7+)", tags: [sub(K, 3), sub(K, 4)], expect: sub(K, 4), build: (k) => {
    k.joinRule("knock");
    return memberEv(k, CAROL, CAROL, "knock");
  } },
  { name: "treats knock as an unknown membership before v7", tags: [], when: (r) => !r.auth.knocking, expect: R((n) => n.memberUnknown), build: (k) => memberEv(k, DAN, DAN, "knock") },
  { name: "refuses an unknown membership", tags: [R((n) => n.memberUnknown)], expect: R((n) => n.memberUnknown), build: (k) => memberEv(k, DAN, DAN, "dance") },
  { name: "allows a known membership", tags: [R((n) => n.memberUnknown)], expect: "allow", build: (k) => memberEv(k, CAROL, CAROL, "leave") },

  // ---- Rule 6 [5]: the sender must be joined
  { name: "refuses a message from a user who is not joined", tags: [R((n) => n.senderJoined)], expect: R((n) => n.senderJoined), build: (k) => msg(k, DAN) },
  { name: "refuses a message from a user who left", tags: [R((n) => n.senderJoined)], expect: R((n) => n.senderJoined), build: (k) => {
    k.member(CAROL, "leave");
    return msg(k, CAROL);
  } },
  { name: "allows a message from a joined user", tags: [R((n) => n.senderJoined), R((n) => n.allow)], expect: "allow", allowedBy: R((n) => n.allow), build: (k) => msg(k, CAROL) },

  // ---- Rule 7 [6]: m.room.third_party_invite
  { name: "allows m.room.third_party_invite from a user at the invite level", tags: [R((n) => n.thirdPartyInvite)], expect: "allow", allowedBy: R((n) => n.thirdPartyInvite), build: (k) => k.ev({ type: "m.room.third_party_invite", sender: CAROL, stateKey: "t", content: {} }) },
  { name: "refuses m.room.third_party_invite from a user below the invite level", tags: [R((n) => n.thirdPartyInvite)], expect: R((n) => n.thirdPartyInvite), build: (k) => {
    k.powerLevels({ users: k.users(), invite: 20 });
    return k.ev({ type: "m.room.third_party_invite", sender: CAROL, stateKey: "t", content: {} });
  } },

  // ---- Rule 8 [7]: required power level
  { name: "refuses a state event from a user below state_default", tags: [R((n) => n.requiredLevel)], expect: R((n) => n.requiredLevel), build: (k) => k.ev({ type: "m.room.name", sender: CAROL, stateKey: "", content: { name: "x" } }) },
  { name: "allows a state event from a user at state_default", tags: [R((n) => n.requiredLevel)], expect: "allow", build: (k) => k.ev({ type: "m.room.name", sender: BOB, stateKey: "", content: { name: "x" } }) },
  { name: "refuses a message type that events[] raises above the sender", tags: [R((n) => n.requiredLevel)], expect: R((n) => n.requiredLevel), build: (k) => {
    k.powerLevels({ users: k.users(), events: { "m.room.message": 20 } });
    return msg(k, CAROL);
  } },

  // ---- Rule 9 [8]: user-id state keys
  { name: "refuses a state event whose state_key is another user's id", tags: [R((n) => n.userStateKey)], expect: R((n) => n.userStateKey), build: (k) => k.ev({ type: "m.custom", sender: BOB, stateKey: CAROL, content: {} }) },
  { name: "allows a state event whose state_key is the sender's id", tags: [R((n) => n.userStateKey)], expect: "allow", build: (k) => k.ev({ type: "m.custom", sender: BOB, stateKey: BOB, content: {} }) },

  // ---- Rule 10 [9]: m.room.power_levels
  { name: "refuses a string ban level (v10+)", tags: [R((n) => n.plTopLevelIntegers)], expect: R((n) => n.plTopLevelIntegers), build: (k) => plEv(k, BOB, { users: k.users(), ban: "50" }) },
  { name: "refuses a float kick level (v10+)", tags: [R((n) => n.plTopLevelIntegers)], expect: R((n) => n.plTopLevelIntegers), build: (k) => plEv(k, BOB, { users: k.users(), kick: 50.5 }) },
  { name: "allows integer top-level levels (v10+)", tags: [R((n) => n.plTopLevelIntegers), R((n) => n.plMapIntegers)], expect: "allow", build: (k) => plEv(k, BOB, { users: k.users(), ban: 50, events: { "m.room.name": 50 } }) },
  { name: "accepts a string ban level before v10", tags: [], when: (r) => !r.auth.integerPowerLevels, expect: "allow", build: (k) => plEv(k, BOB, { users: k.users(), ban: " +50 " }) },
  { name: "refuses a string level in events (v10+)", tags: [R((n) => n.plMapIntegers)], expect: R((n) => n.plMapIntegers), build: (k) => plEv(k, BOB, { users: k.users(), events: { "m.room.name": "50" } }) },
  { name: "refuses a notifications map that is not an object (v10+)", tags: [R((n) => n.plMapIntegers)], expect: R((n) => n.plMapIntegers), build: (k) => plEv(k, BOB, { users: k.users(), notifications: 5 }) },
  { name: "refuses users keyed by something that is not a user id", tags: [R((n) => n.plUsers)], expect: R((n) => n.plUsers), build: (k) => plEv(k, BOB, { users: { ...k.users(), "not-a-user": 0 } }) },
  { name: "refuses users with a non-numeric level", tags: [R((n) => n.plUsers)], expect: R((n) => n.plUsers), build: (k) => plEv(k, BOB, { users: { ...k.users(), [DAN]: "high" } }) },
  { name: "refuses users with a string level (v10+)", tags: [R((n) => n.plUsers)], when: (r) => r.auth.integerPowerLevels, expect: R((n) => n.plUsers), build: (k) => plEv(k, BOB, { users: { ...k.users(), [DAN]: "5" } }) },
  { name: "accepts users with an integer string level before v10", tags: [], when: (r) => !r.auth.integerPowerLevels, expect: "allow", build: (k) => plEv(k, BOB, { users: { ...k.users(), [DAN]: "05" } }) },
  { name: "allows a users map of user ids to integers", tags: [R((n) => n.plUsers), R((n) => n.plCreatorsInUsers), R((n) => n.plAllow)], expect: "allow", allowedBy: R((n) => n.plAllow), build: (k) => plEv(k, BOB, { users: k.users({ [DAN]: 5 }) }) },
  { name: "refuses power levels that list a room creator (v12)", tags: [R((n) => n.plCreatorsInUsers)], expect: R((n) => n.plCreatorsInUsers), build: (k) => plEv(k, BOB, { users: { ...k.users(), [ALICE]: 100 } }) },
  { name: "refuses power levels that list an additional creator (v12)", tags: [R((n) => n.plCreatorsInUsers)], kit: () => ({ createContent: { additional_creators: [DAN] } }), expect: R((n) => n.plCreatorsInUsers), build: (k) => plEv(k, BOB, { users: { ...k.users(), [DAN]: 0 } }) },
  { name: "allows the first power levels event without comparing", tags: [R((n) => n.plNoPrevious)], kit: () => ({ only: "join" }), expect: "allow", allowedBy: R((n) => n.plNoPrevious), build: (k) => plEv(k, ALICE, { users: { [BOB]: 100 }, ban: 0 }) },
  { name: "refuses a first power levels event from a user below state_default", tags: [R((n) => n.plNoPrevious)], kit: () => ({ only: "join" }), expect: R((n) => n.senderJoined), build: (k) => plEv(k, BOB, { users: { [BOB]: 100 } }) },
  { name: "refuses changing a level that is currently above the sender", tags: [sub((n) => n.plAlterations, 1)], expect: sub((n) => n.plAlterations, 1), build: (k) => {
    k.powerLevels({ users: k.users(), ban: 75 });
    return plEv(k, BOB, { users: k.users(), ban: 50 });
  } },
  { name: "refuses raising a level above the sender", tags: [sub((n) => n.plAlterations, 2)], expect: sub((n) => n.plAlterations, 2), build: (k) => plEv(k, BOB, { users: k.users(), kick: 60 }) },
  { name: "allows changing a level that stays within the sender's level", tags: [sub((n) => n.plAlterations, 1), sub((n) => n.plAlterations, 2)], expect: "allow", build: (k) => plEv(k, BOB, { users: k.users(), kick: 40 }) },
  { name: "refuses removing an events entry above the sender", tags: [sub((n) => n.plMapRemoved, 1)], expect: sub((n) => n.plMapRemoved, 1), build: (k) => {
    k.powerLevels({ users: k.users(), events: { "m.room.name": 75 } });
    return plEv(k, BOB, { users: k.users() });
  } },
  { name: "allows removing an events entry within the sender's level", tags: [sub((n) => n.plMapRemoved, 1)], expect: "allow", build: (k) => {
    k.powerLevels({ users: k.users(), events: { "m.room.name": 40 } });
    return plEv(k, BOB, { users: k.users() });
  } },
  { name: "refuses adding an events entry above the sender", tags: [sub((n) => n.plMapAdded, 1)], expect: sub((n) => n.plMapAdded, 1), build: (k) => plEv(k, BOB, { users: k.users(), events: { "m.room.topic": 60 } }) },
  { name: "allows adding an events entry at the sender's level", tags: [sub((n) => n.plMapAdded, 1)], expect: "allow", build: (k) => plEv(k, BOB, { users: k.users(), events: { "m.room.topic": 50 } }) },
  { name: "refuses adding a notifications entry above the sender (v6+)", tags: [], when: (r) => r.auth.notificationsPowerLevels, expect: sub((n) => n.plMapAdded, 1), build: (k) => plEv(k, BOB, { users: k.users(), notifications: { room: 60 } }) },
  { name: "ignores notifications before v6", tags: [], when: (r) => !r.auth.notificationsPowerLevels, expect: "allow", build: (k) => plEv(k, BOB, { users: k.users(), notifications: { room: 60 } }) },
  { name: "refuses demoting a user at the sender's level", tags: [sub((n) => n.plUsersRemoved, 1)], expect: sub((n) => n.plUsersRemoved, 1), build: (k) => {
    k.powerLevels({ users: k.users({ [DAN]: 50 }) });
    return plEv(k, BOB, { users: k.users({ [DAN]: 0 }) });
  } },
  { name: "refuses removing a user above the sender", tags: [sub((n) => n.plUsersRemoved, 1)], when: (r) => !r.auth.privilegedCreators, expect: sub((n) => n.plUsersRemoved, 1), build: (k) => {
    const { [ALICE]: _a, ...rest } = k.users();
    return plEv(k, BOB, { users: rest });
  } },
  { name: "allows demoting a user below the sender and lowering the sender's own level", tags: [sub((n) => n.plUsersRemoved, 1)], expect: "allow", build: (k) => plEv(k, BOB, { users: k.users({ [CAROL]: 0, [BOB]: 20 }) }) },
  { name: "refuses promoting a user above the sender", tags: [sub((n) => n.plUsersAdded, 1)], expect: sub((n) => n.plUsersAdded, 1), build: (k) => plEv(k, BOB, { users: k.users({ [DAN]: 60 }) }) },
  { name: "allows promoting a user to the sender's level", tags: [sub((n) => n.plUsersAdded, 1)], expect: "allow", build: (k) => plEv(k, BOB, { users: k.users({ [DAN]: 50 }) }) },

  // ---- Rule 11 (v1-v2): m.room.redaction
  { name: "allows a redaction by a user at the redact level (v1-v2)", tags: [sub(RED, 1)], expect: "allow", allowedBy: sub(RED, 1), build: (k) => k.ev({ type: "m.room.redaction", sender: BOB, redacts: "$x:a.test", content: {} }) },
  { name: "allows redacting an event from the redaction's own server (v1-v2)", tags: [sub(RED, 1), sub(RED, 2)], expect: "allow", allowedBy: sub(RED, 2), build: (k) => k.ev({ type: "m.room.redaction", sender: CAROL, redacts: "$x:c.test", content: {} }) },
  { name: "refuses a redaction below the redact level of another server's event (v1-v2)", tags: [sub(RED, 1), sub(RED, 2), sub(RED, 3)], expect: sub(RED, 3), build: (k) => k.ev({ type: "m.room.redaction", sender: CAROL, redacts: "$x:a.test", content: {} }) },
  { name: "leaves redaction checks to the redaction algorithm from v3", tags: [], when: (r) => !r.auth.redactionDomainCheckInAuth, expect: "allow", allowedBy: R((n) => n.allow), build: (k) => k.ev({ type: "m.room.redaction", sender: CAROL, redacts: "$x:a.test", content: { redacts: "$x:a.test" } }) },

  // ---- v11 / v12 creators
  { name: "takes the creator from content.creator before v11", tags: [], when: (r) => !r.auth.creatorFromSender, kit: () => ({ only: "create" }), expect: R((n) => n.joinOtherwise), build: (k) => {
    const create = createEv(k, { creator: BOB });
    k.state.clear();
    k.add({ ...create, eventId: k.createId as Pdu["eventId"] });
    return memberEv(k, ALICE, ALICE, "join");
  } },
  { name: "takes the creator from the create event's sender from v11", tags: [], when: (r) => r.auth.creatorFromSender, kit: () => ({ only: "create" }), expect: "allow", allowedBy: sub(J, 1), build: (k) => {
    const create = createEv(k, { creator: BOB });
    k.state.clear();
    k.all.clear();
    k.add({ ...create, eventId: k.createId as Pdu["eventId"] });
    return memberEv(k, ALICE, ALICE, "join");
  } },
  { name: "refuses banning a room creator, who has infinite power (v12)", tags: [], when: (r) => r.auth.privilegedCreators, expect: sub(B, 3), build: (k) => {
    k.powerLevels({ users: k.users({ [BOB]: 1000 }) });
    return memberEv(k, BOB, ALICE, "ban");
  } },
  { name: "lets an additional creator ban anyone without a power levels entry (v12)", tags: [], when: (r) => r.auth.privilegedCreators, kit: () => ({ createContent: { additional_creators: [DAN] } }), expect: "allow", allowedBy: sub(B, 2), build: (k) => {
    k.join(DAN);
    k.powerLevels({ users: k.users({ [BOB]: 1000000 }) });
    return memberEv(k, DAN, BOB, "ban");
  } },
  { name: "gives the creator 100 when there are no power levels (v1-v11)", tags: [], when: (r) => !r.auth.privilegedCreators, kit: () => ({ only: "join" }), expect: "allow", build: (k) => k.ev({ type: "m.room.name", sender: ALICE, stateKey: "", content: {} }) },
];

function applicable(c: Case, r: RoomVersionRules): boolean {
  if (c.when && !c.when(r)) return false;
  const n = ruleNumbers(r);
  if (c.tags.length > 0 && !c.tags.some((t) => t(n, r) !== undefined)) return false;
  if (c.expect !== "allow" && c.expect(n, r) === undefined) return false;
  if (c.allowedBy && c.allowedBy(n, r) === undefined) return false;
  return true;
}

function run(c: Case, r: RoomVersionRules): { viaAuthEvents: AuthVerdict; viaState: AuthVerdict | undefined } {
  const kit = new AuthKit(r, c.kit?.(r) ?? {});
  const event = c.build(kit);
  const opts = c.opts?.(kit) ?? {};
  const viaAuthEvents = checkAuthEvents(event, kit.pool(), r, opts);
  const viaState = c.mode === "auth-events" ? undefined : checkAgainstState(event, kit.state, r, opts);
  return { viaAuthEvents, viaState };
}

function describeVerdict(v: AuthVerdict): string {
  return v.allowed ? `allowed (${v.rule ?? "?"})` : `refused (${v.rule}: ${v.reason})`;
}

describe("authorization rules, table-driven", () => {
  for (const r of ROOM_VERSIONS.values()) {
    describe(`room version ${r.id}`, () => {
      const n = ruleNumbers(r);
      for (const c of CASES) {
        if (!applicable(c, r)) continue;
        const label = c.expect === "allow" ? (c.allowedBy ? ` (allowed by rule ${c.allowedBy(n, r)})` : "") : ` (rule ${c.expect(n, r)})`;
        it(`${c.name}${label}`, () => {
          const { viaAuthEvents, viaState } = run(c, r);
          for (const [how, v] of [["auth_events", viaAuthEvents], ["state", viaState]] as const) {
            if (!v) continue;
            if (c.expect === "allow") {
              assert.equal(v.allowed, true, `${how}: ${describeVerdict(v)}`);
              if (c.allowedBy) assert.equal(v.rule, c.allowedBy(n, r), `${how}: ${describeVerdict(v)}`);
            } else {
              assert.equal(v.allowed, false, `${how}: ${describeVerdict(v)}`);
              assert.equal(v.rule, c.expect(n, r), `${how}: ${describeVerdict(v)}`);
            }
          }
        });
      }
    });
  }

  /** Every numbered rule of these versions, as leaf ids, with whether it can refuse. */
  function leafRules(r: RoomVersionRules): Array<{ id: string; refuses: boolean; allows: boolean }> {
    const n = ruleNumbers(r);
    const out: Array<{ id: string; refuses: boolean; allows: boolean }> = [];
    const add = (id: string | number | undefined, refuses = true, allows = true): void => {
      if (id !== undefined) out.push({ id: String(id), refuses, allows });
    };
    add(n.createPrevEvents);
    add(n.createRoomId);
    add(n.createRoomVersion);
    add(n.createCreators);
    add(n.createAllow, false);
    add(n.roomIdIsCreate);
    add(n.authDuplicate);
    add(n.authSelection);
    add(n.authRejected);
    add(n.authNoCreate);
    add(n.authRoomId);
    add(n.federate);
    if (n.aliases) for (const i of [1, 2]) add(`${n.aliases}.${i}`);
    if (n.aliases) add(`${n.aliases}.3`, false);
    add(n.memberFields);
    add(n.memberAuthoriser);
    for (const i of [1, 2, 3, 4]) add(`${n.join}.${i}`);
    if (n.joinRestricted) {
      add(`${n.joinRestricted}.1`);
      add(`${n.joinRestricted}.2`);
      add(`${n.joinRestricted}.3`, false);
    }
    add(n.joinPublic);
    add(n.joinOtherwise);
    for (let i = 1; i <= 8; i++) add(`${n.invite}.1.${i}`);
    for (const i of [2, 3, 4, 5]) add(`${n.invite}.${i}`);
    for (const i of [1, 2, 3, 4, 5]) add(`${n.leave}.${i}`);
    for (const i of [1, 2, 3]) add(`${n.ban}.${i}`);
    if (n.knock) for (const i of [1, 2, 3]) add(`${n.knock}.${i}`);
    if (n.knock) add(`${n.knock}.4`, true, false); // "Otherwise, reject"
    add(n.memberUnknown);
    add(n.senderJoined);
    add(n.thirdPartyInvite);
    add(n.requiredLevel);
    add(n.userStateKey);
    add(n.plTopLevelIntegers);
    add(n.plMapIntegers);
    add(n.plUsers);
    add(n.plCreatorsInUsers);
    add(n.plNoPrevious);
    add(`${n.plAlterations}.1`);
    add(`${n.plAlterations}.2`);
    add(`${n.plMapRemoved}.1`);
    add(`${n.plMapAdded}.1`);
    add(`${n.plUsersRemoved}.1`);
    add(`${n.plUsersAdded}.1`);
    add(n.plAllow, false);
    if (n.redaction) for (const i of [1, 2]) add(`${n.redaction}.${i}`);
    if (n.redaction) add(`${n.redaction}.3`, true, false); // "Otherwise, reject"
    add(n.allow, false);
    return out;
  }

  for (const r of [V1, V10, V11, V12]) {
    it(`has an allowed and a refused case for every numbered rule of room version ${r.id}`, () => {
      const n = ruleNumbers(r);
      const allowed = new Set<string>();
      const refused = new Set<string>();
      for (const c of CASES) {
        if (!applicable(c, r)) continue;
        const { viaAuthEvents, viaState } = run(c, r);
        const outcome = viaState ?? viaAuthEvents;
        for (const t of c.tags) {
          const id = t(n, r);
          if (id !== undefined) (outcome.allowed ? allowed : refused).add(id);
        }
      }
      const missing: string[] = [];
      for (const { id, refuses, allows } of leafRules(r)) {
        if (allows && !allowed.has(id)) missing.push(`${id} (allowed)`);
        if (refuses && !refused.has(id)) missing.push(`${id} (refused)`);
      }
      assert.deepEqual(missing, []);
    });
  }
});
