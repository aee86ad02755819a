/**
 * State resolution v1 (room version 1).
 * https://spec.matrix.org/v1.16/rooms/v1/#state-resolution
 *
 *   1. R = the union of the state sets without the conflicting keys (keys with
 *      different event ids in different sets; a key in only some sets is not a
 *      conflict).
 *   2. Power levels conflicts: sort by ascending depth, then descending
 *      sha1(event_id); add the first to R; add each next one while it passes
 *      the auth rules against R; stop at the first that does not.
 *   3. The same for join rules, then for each member key.
 *   4. Every other conflict: the event with the highest depth and lowest
 *      sha1(event_id) that passes auth against R.
 *
 * Where the text is silent Zion does what Synapse does, since servers that
 * resolve differently split the room (docs/interop.md):
 * - every key of one step is resolved against R as it stood when the step
 *   began (member keys do not see each other's outcome; R takes them all once
 *   the step is done), so the outcome does not depend on user names;
 * - when no candidate of step 4 passes, the last one in that order (lowest
 *   depth, highest sha1) is taken;
 * - events rejected on receipt (`src.isRejected`) take no part: a rejected
 *   candidate is dropped (one candidate left is taken as is; none left leaves
 *   the key out), and a rejected event of R is not used to authorise others.
 */
import { checkAgainstState } from "../auth/authorize.js";
import { splitStateKey, type Pdu, type StateKey, type StateMap } from "../events/pdu.js";
import type { Pausable } from "../generator.js";
import type { EventId } from "../ids/index.js";
import type { RoomVersionRules } from "../room-versions/rules.js";
import { need } from "./auth-chain.js";
import { compareCodePoints } from "./heap.js";
import { sha1HexUtf8 as sha1Hex } from "../crypto/primitives.js";
import { StateResFailure, type StateResResult, type StateResSource } from "./source.js";

const AUTH_TYPES = ["m.room.power_levels", "m.room.join_rules", "m.room.member"] as const;

export function* resolveStateV1(rules: RoomVersionRules, stateSets: readonly StateMap[], src: StateResSource): Pausable<StateResResult> {
  try {
    return { ok: true, state: yield* resolveInner(rules, stateSets, src) };
  } catch (e) {
    if (e instanceof StateResFailure) {
      return { ok: false, error: e.kind, step: `v1 ${e.step}`, reason: e.message, ...(e.eventId ? { eventId: e.eventId } : {}) };
    }
    return { ok: false, error: "malformed", step: "v1", reason: e instanceof Error ? e.message : String(e) };
  }
}

function* resolveInner(rules: RoomVersionRules, stateSets: readonly StateMap[], src: StateResSource): Pausable<Map<StateKey, EventId>> {
  // 1. R: everything without conflicts.
  const byKey = new Map<StateKey, EventId[]>();
  for (const s of stateSets) {
    for (const [k, v] of s) {
      const ids = byKey.get(k);
      if (!ids) byKey.set(k, [v]);
      else if (!ids.includes(v)) ids.push(v);
    }
  }
  const rejected = (id: EventId): boolean => src.isRejected?.(id) ?? false;
  const r = new Map<StateKey, EventId>();
  const conflicts: StateKey[] = [];
  for (const [k, ids] of byKey) {
    if (ids.length === 1) {
      r.set(k, ids[0]!);
      continue;
    }
    // Rejected candidates take no part; one left is not a conflict any more.
    const live = ids.filter((id) => !rejected(id));
    byKey.set(k, live);
    if (live.length === 1) r.set(k, live[0]!);
    else if (live.length > 1) conflicts.push(k);
  }
  if (conflicts.length === 0) return r;

  const sha = new Map<EventId, string>();
  const shaOf = (id: EventId): string => {
    let h = sha.get(id);
    if (h === undefined) sha.set(id, (h = sha1Hex(id)));
    return h;
  };
  const step = (what: string): string => `step ${what}`;
  /** R as it stood at the start of a step, with one key overridden. */
  const lookupIn = (base: ReadonlyMap<StateKey, EventId>, key?: StateKey, override?: EventId) => (k: StateKey): Pdu | undefined => {
    const id = k === key ? override : base.get(k);
    return id === undefined || rejected(id) ? undefined : src.getEvent(id);
  };
  const byStateKey = (a: StateKey, b: StateKey): number => compareCodePoints(splitStateKey(a).stateKey, splitStateKey(b).stateKey);

  // 2-3. Power levels, join rules, then members: each key against R as the step found it.
  for (const [i, type] of AUTH_TYPES.entries()) {
    const keys = conflicts.filter((k) => splitStateKey(k).type === type).sort(byStateKey);
    const base = new Map(r);
    for (const k of keys) {
      const s = step(`${i + 2} (${type} conflicts)`);
      const events = byKey.get(k)!.map((id) => need(src, id, s));
      events.sort((a, b) => a.depth - b.depth || compareCodePoints(shaOf(b.eventId), shaOf(a.eventId)));
      let current = events[0]!.eventId;
      for (const e of events.slice(1)) {
        if (!checkAgainstState(e, lookupIn(base, k, current), rules).allowed) break;
        current = e.eventId;
      }
      r.set(k, current);
      yield;
    }
  }

  // 4. Everything else.
  const others = conflicts.filter((k) => !(AUTH_TYPES as readonly string[]).includes(splitStateKey(k).type));
  others.sort((a, b) => compareCodePoints(a, b));
  const base = new Map(r);
  for (const k of others) {
    const s = step("4 (other conflicts)");
    const events = byKey.get(k)!.map((id) => need(src, id, s));
    events.sort((a, b) => b.depth - a.depth || compareCodePoints(shaOf(a.eventId), shaOf(b.eventId)));
    const chosen = events.find((e) => checkAgainstState(e, lookupIn(base), rules).allowed) ?? events[events.length - 1]!;
    r.set(k, chosen.eventId);
    yield;
  }
  return r;
}
