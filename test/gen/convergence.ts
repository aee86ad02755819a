/**
 * A seeded generator of signed rooms for the Zion-versus-Synapse differential
 * test (test/interop/convergence.test.ts): real PDUs built with Zion's core
 * (content hashes, ed25519 signatures of each sender's server, event ids from
 * the reference hash in v3+, v12 room ids from the create event), so the
 * other implementation receives exactly what a server would.
 *
 *   const cases = generateConvergenceCases({ seed: 1, rooms: 60 });
 *
 * Each room: a create event (v1-v12, with the create-event differences of
 * v10, v11 and v12: `creator`, the sender as creator, `additional_creators`,
 * the room id as the create event's hash), a trunk of membership transitions,
 * power-level edits (long chains of them), join rules (public, invite, knock,
 * restricted, knock_restricted), restricted joins authorised by a resident
 * server, knocks, third-party invites, redactions, then two or three forks
 * that edit the same keys concurrently (bans, kicks, power levels, join
 * rules, topics). Events that fail Zion's checks on receipt are kept as
 * rejected events; some forks claim state including them, as a remote
 * server's state answer might.
 *
 * Each built event becomes an auth case (against its own auth events, and
 * against its branch's state), each fork point a state case. Quirks that the
 * two implementations are known to treat differently (docs/interop.md) are
 * generated on purpose, in every third room only, and tag the events that
 * carry them; a case carries the tags of every event it involves, and the
 * other rooms are compared strictly.
 */
import { authEventTypesFor } from "../../src/core/auth/auth-events.js";
import { checkAgainstState, checkAuthEvents, createEventIdForRoom } from "../../src/core/auth/authorize.js";
import { sha256, signingKeyFromSeed, signJson, publicKeyBase64, type SigningKey } from "../../src/core/crypto/index.js";
import { buildPdu, signEvent, parsePdu } from "../../src/core/events/index.js";
import { stateKeyOf, type Pdu, type StateKey } from "../../src/core/events/pdu.js";
import type { EventId } from "../../src/core/ids/index.js";
import type { JsonObject, JsonValue } from "../../src/core/json/types.js";
import { roomVersion, type RoomVersionRules } from "../../src/core/room-versions/rules.js";
import { prng } from "./room-dag.js";

/** Quirks generated on purpose (docs/interop.md); the allow-list names them. */
export type QuirkTag =
  | "federate-string"
  | "federate-target-domain"
  | "v1-redaction-without-redacts"
  | "third-party-first-signature-fails"
  | "authoriser-signature-non-join"
  | "python-int-level"
  | "unreadable-level";

export interface AuthCase {
  readonly kind: "auth";
  readonly name: string;
  readonly version: string;
  readonly mode: "auth_events" | "state";
  readonly event: JsonObject;
  readonly auth_events: JsonObject[];
  readonly rejected: string[];
  readonly tags: QuirkTag[];
}

export interface StateCase {
  readonly kind: "state";
  readonly name: string;
  readonly version: string;
  readonly room_id: string;
  readonly state_sets: Array<Array<[string, string, string]>>;
  readonly events: JsonObject[];
  readonly rejected: string[];
  readonly tags: QuirkTag[];
}

export type ConvergenceCase = AuthCase | StateCase;

const VERSIONS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];
export const USERS = {
  alice: "@alice:a.test",
  bob: "@bob:b.test",
  carol: "@carol:c.test",
  dan: "@dan:d.test",
  eve: "@eve:e.test",
  /** Historical user ids (spec appendices): non-ASCII and empty localparts. */
  zoe: "@Zoë Ünïcode:f.test",
  empty: "@:f.test",
} as const;
const ALL = Object.values(USERS);

function keyOf(server: string): SigningKey {
  return signingKeyFromSeed("k1", sha256(new TextEncoder().encode(`convergence/${server}`)));
}
const serverOf = (user: string): string => user.slice(user.indexOf(":") + 1);

interface Branch {
  state: Map<StateKey, Pdu>;
  tips: Pdu[];
}

