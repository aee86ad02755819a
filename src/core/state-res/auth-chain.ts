/**
 * Auth chains and the auth difference.
 * https://spec.matrix.org/v1.16/rooms/v2/#definitions ("Auth chain", "Auth difference")
 *
 * The auth chain of E: every event reachable from E's auth_events (E itself
 * excluded). Walks are iterative (no recursion depth limit), stop at visited
 * events (so a cycle cannot loop), and use a per-event chain cache when the
 * source has one: a cached event contributes its whole chain without being
 * walked. `authChainOf` fills that cache, so storage can persist chains.
 */
import type { Pdu, StateMap } from "../events/pdu.js";
import type { EventId } from "../ids/index.js";
import type { Pausable } from "../generator.js";
import { StateResFailure, type StateResSource } from "./source.js";

/** The event, or a typed failure naming the step that needed it. */
export function need(src: StateResSource, id: EventId, step: string): Pdu {
  const e = src.getEvent(id);
  if (!e) throw new StateResFailure("missing_event", step, `event ${id} is not available`, id);
  if (!Array.isArray(e.authEvents)) throw new StateResFailure("malformed", step, `event ${id} has no auth_events list`, id);
  return e;
}

/** The union of the auth chains of `ids`. */
export function* authChainUnion(ids: Iterable<EventId>, src: StateResSource, step: string): Pausable<Set<EventId>> {
  const cache = src.authChainCache;
  const out = new Set<EventId>();
  const stack: EventId[] = [];
  for (const id of ids) {
    const cached = cache?.get(id);
    if (cached) {
      for (const c of cached) out.add(c);
      continue;
    }
    for (const a of need(src, id, step).authEvents) stack.push(a);
  }
  let n = 0;
  while (stack.length > 0) {
    const a = stack.pop()!;
    if (out.has(a)) continue;
    out.add(a);
    const cached = cache?.get(a);
    if (cached) {
      for (const c of cached) out.add(c);
      continue;
    }
    for (const x of need(src, a, step).authEvents) if (!out.has(x)) stack.push(x);
    if (++n % 4096 === 0) yield;
  }
  return out;
}

/** The auth chain of one event, from the cache or computed and stored there. */
export function* authChainOf(id: EventId, src: StateResSource, step = "auth chain"): Pausable<ReadonlySet<EventId>> {
  const hit = src.authChainCache?.get(id);
  if (hit) return hit;
  const chain = yield* authChainUnion([id], src, step);
  src.authChainCache?.set(id, chain);
  return chain;
}

/**
 * The auth difference ∪Cᵢ − ∩Cᵢ of the state sets, where Cᵢ is the *full* auth
 * chain of state set Sᵢ: the events of Sᵢ themselves together with their auth
 * chains. The specification defines the auth chain of an event without the
 * event, and is silent on whether a state set's full auth chain holds the
 * set's own events; Synapse (every code path: chain cover, legacy walk, the
 * in-memory one for unpersisted events) counts them, so an event of Sᵢ that
 * no other set cites is in the difference. Zion does the same, since servers
 * that disagree here resolve different states (docs/interop.md).
 *
 * Events present in every set share one walk: with U those events and their
 * chain, and Xᵢ the rest of Sᵢ with its chain, ∪Cᵢ − ∩Cᵢ = (∪Xᵢ − ∩Xᵢ) − U.
 */
export function* authDifference(stateSets: readonly StateMap[], src: StateResSource, step = "auth difference"): Pausable<Set<EventId>> {
  if (stateSets.length === 0) return new Set();
  const valueSets = stateSets.map((s) => new Set(s.values()));
  const common: EventId[] = [];
  for (const id of valueSets[0]!) if (valueSets.every((vs) => vs.has(id))) common.push(id);
  const commonSet = new Set(common);
  const u = yield* authChainUnion(common, src, step);
  for (const id of common) u.add(id);
  const xs: Set<EventId>[] = [];
  for (const vs of valueSets) {
    const own: EventId[] = [];
    for (const id of vs) if (!commonSet.has(id)) own.push(id);
    const x = yield* authChainUnion(own, src, step);
    for (const id of own) x.add(id);
    xs.push(x);
  }
  const out = new Set<EventId>();
  for (const x of xs) {
    for (const id of x) {
      if (out.has(id) || u.has(id)) continue;
      if (!xs.every((y) => y.has(id))) out.add(id);
    }
  }
  return out;
}
