/**
 * State resolution v2 (room versions 2-11) and v2.1 (room version 12).
 * https://spec.matrix.org/v1.16/rooms/v2/#state-resolution
 * https://spec.matrix.org/v1.16/rooms/v12/#state-resolution (v2.1 changes)
 *
 * Algorithm (numbered as in the spec):
 *   0. Split the state sets into the unconflicted state map and the conflicted
 *      state set; the full conflicted set is the conflicted set plus the auth
 *      difference (v2.1: plus the conflicted state subgraph).
 *   1. X = power events of the full conflicted set, plus the events of their
 *      auth chains that are in the full conflicted set, sorted by the reverse
 *      topological power ordering.
 *   2. Iterative auth checks over X, starting from the unconflicted state map
 *      (v2.1: from an empty state map).
 *   3. The remaining events of the full conflicted set, in mainline order
 *      based on the power levels of the partially resolved state.
 *   4. Iterative auth checks over them, starting from the partial state.
 *   5. Overwrite with the unconflicted state map.
 * v2.1 is selected by `rules.stateRes === "v2.1"`.
 */
import { checkAgainstState } from "../auth/authorize.js";
import { createEventIdForRoom } from "../auth/authorize.js";
import { CREATE_KEY, POWER_LEVELS_KEY } from "../auth/auth-events.js";
import { isJsonObject, PowerLevelView, UnreadableLevelError } from "../auth/power-levels.js";
import { stateKeyOf, type Pdu, type StateKey, type StateMap } from "../events/pdu.js";
import type { Pausable } from "../generator.js";
import type { EventId } from "../ids/index.js";
import type { RoomVersionRules } from "../room-versions/rules.js";
import { authChainUnion, authDifference, need } from "./auth-chain.js";
import { compareCodePoints, MinHeap } from "./heap.js";
import { StateResFailure, type StateResResult, type StateResSource } from "./source.js";

const STEP0 = "step 0 (conflicted state set and auth difference)";
const STEP0_SUBGRAPH = "step 0 (conflicted state subgraph)";
const STEP1 = "step 1 (reverse topological power ordering)";
const STEP2 = "step 2 (iterative auth checks of power events)";
const STEP3 = "step 3 (mainline ordering)";
const STEP4 = "step 4 (iterative auth checks of the other events)";

/** A power event: power levels, join rules, or a kick/ban (leave or ban whose sender is not the target). */
export function isPowerEvent(e: Pdu): boolean {
  if (typeof e.stateKey !== "string") return false;
  if (e.type === "m.room.power_levels" || e.type === "m.room.join_rules") return true;
  if (e.type === "m.room.member") {
    const m = isJsonObject(e.content) ? e.content["membership"] : undefined;
    return (m === "leave" || m === "ban") && e.sender !== e.stateKey;
  }
  return false;
}

/** Splits state sets into the unconflicted state map and the conflicted state set. */
export function partitionStateSets(stateSets: readonly StateMap[]): { unconflicted: Map<StateKey, EventId>; conflicted: Set<EventId> } {
  const unconflicted = new Map<StateKey, EventId>();
  const conflicted = new Set<EventId>();
  const keys = new Set<StateKey>();
  for (const s of stateSets) for (const k of s.keys()) keys.add(k);
  for (const k of keys) {
    const first = stateSets[0]?.get(k);
    let same = first !== undefined;
    for (const s of stateSets) if (s.get(k) !== first) same = false;
    if (same) unconflicted.set(k, first!);
    else for (const s of stateSets) {
      const v = s.get(k);
      if (v !== undefined) conflicted.add(v);
    }
  }
  return { unconflicted, conflicted };
}