interface Send {
  readonly type: string;
  readonly sender: string;
  readonly stateKey?: string;
  readonly content?: JsonObject;
  readonly redacts?: string;
  /** Servers that co-sign (a restricted join's authorising server). */
  readonly coSigners?: readonly string[];
  readonly tags?: readonly QuirkTag[];
  /** Put it in the branch state even if rejected (a fork that claims it). */
  readonly claim?: boolean;
}

/** One room under construction: its events, their verdicts and the branches' states. */
export class SignedRoom {
  readonly events = new Map<EventId, Pdu>();
  readonly rejected = new Set<EventId>();
  readonly tagsOf = new Map<EventId, QuirkTag[]>();
  readonly cases: ConvergenceCase[] = [];
  roomId = "";
  createId = "" as EventId;
  private seq = 0;
  private readonly branches = new Map<string, Branch>();

  constructor(
    readonly rules: RoomVersionRules,
    readonly name: string,
    private readonly rand: () => number,
    /** Whether the generator may put documented quirks in this room. */
    readonly quirks = false,
  ) {}

  branch(name: string): Branch {
    const b = this.branches.get(name);
    if (!b) throw new Error(`no branch ${name}`);
    return b;
  }

  fork(from: string, names: readonly string[]): void {
    const b = this.branch(from);
    for (const n of names) this.branches.set(n, { state: new Map(b.state), tips: [...b.tips] });
  }

  create(content: JsonObject, sender: string = USERS.alice): Pdu {
    const rules = this.rules;
    const v12 = rules.auth.createEventIsRoomId;
    const c: Record<string, JsonValue> = { room_version: rules.id, ...content };
    if (!rules.auth.creatorFromSender && c["creator"] === undefined) c["creator"] = sender;
    const pdu = buildPdu(rules, {
      type: "m.room.create", sender, stateKey: "", content: c as JsonObject,
      ...(v12 ? {} : { roomId: `!${this.name}:${serverOf(sender)}` }),
      prevEvents: [], authEvents: [], depth: 1, originServerTs: ++this.seq,
      ...(rules.eventId === "server-minted" ? { eventId: `$create-${this.name}:${serverOf(sender)}` } : {}),
    }, { serverName: serverOf(sender), key: keyOf(serverOf(sender)) });
    this.roomId = pdu.roomId;
    this.createId = pdu.eventId;
    this.events.set(pdu.eventId, pdu);
    this.branches.set("main", { state: new Map([[stateKeyOf("m.room.create", ""), pdu]]), tips: [pdu] });
    return pdu;
  }

