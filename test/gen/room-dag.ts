/**
 * A seeded generator of room DAGs for state-resolution tests and benchmarks
 * (reusable by later Zion-versus-Synapse comparisons: same seed and sizes,
 * same room).
 *
 *   const room = generateRoomDag({ seed: 7, members: 10_000, stateEvents: 20_000, conflicted: 1_000 });
 *   runNow(resolveState(room.rules, room.forks, room.source));
 *
 * The room: a creator, a few admins (100) and moderators (50) spread over
 * several servers; `members` users join a public room; then more state
 * (profile changes, leaves and rejoins, power-level changes, topics, kicks and
 * bans) until the trunk holds `stateEvents` state events, each cited as an
 * auth event by later events of the same kind. Then `forks` branches grow
 * from the trunk's end with concurrent power changes, bans, kicks, joins,
 * leaves, topics and profile changes until the forks' state maps conflict on
 * about `conflicted` events. Every event is checked with the auth rules
 * against its branch's state before it is added, so the DAG is one a real
 * server could have accepted.
 */
import { authEventTypesFor } from "../../src/core/auth/auth-events.js";
import { checkAgainstState } from "../../src/core/auth/authorize.js";
import { stateKeyOf, type Pdu, type StateKey, type StateMap } from "../../src/core/events/pdu.js";
import type { EventId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion, type RoomVersionRules } from "../../src/core/room-versions/rules.js";
import { mapSource, type StateResSource } from "../../src/core/state-res/source.js";
import { partitionStateSets } from "../../src/core/state-res/v2.js";
import { makePdu } from "./pdu.js";

export interface RoomDagOptions {
  readonly seed: number;
  /** Users who join on the trunk (default 50). */
  readonly members?: number;
  /** State events on the trunk, joins included (default 2 × members). */
  readonly stateEvents?: number;
  /** Target size of the conflicted state set between the forks (default 20). */
  readonly conflicted?: number;
  /** Number of forks (default 2). */
  readonly forks?: number;
  /** Room version id (default "11"). */
  readonly roomVersion?: string;
  /** Number of servers the users are spread over (default 5). */
  readonly servers?: number;
}

export interface RoomDag {
  readonly rules: RoomVersionRules;
  readonly roomId: string;
  readonly events: Map<EventId, Pdu>;
  readonly source: StateResSource;
  /** The state at the end of the trunk (where the forks start). */
  readonly base: StateMap;
  /** The state after each fork. */
  readonly forks: StateMap[];
  /** The last event of each fork (a merge event would cite these). */
  readonly forkTips: EventId[];
  readonly stats: { events: number; trunkStateEvents: number; forkEvents: number; conflicted: number; members: number };
}