/** Resolves state sets with v2 or v2.1 (per `rules.stateRes`). Pause points every few hundred events. */
export function* resolveStateV2(rules: RoomVersionRules, stateSets: readonly StateMap[], src: StateResSource): Pausable<StateResResult> {
  const name = rules.stateRes === "v2.1" ? "v2.1" : "v2";
  try {
    return { ok: true, state: yield* resolveInner(rules, stateSets, src) };
  } catch (e) {
    if (e instanceof StateResFailure) {
      return { ok: false, error: e.kind, step: `${name} ${e.step}`, reason: e.message, ...(e.eventId ? { eventId: e.eventId } : {}) };
    }
    return { ok: false, error: "malformed", step: name, reason: e instanceof Error ? e.message : String(e) };
  }
}

function* resolveInner(rules: RoomVersionRules, stateSets: readonly StateMap[], src: StateResSource): Pausable<Map<StateKey, EventId>> {
  const v21 = rules.stateRes === "v2.1";
  // Step 0: unconflicted state map, conflicted state set, full conflicted set.
  const { unconflicted, conflicted } = partitionStateSets(stateSets);
  if (conflicted.size === 0) return unconflicted;
  for (const id of conflicted) need(src, id, STEP0);
  const full = new Set<EventId>(conflicted);
  for (const id of yield* authDifference(stateSets, src, STEP0)) full.add(id);
  if (v21) for (const id of yield* conflictedSubgraph(conflicted, src)) full.add(id);

  // Step 1: power events and the parts of their auth chains in the full conflicted set.
  const seeds: EventId[] = [];
  for (const id of full) if (isPowerEvent(need(src, id, STEP1))) seeds.push(id);
  const x = new Set<EventId>(seeds);
  for (const id of yield* authChainUnion(seeds, src, STEP1)) if (full.has(id)) x.add(id);
  const powerOrdered = yield* reverseTopologicalPowerOrder(x, src, rules);

  // Step 2: iterative auth checks from the unconflicted state (v2.1: from empty).
  const partial = yield* iterativeAuthChecks(powerOrdered, v21 ? new Map() : new Map(unconflicted), src, rules, STEP2);

  // Step 3: the remaining events in mainline order of the partial state's power levels.
  const remaining: EventId[] = [];
  for (const id of full) if (!x.has(id)) remaining.push(id);
  const mainlineOrdered = yield* mainlineOrder(remaining, partial.get(POWER_LEVELS_KEY), src);

  // Step 4: iterative auth checks of those, on the partial state.
  const resolved = yield* iterativeAuthChecks(mainlineOrdered, partial, src, rules, STEP4);

  // Step 5: the unconflicted state map wins.
  for (const [k, v] of unconflicted) resolved.set(k, v);
  return resolved;
}

/**
 * v2.1 conflicted state subgraph: the events on auth-event paths between two
 * conflicted events. Those are the events of the conflicted events' auth
 * chains from which some conflicted event is reachable.
 */
export function* conflictedSubgraph(conflicted: ReadonlySet<EventId>, src: StateResSource): Pausable<Set<EventId>> {
  const reach = yield* authChainUnion(conflicted, src, STEP0_SUBGRAPH);
  const leads = new Map<EventId, boolean>(); // does the event reach a conflicted event (>= 0 edges)?
  const onPath = new Set<EventId>();
  let n = 0;
  for (const root of reach) {
    if (leads.has(root)) continue;
    const stack: EventId[] = [root];
    while (stack.length > 0) {
      const id = stack[stack.length - 1]!;
      if (leads.has(id)) {
        stack.pop();
        continue;
      }
      if (conflicted.has(id)) {
        leads.set(id, true);
        stack.pop();
        continue;
      }
      const auth = need(src, id, STEP0_SUBGRAPH).authEvents;
      if (!onPath.has(id)) {
        onPath.add(id);
        for (const a of auth) {
          if (leads.has(a)) continue;
          if (onPath.has(a)) throw new StateResFailure("cycle", STEP0_SUBGRAPH, `the auth events of ${a} lead back to it`, a);
          stack.push(a);
        }
        continue;
      }
      stack.pop();
      onPath.delete(id);
      leads.set(id, auth.some((a) => leads.get(a) === true));
      if (++n % 4096 === 0) yield;
    }
  }
  const out = new Set<EventId>();
  for (const id of reach) if (leads.get(id)) out.add(id);
  return out;
}