  /** Builds, signs and checks one event on a branch; returns it with its verdict. */
  send(branchName: string, s: Send): { pdu: Pdu; accepted: boolean } {
    const rules = this.rules;
    const b = this.branch(branchName);
    const content = s.content ?? {};
    const draft = { type: s.type, sender: s.sender, stateKey: s.stateKey, content, roomVersion: rules } as unknown as Pdu;
    const authPdus = authEventTypesFor(draft, { rules, includeCreate: !rules.auth.createEventIsRoomId })
      .map((k) => b.state.get(k))
      .filter((x): x is Pdu => x !== undefined);
    const ref = (p: Pdu) => (rules.eventFormat === "v1" ? { eventId: p.eventId, sha256: String((p.raw["hashes"] as JsonObject)["sha256"]) } : p.eventId);
    const server = serverOf(s.sender);
    const n = ++this.seq;
    let pdu = buildPdu(rules, {
      type: s.type, sender: s.sender, content, roomId: this.roomId,
      ...(s.stateKey !== undefined ? { stateKey: s.stateKey } : {}),
      ...(s.redacts !== undefined ? { redacts: s.redacts } : {}),
      prevEvents: b.tips.map(ref), authEvents: authPdus.map(ref),
      depth: Math.max(...b.tips.map((t) => t.depth)) + 1, originServerTs: 1_700_000_000_000 + n * 1000 + Math.floor(this.rand() * 900),
      ...(rules.eventId === "server-minted" ? { eventId: `$e${n}-${this.name}:${server}` } : {}),
    }, { serverName: server, key: keyOf(server) });
    for (const co of s.coSigners ?? []) pdu = parsePdu(signEvent(pdu.raw, rules, { serverName: co, key: keyOf(co) }), rules);
    const pool = this.withCreate(authPdus);
    const isRejected = (id: EventId) => this.rejected.has(id);
    const onReceipt = checkAuthEvents(pdu, pool, rules, { isRejected });
    const againstState = checkAgainstState(pdu, b.state, rules, { isRejected });
    const tags = [...new Set([...(s.tags ?? []), ...pool.flatMap((p) => this.tagsOf.get(p.eventId) ?? [])])];
    this.events.set(pdu.eventId, pdu);
    this.tagsOf.set(pdu.eventId, tags);
    if (!onReceipt.allowed) this.rejected.add(pdu.eventId);
    const stateTags = [...new Set([...tags, ...[...b.state.values()].flatMap((p) => this.tagsOf.get(p.eventId) ?? [])])];
    this.cases.push({ kind: "auth", name: `${this.name} ${s.type} by ${s.sender} (auth events)`, version: rules.id, mode: "auth_events",
      event: pdu.raw, auth_events: pool.map((p) => p.raw), rejected: pool.filter((p) => isRejected(p.eventId)).map((p) => p.eventId), tags });
    if (this.rand() < 0.2) {
      const state = [...b.state.values()];
      this.cases.push({ kind: "auth", name: `${this.name} ${s.type} by ${s.sender} (state)`, version: rules.id, mode: "state",
        event: pdu.raw, auth_events: state.map((p) => p.raw), rejected: [], tags: stateTags });
    }
    const accepted = onReceipt.allowed && againstState.allowed;
    if ((accepted || s.claim) && s.stateKey !== undefined) b.state.set(stateKeyOf(s.type, s.stateKey), pdu);
    if (onReceipt.allowed || s.claim) b.tips = [pdu];
    return { pdu, accepted };
  }

  /** Puts an event into a branch's state without citing it (the branch's server learnt it late, by a merge). */
  adopt(branchName: string, pdu: Pdu): void {
    if (pdu.stateKey !== undefined) this.branch(branchName).state.set(stateKeyOf(pdu.type, pdu.stateKey), pdu);
  }

  /** Auth events plus the v12 create event (which events there do not cite). */
  private withCreate(list: Pdu[]): Pdu[] {
    if (!this.rules.auth.createEventIsRoomId) return list;
    const create = this.events.get(createEventIdForRoom(this.roomId));
    return create && !list.includes(create) ? [create, ...list] : list;
  }

  /** A state case: resolve the named branches' states. */
  resolveCase(branchNames: readonly string[]): void {
    const sets = branchNames.map((n) => [...this.branch(n).state.values()].map((p) => [p.type, p.stateKey!, p.eventId] as [string, string, string]));
    const tags = [...new Set([...this.tagsOf.values()].flat())];
    this.cases.push({ kind: "state", name: `${this.name} resolve ${branchNames.join("+")}`, version: this.rules.id, room_id: this.roomId,
      state_sets: sets, events: [...this.events.values()].map((p) => p.raw), rejected: [...this.rejected], tags });
  }
}

export interface ConvergenceOptions {
  readonly seed: number;
  /** Rooms to generate (each gives some 20-60 auth cases and 2-4 state cases). */
  readonly rooms: number;
}

/** Generates the cases: rooms cycle through the room versions, so every version gets rooms. */
export function generateConvergenceCases(o: ConvergenceOptions): ConvergenceCase[] {
  const out: ConvergenceCase[] = [];
  for (let i = 0; i < o.rooms; i++) {
    const rand = prng(o.seed * 7919 + i);
    const version = VERSIONS[i % VERSIONS.length]!;
    // Every third room may carry quirks; the others are compared strictly, state resolution included.
    out.push(...generateRoom(roomVersion(version), `r${i}`, rand, i % 3 === 0));
  }
  return out;
}