/** mulberry32: a small, fast, seedable PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Branch {
  state: Map<StateKey, Pdu>;
  last: EventId;
  depth: number;
}

export function generateRoomDag(opts: RoomDagOptions): RoomDag {
  const rules = roomVersion(opts.roomVersion ?? "11");
  const rand = prng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const members = opts.members ?? 50;
  const trunkTarget = opts.stateEvents ?? members * 2;
  const conflictedTarget = opts.conflicted ?? 20;
  const forkCount = Math.max(1, opts.forks ?? 2);
  const servers = Math.max(1, opts.servers ?? 5);
  const v12 = rules.auth.createEventIsRoomId;

  const user = (i: number): string => `@u${i}:s${i % servers}.test`;
  const creator = user(0);
  const admins = [user(1), user(2), user(3)];
  const mods = [user(4), user(5), user(6), user(7), user(8)];
  const staff = [...admins, ...mods];
  // Users 9 .. members+8 join on the trunk; the next ones are kept for joins on the forks.
  const firstMember = 9;
  const trunkUsers = Array.from({ length: members }, (_, i) => user(firstMember + i));
  let nextNewcomer = firstMember + members;

  const events = new Map<EventId, Pdu>();
  let seq = 0;
  let ts = 1_700_000_000_000;
  const createId = (v12 ? `$gencreate${opts.seed}` : `$gencreate${opts.seed}:s0.test`) as EventId;
  const roomId = v12 ? `!${createId.slice(1)}` : "!generated:s0.test";

  const build = (b: Branch, type: string, sender: string, stateKey: string | undefined, content: JsonObject): Pdu | undefined => {
    seq++;
    // Occasionally equal timestamps, so event-id tie breaks are exercised too.
    ts += rand() < 0.1 ? 0 : 1 + Math.floor(rand() * 5);
    const server = sender.slice(sender.indexOf(":") + 1);
    const id = (v12 ? `$g${seq}x${Math.floor(rand() * 1e9).toString(36)}` : `$g${seq}x${Math.floor(rand() * 1e9).toString(36)}:${server}`) as EventId;
    const draft = makePdu(rules, { id, roomId, type, sender, stateKey, content, prev: [b.last], depth: b.depth + 1, ts });
    const auth = authEventTypesFor(draft, { includeCreate: !v12 })
      .map((k) => b.state.get(k)?.eventId)
      .filter((x): x is EventId => x !== undefined);
    const pdu = makePdu(rules, { id, roomId, type, sender, stateKey, content, prev: [b.last], auth, depth: b.depth + 1, ts });
    if (!checkAgainstState(pdu, (k) => b.state.get(k), rules).allowed) return undefined;
    events.set(id, pdu);
    if (stateKey !== undefined) b.state.set(stateKeyOf(type, stateKey), pdu);
    b.last = id;
    b.depth++;
    return pdu;
  };

  // The trunk: create, creator joins, power levels, join rules, staff joins.
  const trunk: Branch = { state: new Map(), last: createId, depth: 0 };
  const createContent: Record<string, unknown> = { room_version: rules.id };
  if (!rules.auth.creatorFromSender) createContent["creator"] = creator;
  const create = makePdu(rules, { id: createId, roomId, type: "m.room.create", sender: creator, stateKey: "", content: createContent as JsonObject, depth: 1, ts });
  events.set(createId, create);
  trunk.state.set(stateKeyOf("m.room.create", ""), create);
  trunk.depth = 1;
  build(trunk, "m.room.member", creator, creator, { membership: "join" });
  const levels: Record<string, number> = {};
  if (!rules.auth.privilegedCreators) levels[creator] = 100;
  for (const a of admins) levels[a] = 100;
  for (const m of mods) levels[m] = 50;
  const plContent = (): JsonObject => ({ users: { ...levels }, users_default: 0, events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0 });
  build(trunk, "m.room.power_levels", creator, "", plContent());
  build(trunk, "m.room.join_rules", creator, "", { join_rule: "public" });
  for (const s of staff) build(trunk, "m.room.member", s, s, { membership: "join" });

  let trunkStateEvents = events.size;
  for (const u of trunkUsers) if (build(trunk, "m.room.member", u, u, { membership: "join" })) trunkStateEvents++;

  const membershipOf = (b: Branch, u: string): string | undefined => {
    const e = b.state.get(stateKeyOf("m.room.member", u));
    const m = e?.content["membership"];
    return typeof m === "string" ? m : undefined;
  };

  /** One random state change on a branch; returns true when an event was added. */
  const step = (b: Branch, onFork: boolean): boolean => {
    const r = rand();
    const u = pick(trunkUsers);
    const m = membershipOf(b, u);
    if (r < 0.35) {
      // Profile change (or rejoin after leaving).
      if (m === "join") return !!build(b, "m.room.member", u, u, { membership: "join", displayname: `user ${seq}` });
      if (m === "leave" || m === undefined) return !!build(b, "m.room.member", u, u, { membership: "join" });
      return false;
    }
    if (r < 0.5) {
      if (m === "join") return !!build(b, "m.room.member", u, u, { membership: "leave" });
      return false;
    }
    if (r < 0.6) {
      // Concurrent power changes: an admin sets a member's level.
      const target = pick(trunkUsers);
      levels[target] = pick([0, 10, 20, 50]);
      const pl = b.state.get(stateKeyOf("m.room.power_levels", ""));
      const users = { ...((pl?.content["users"] as Record<string, number> | undefined) ?? {}), [target]: levels[target]! };
      return !!build(b, "m.room.power_levels", pick(admins), "", { ...plContent(), users });
    }
    if (r < 0.7) {
      if (m !== "join") return false;
      return !!build(b, "m.room.member", pick(mods), u, { membership: rand() < 0.5 ? "ban" : "leave" });
    }
    if (r < 0.8) return !!build(b, "m.room.topic", pick(staff), "", { topic: `topic ${seq}` });
    if (r < 0.9 && onFork) {
      const n = user(nextNewcomer++);
      return !!build(b, "m.room.member", n, n, { membership: "join" });
    }
    // Unban: a mod lets a banned user back to "leave".
    if (m === "ban") return !!build(b, "m.room.member", pick(mods), u, { membership: "leave" });
    return !!build(b, "m.room.name", pick(admins), "", { name: `room ${seq}` });
  };

  let guard = 0;
  while (trunkStateEvents < trunkTarget && guard++ < trunkTarget * 20) if (step(trunk, false)) trunkStateEvents++;

  const base = new Map<StateKey, EventId>([...trunk.state].map(([k, e]) => [k, e.eventId]));
  const branches: Branch[] = Array.from({ length: forkCount }, () => ({ state: new Map(trunk.state), last: trunk.last, depth: trunk.depth }));
  const forkState = (b: Branch): Map<StateKey, EventId> => new Map([...b.state].map(([k, e]) => [k, e.eventId]));
  let forkEvents = 0;
  // Grow the forks round-robin until the conflicted set reaches the target.
  let conflicted = 0;
  guard = 0;
  while (forkCount > 1 && conflicted < conflictedTarget && guard++ < conflictedTarget * 50) {
    for (const b of branches) if (step(b, true)) forkEvents++;
    if (guard % 64 === 0 || conflictedTarget < 64) conflicted = partitionStateSets(branches.map(forkState)).conflicted.size;
  }
  const forks = branches.map(forkState);
  return {
    rules,
    roomId,
    events,
    source: mapSource(events),
    base,
    forks,
    forkTips: branches.map((b) => b.last),
    stats: { events: events.size, trunkStateEvents, forkEvents, conflicted: partitionStateSets(forks).conflicted.size, members },
  };
}