/** The sender's power level as the event's own auth events give it (creators infinite in v12). */
function senderPowerFromAuthEvents(e: Pdu, src: StateResSource, rules: RoomVersionRules): number {
  let pl: Pdu | undefined;
  let create: Pdu | undefined;
  for (const a of e.authEvents) {
    const ae = src.getEvent(a);
    if (!ae || ae.stateKey !== "") continue;
    if (ae.type === "m.room.power_levels") pl = ae;
    else if (ae.type === "m.room.create") create = ae;
  }
  if (!create && rules.auth.createEventIsRoomId && typeof e.roomId === "string") create = src.getEvent(createEventIdForRoom(e.roomId));
  try {
    return new PowerLevelView(pl, create, rules).userLevel(e.sender);
  } catch (err) {
    // A level that is not a number (v1-v9 first power levels, see
    // UnreadableLevelError): the sort key falls back to the default level.
    // Synapse aborts the whole resolution here; there is nothing to converge with.
    if (err instanceof UnreadableLevelError) return 0;
    throw err;
  }
}

interface SortKey {
  readonly id: EventId;
  readonly power: number;
  readonly ts: number;
}

/**
 * Reverse topological power ordering: Kahn's algorithm over the auth-event
 * edges inside `ids`, always taking the smallest ready event by (greater
 * sender power, smaller origin_server_ts, smaller event_id).
 */
export function* reverseTopologicalPowerOrder(ids: ReadonlySet<EventId>, src: StateResSource, rules: RoomVersionRules): Pausable<EventId[]> {
  const indegree = new Map<EventId, number>();
  const dependents = new Map<EventId, EventId[]>();
  const keys = new Map<EventId, SortKey>();
  for (const id of ids) {
    const e = need(src, id, STEP1);
    const deps = new Set<EventId>();
    for (const a of e.authEvents) if (ids.has(a)) deps.add(a);
    indegree.set(id, deps.size);
    for (const d of deps) {
      const list = dependents.get(d);
      if (list) list.push(id);
      else dependents.set(d, [id]);
    }
    keys.set(id, { id, power: senderPowerFromAuthEvents(e, src, rules), ts: Number(e.originServerTs) || 0 });
  }
  const heap = new MinHeap<SortKey>((a, b) => {
    if (a.power !== b.power) return a.power > b.power;
    if (a.ts !== b.ts) return a.ts < b.ts;
    return compareCodePoints(a.id, b.id) < 0;
  });
  for (const [id, d] of indegree) if (d === 0) heap.push(keys.get(id)!);
  const out: EventId[] = [];
  while (heap.size > 0) {
    const k = heap.pop()!;
    out.push(k.id);
    for (const dep of dependents.get(k.id) ?? []) {
      const d = indegree.get(dep)! - 1;
      indegree.set(dep, d);
      if (d === 0) heap.push(keys.get(dep)!);
    }
    if (out.length % 512 === 0) yield;
  }
  if (out.length < ids.size) {
    const stuck = [...indegree].find(([, d]) => d > 0)?.[0];
    throw new StateResFailure("cycle", STEP1, `the auth events of ${ids.size - out.length} events form a cycle`, stuck);
  }
  return out;
}

/** The m.room.power_levels event among an event's auth events. */
function powerLevelsAuthEvent(e: Pdu, src: StateResSource, step: string): EventId | undefined {
  for (const a of e.authEvents) {
    const ae = need(src, a, step);
    if (ae.type === "m.room.power_levels" && ae.stateKey === "") return a;
  }
  return undefined;
}

/**
 * Mainline ordering based on the power levels event `pl`: an event's mainline
 * position is the index in pl's mainline of the first power levels event met
 * walking its power-levels auth events (∞ if none). Larger positions first,
 * then smaller origin_server_ts, then smaller event_id.
 */