function generateRoom(rules: RoomVersionRules, name: string, rand: () => number, quirks: boolean): ConvergenceCase[] {
  const room = new SignedRoom(rules, name, rand, quirks);
  const chance = (p: number) => rand() < p;
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const a = rules.auth;
  const { alice, bob, carol, dan, eve, zoe, empty } = USERS;

  // The create event and its version differences.
  const createContent: Record<string, JsonValue> = {};
  const createTags: QuirkTag[] = [];
  if (a.privilegedCreators && chance(0.5)) createContent["additional_creators"] = chance(0.2) ? [bob, zoe] : [bob];
  if (quirks && chance(0.1)) {
    createContent["m.federate"] = "false";
    createTags.push("federate-string");
  } else if (quirks && chance(0.12)) {
    createContent["m.federate"] = false;
    createTags.push("federate-target-domain");
  }
  if (!a.creatorFromSender && chance(0.1)) createContent["creator"] = alice; // explicit, same as the default
  if (a.creatorFromSender && !a.privilegedCreators && chance(0.2)) createContent["creator"] = bob; // ignored from v11
  room.create(createContent as JsonObject);
  if (createTags.length) room.tagsOf.set(room.createId, createTags);
  const send = (s: Send, branch = "main") => room.send(branch, s);
  const member = (sender: string, target: string, membership: string, extra: JsonObject = {}, branch = "main", tags: QuirkTag[] = []) =>
    send({ type: "m.room.member", sender, stateKey: target, content: { membership, ...extra }, tags }, branch);
  const creators = new Set<string>([alice, ...((createContent["additional_creators"] as string[] | undefined) ?? [])]);
  const users = (extra: Record<string, JsonValue> = {}): JsonObject => {
    const u: Record<string, JsonValue> = { [alice]: 100, [bob]: 50, [carol]: 10, ...extra };
    if (a.privilegedCreators) for (const c of creators) delete u[c];
    return u;
  };

  member(alice, alice, "join");
  // The first power levels event, sometimes with values outside users that are not numbers (v1-v9: allowed).
  const firstPl: Record<string, JsonValue> = { users: users(), ...(chance(0.3) ? { state_default: 50, events: { "m.room.name": 60 } } : {}) };
  let firstTags: QuirkTag[] = [];
  if (quirks && !a.integerPowerLevels && chance(0.3)) {
    firstPl[pick(["ban", "kick", "invite", "redact"])] = pick(["fifty", "abc", [5]] as JsonValue[]);
    firstTags = ["unreadable-level"];
  }
  send({ type: "m.room.power_levels", sender: alice, stateKey: "", content: firstPl as JsonObject, tags: firstTags });
  send({ type: "m.room.join_rules", sender: alice, stateKey: "", content: { join_rule: "public" } });
  for (const u of [bob, carol, dan]) member(u, u, "join");
  if (chance(0.3)) member(zoe, zoe, "join");
  if (chance(0.15)) member(empty, empty, "join");

  // The trunk: a random walk of operations, sometimes a long chain of power levels edits.
  const steps = 6 + Math.floor(rand() * 10);
  for (let i = 0; i < steps; i++) {
    randomOp(room, "main", rand, creators, users);
    if (i === 2) room.fork("main", ["early"]); // the state a server saw earlier, before the rest of the trunk
  }
  if (chance(0.25)) {
    for (let i = 0; i < 25; i++) send({ type: "m.room.power_levels", sender: alice, stateKey: "", content: { users: users({ [dan]: i % 60 }) } });
  }
  // Forks: two or three, each editing the same keys.
  const forks = chance(0.35) ? ["x", "y", "z"] : ["x", "y"];
  room.fork("main", forks);
  for (const f of forks) {
    const n = 2 + Math.floor(rand() * 6);
    const claim = chance(0.25);
    for (let i = 0; i < n; i++) randomOp(room, f, rand, creators, users, claim);
  }
  room.resolveCase(forks);
  if (forks.length === 3) room.resolveCase(["x", "y"]);
  contests(room, rand, users);
  // Stale state sets: the fork point itself, and the state of the trunk's early part.
  room.resolveCase(["main", "x"]);
  room.resolveCase(["early", "y"]);
  room.resolveCase(["early", "main", "x"]);
  // A second round: fork again from x, so forks share some history and not other.
  room.fork("x", ["x1", "x2"]);
  for (const f of ["x1", "x2"]) for (let i = 0; i < 3; i++) randomOp(room, f, rand, creators, users);
  room.resolveCase(["x1", "x2", "y"]);
  return room.cases;
}