export function* mainlineOrder(ids: readonly EventId[], pl: EventId | undefined, src: StateResSource): Pausable<EventId[]> {
  const position = new Map<EventId, number>();
  for (let cur = pl, i = 0; cur !== undefined; i++) {
    if (position.has(cur)) throw new StateResFailure("cycle", STEP3, `the power levels mainline returns to ${cur}`, cur);
    position.set(cur, i);
    cur = powerLevelsAuthEvent(need(src, cur, STEP3), src, STEP3);
  }
  const memo = new Map<EventId, number>();
  const positionFrom = (start: EventId | undefined): number => {
    const path: EventId[] = [];
    const seen = new Set<EventId>();
    let r = Number.POSITIVE_INFINITY;
    for (let x = start; x !== undefined; ) {
      const p = position.get(x) ?? memo.get(x);
      if (p !== undefined) {
        r = p;
        break;
      }
      if (seen.has(x)) throw new StateResFailure("cycle", STEP3, `the power levels auth events of ${x} lead back to it`, x);
      seen.add(x);
      path.push(x);
      x = powerLevelsAuthEvent(need(src, x, STEP3), src, STEP3);
    }
    for (const p of path) memo.set(p, r);
    return r;
  };
  const keyed: Array<{ id: EventId; pos: number; ts: number }> = [];
  let n = 0;
  for (const id of ids) {
    const e = need(src, id, STEP3);
    keyed.push({ id, pos: positionFrom(powerLevelsAuthEvent(e, src, STEP3)), ts: Number(e.originServerTs) || 0 });
    if (++n % 512 === 0) yield;
  }
  keyed.sort((a, b) => {
    if (a.pos !== b.pos) return a.pos > b.pos ? -1 : 1;
    if (a.ts !== b.ts) return a.ts - b.ts;
    return compareCodePoints(a.id, b.id);
  });
  return keyed.map((k) => k.id);
}

/**
 * Iterative auth checks: apply each state event that the auth rules allow
 * against the state so far; a key the state lacks is taken from the event's
 * own auth events, unless that auth event was rejected. Events rejected on
 * receipt are skipped.
 */
export function* iterativeAuthChecks(
  ids: readonly EventId[],
  base: Map<StateKey, EventId>,
  src: StateResSource,
  rules: RoomVersionRules,
  step: string,
): Pausable<Map<StateKey, EventId>> {
  const state = base;
  const rejected = (id: EventId): boolean => src.isRejected?.(id) ?? false;
  const opts = src.isRejected ? { isRejected: (id: EventId) => rejected(id) } : {};
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const e = need(src, id, step);
    if (typeof e.stateKey !== "string" || typeof e.type !== "string") continue;
    // An event rejected on receipt never enters the resolved state, even if it
    // would pass here: what Synapse does (docs/interop.md), and a room splits
    // when servers resolve it differently.
    if (rejected(id)) continue;
    const fromAuth = new Map<StateKey, Pdu>();
    for (const a of e.authEvents) {
      const ae = src.getEvent(a);
      if (!ae || typeof ae.stateKey !== "string" || rejected(a)) continue;
      fromAuth.set(stateKeyOf(ae.type, ae.stateKey), ae);
    }
    const lookup = (k: StateKey): Pdu | undefined => {
      const sid = state.get(k);
      if (sid !== undefined && !rejected(sid)) {
        const se = src.getEvent(sid);
        if (se) return se;
      }
      const ae = fromAuth.get(k);
      if (ae) return ae;
      if (k === CREATE_KEY && rules.auth.createEventIsRoomId && typeof e.roomId === "string") {
        const cid = createEventIdForRoom(e.roomId);
        return rejected(cid) ? undefined : src.getEvent(cid);
      }
      return undefined;
    };
    if (checkAgainstState(e, lookup, rules, opts).allowed) state.set(stateKeyOf(e.type, e.stateKey), id);
    if (i % 256 === 255) yield;
  }
  return state;
}