/** One random operation on a branch: mostly plausible, sometimes unauthorised (rejected or soft-failed). */
function randomOp(
  room: SignedRoom,
  br: string,
  rand: () => number,
  creators: ReadonlySet<string>,
  users: (extra?: Record<string, JsonValue>) => JsonObject,
  claim = false,
): void {
  const a = room.rules.auth;
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const chance = (p: number) => rand() < p;
  const { alice, bob, carol, dan, eve, zoe } = USERS;
  const anyone = () => pick(ALL);
  const staff = () => pick([alice, bob, bob, carol]);
  const send = (s: Send) => room.send(br, { ...s, claim });
  const member = (sender: string, target: string, membership: string, extra: JsonObject = {}, tags: QuirkTag[] = [], coSigners: string[] = []) =>
    send({ type: "m.room.member", sender, stateKey: target, content: { membership, ...extra }, tags, coSigners });
  const op = pick([
    "topic", "topic", "name", "pl", "pl", "pl-weird", "ban", "kick", "leave", "join", "invite", "join-rules", "join-rules",
    "restricted", "knock", "third-party", "redaction", "message", "historical",
  ] as const);
  switch (op) {
    case "topic":
      send({ type: "m.room.topic", sender: anyone(), stateKey: "", content: { topic: `t${Math.floor(rand() * 1000)}` } });
      break;
    case "name":
      send({ type: "m.room.name", sender: staff(), stateKey: "", content: { name: `n${Math.floor(rand() * 1000)}` } });
      break;
    case "message":
      send({ type: "m.room.message", sender: anyone(), content: { body: "hi", msgtype: "m.text" } });
      break;
    case "pl": {
      const target = pick([bob, carol, dan, eve]);
      const level = pick([0, 10, 49, 50, 51, 75, 100]);
      const extra: Record<string, JsonValue> = { [target]: level };
      const content: Record<string, JsonValue> = { users: users(extra) };
      if (chance(0.4)) content[pick(["ban", "kick", "state_default", "events_default", "invite", "redact"])] = pick([0, 25, 50, 75, 100]);
      if (chance(0.2)) content["events"] = { "m.room.topic": pick([0, 50, 100]) };
      if (!a.integerPowerLevels && chance(0.15)) content["kick"] = pick([" 50", "+40", "-0"]); // integer strings before v10 (Zion signs no floats)
      send({ type: "m.room.power_levels", sender: staff(), stateKey: "", content: content as JsonObject });
      break;
    }
    case "pl-weird": {
      // Values Python's int() reads and the spec's integer grammar does not.
      if (!room.quirks || a.integerPowerLevels || !chance(0.5)) return randomOp(room, br, rand, creators, users, claim);
      const v = pick([true, "5_0", "\u0665\u0660"] as JsonValue[]);
      const content = chance(0.5) ? { users: users(), ban: v } : { users: users({ [carol]: v }) };
      send({ type: "m.room.power_levels", sender: alice, stateKey: "", content: content as JsonObject, tags: ["python-int-level"] });
      break;
    }
    case "ban":
      member(staff(), pick([carol, dan, eve, bob, zoe]), "ban");
      break;
    case "kick":
      member(staff(), pick([carol, dan, eve, bob]), "leave");
      break;
    case "leave": {
      const u = anyone();
      if (room.quirks && chance(0.3) && a.restrictedJoins) {
        // A non-join membership carrying join_authorised_via_users_server, unsigned by that server.
        member(u, u, "leave", { join_authorised_via_users_server: bob }, ["authoriser-signature-non-join"]);
      } else member(u, u, "leave");
      break;
    }
    case "join": {
      const u = pick([dan, eve, zoe, carol]);
      member(u, u, "join");
      break;
    }
    case "invite": {
      const target = pick([eve, dan, zoe]);
      const tags: QuirkTag[] = [];
      member(staff(), target, "invite", {}, tags);
      break;
    }
    case "join-rules": {
      const rules = ["public", "invite", ...(a.knocking ? ["knock"] : []), ...(a.restrictedJoins ? ["restricted"] : []), ...(a.knockRestrictedJoinRule ? ["knock_restricted"] : [])];
      const rule = pick(rules);
      const content: Record<string, JsonValue> = { join_rule: rule };
      if (rule === "restricted" || rule === "knock_restricted") content["allow"] = [{ type: "m.room_membership", room_id: "!space:a.test" }];
      send({ type: "m.room.join_rules", sender: staff(), stateKey: "", content: content as JsonObject });
      break;
    }
    case "restricted": {
      if (!a.restrictedJoins) return randomOp(room, br, rand, creators, users, claim);
      const jr = room.branch(br).state.get(stateKeyOf("m.room.join_rules", ""));
      if (!jr || !["restricted", "knock_restricted"].includes(String(jr.content["join_rule"]))) {
        send({ type: "m.room.join_rules", sender: alice, stateKey: "", content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: "!space:a.test" }] } });
      }
      const joiner = pick([eve, dan, zoe]);
      const via = pick([bob, carol, alice]);
      const signed = chance(0.85);
      member(joiner, joiner, "join", { join_authorised_via_users_server: via }, [], signed ? [via.slice(via.indexOf(":") + 1)] : []);
      break;
    }
    case "knock": {
      if (!a.knocking) return randomOp(room, br, rand, creators, users, claim);
      const jr = room.branch(br).state.get(stateKeyOf("m.room.join_rules", ""));
      if (!jr || !["knock", "knock_restricted"].includes(String(jr.content["join_rule"]))) {
        send({ type: "m.room.join_rules", sender: alice, stateKey: "", content: { join_rule: "knock" } });
      }
      const knocker = pick([eve, zoe, dan]);
      member(knocker, knocker, "knock");
      if (chance(0.6)) member(pick([bob, carol]), knocker, "invite");
      if (chance(0.5)) member(knocker, knocker, "join");
      break;
    }
    case "third-party": {
      const idKey = keyOf("id.test");
      const wrongKey = keyOf("wrong.test");
      const token = `tok${Math.floor(rand() * 1e6)}`;
      const sender = staff();
      send({ type: "m.room.third_party_invite", sender, stateKey: token,
        content: { display_name: "e...@e.test", key_validity_url: "https://id.test/_matrix/identity/v2/pubkey/isvalid", public_key: publicKeyBase64(idKey) } });
      const target = pick([eve, dan]);
      const bare: JsonObject = { mxid: target, token };
      const kind = pick(room.quirks ? (["good", "bad", "first-bad"] as const) : (["good", "good", "bad"] as const));
      let signed: JsonObject;
      const tags: QuirkTag[] = [];
      if (kind === "good") signed = signJson(bare, "id.test", idKey);
      else if (kind === "bad") signed = signJson(bare, "id.test", wrongKey);
      else {
        // Two signatures: the first (in code-point order and in the JSON text) fails, the second matches.
        const bad = signJson(bare, "aa.test", wrongKey);
        const good = signJson(bare, "id.test", idKey);
        signed = { ...bare, signatures: { ...(bad["signatures"] as JsonObject), ...(good["signatures"] as JsonObject) } };
        tags.push("third-party-first-signature-fails");
      }
      member(chance(0.85) ? sender : pick([alice, bob]), target, "invite", { third_party_invite: { display_name: "e...@e.test", signed } }, tags);
      break;
    }
    case "redaction": {
      const targets = [...room.events.values()].filter((e) => e.type === "m.room.message" || e.type === "m.room.topic");
      const target = targets.length ? pick(targets).eventId : ("$nothing:z.test" as EventId);
      const sender = pick([carol, dan, bob]);
      if (room.quirks && room.rules.auth.redactionDomainCheckInAuth && chance(0.4)) {
        send({ type: "m.room.redaction", sender, content: {}, tags: ["v1-redaction-without-redacts"] });
      } else send({ type: "m.room.redaction", sender, content: {}, redacts: target });
      break;
    }
    case "historical": {
      // A historical user id in power levels users and as a sender.
      send({ type: "m.room.power_levels", sender: alice, stateKey: "", content: { users: users({ [zoe]: 20, [USERS.empty]: 5 }) } });
      send({ type: "m.room.topic", sender: zoe, stateKey: "", content: { topic: "from a historical id" } });
      break;
    }
  }
}

/**
 * Scripted contests on top of the random walk, the shapes where resolution
 * algorithms part ways: a ban against a kick of the same user while a
 * lower-powered moderator's power-levels edit, cited by one side only, is in
 * both states; a kick by a user whose own membership is conflicted; a ban of
 * a moderator against that moderator's power-levels edit.
 */
function contests(room: SignedRoom, rand: () => number, users: (extra?: Record<string, JsonValue>) => JsonObject): void {
  const { alice, bob, carol, dan, eve } = USERS;
  const chance = (p: number) => rand() < p;
  const joined = (br: string, u: string) => room.branch(br).state.get(stateKeyOf("m.room.member", u))?.content["membership"] === "join";
  // 1. Ban against kick, with an unconflicted power-levels edit by carol (25) that only the ban cites.
  room.fork("main", ["c1"]);
  const lift = { users: users({ [carol]: 25, [dan]: 0 }), events: { "m.room.power_levels": 25 } };
  room.send("c1", { type: "m.room.power_levels", sender: alice, stateKey: "", content: lift });
  for (const u of [bob, carol, dan]) if (!joined("c1", u)) room.send("c1", { type: "m.room.member", sender: u, stateKey: u, content: { membership: "join" } });
  room.fork("c1", ["c1k"]);
  room.send("c1k", { type: "m.room.member", sender: bob, stateKey: dan, content: { membership: "leave" } });
  const u = room.send("c1", { type: "m.room.power_levels", sender: carol, stateKey: "", content: lift }).pdu;
  room.send("c1", { type: "m.room.member", sender: alice, stateKey: dan, content: { membership: "ban" } });
  room.adopt("c1k", u);
  room.resolveCase(["c1k", "c1"]);
  // 2. A kick by bob while bob's own membership is conflicted (a profile change on the other side).
  room.fork("main", ["c2"]);
  for (const u of [bob, carol]) if (!joined("c2", u)) room.send("c2", { type: "m.room.member", sender: u, stateKey: u, content: { membership: "join" } });
  room.fork("c2", ["c2a", "c2b"]);
  room.send("c2a", { type: "m.room.member", sender: bob, stateKey: bob, content: { membership: "join", displayname: "Bob" } });
  room.send("c2b", { type: "m.room.member", sender: bob, stateKey: chance(0.5) ? carol : eve, content: { membership: "leave" } });
  room.resolveCase(["c2a", "c2b"]);
  // 3. alice demotes bob on one side; bob bans carol and edits power levels on the other.
  room.fork("c2", ["c3a", "c3b"]);
  room.send("c3a", { type: "m.room.power_levels", sender: alice, stateKey: "", content: users({ [bob]: 0 }) });
  room.send("c3b", { type: "m.room.member", sender: bob, stateKey: carol, content: { membership: "ban" } });
  room.send("c3b", { type: "m.room.power_levels", sender: bob, stateKey: "", content: { users: users({ [dan]: 40 }) } });
  room.resolveCase(["c3a", "c3b"]);
}
