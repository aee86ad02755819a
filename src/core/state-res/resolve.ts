/**
 * State resolution entry points: pick the algorithm from the room version
 * (`rules.stateRes`), run it over a preloaded source (a generator, STYLE C6),
 * or load what it needs through an async batched fetcher first.
 */
import type { Pdu, StateMap } from "../events/pdu.js";
import { runYielding, type Pausable } from "../generator.js";
import type { EventId } from "../ids/index.js";
import type { RoomVersionRules } from "../room-versions/rules.js";
import { mapSource, type AuthChainCache, type StateResResult, type StateResSource } from "./source.js";
import { resolveStateV1 } from "./v1.js";
import { resolveStateV2 } from "./v2.js";

/** Resolves the state sets with the room version's algorithm (v1, v2 or v2.1). */
export function resolveState(rules: RoomVersionRules, stateSets: readonly StateMap[], src: StateResSource): Pausable<StateResResult> {
  return rules.stateRes === "v1" ? resolveStateV1(rules, stateSets, src) : resolveStateV2(rules, stateSets, src);
}

/** Fetches events by id in batches; events it cannot find are simply absent from the answer. */
export interface EventFetcher {
  fetchEvents(ids: readonly EventId[]): Promise<ReadonlyMap<EventId, Pdu>>;
  /** Events rejected on receipt (never used as auth events). */
  isRejected?(id: EventId): boolean;
}

export interface AsyncResolveOptions {
  /** Called at each pause point (the server passes `() => new Promise(setImmediate)`); default: none. */
  readonly pause?: () => Promise<void>;
  /** Ids per fetch call (default 500). */
  readonly batchSize?: number;
  /** Events the caller already holds. */
  readonly known?: ReadonlyMap<EventId, Pdu>;
  readonly authChainCache?: AuthChainCache;
}

/**
 * Loads every event of the state sets and of their auth chains through
 * `fetcher` (breadth-first, one batch per round of missing ids), then
 * resolves. Events the fetcher cannot supply make the result a
 * `missing_event` failure naming them, never an exception.
 */
export async function resolveStateAsync(
  rules: RoomVersionRules,
  stateSets: readonly StateMap[],
  fetcher: EventFetcher,
  opts: AsyncResolveOptions = {},
): Promise<StateResResult> {
  const batch = Math.max(1, opts.batchSize ?? 500);
  const events = new Map<EventId, Pdu>(opts.known ?? []);
  const wanted = new Set<EventId>();
  for (const s of stateSets) for (const id of s.values()) wanted.add(id);
  const unavailable = new Set<EventId>();
  let frontier = [...wanted];
  while (frontier.length > 0) {
    const missing = frontier.filter((id) => !events.has(id) && !unavailable.has(id));
    for (let i = 0; i < missing.length; i += batch) {
      const ids = missing.slice(i, i + batch);
      let got: ReadonlyMap<EventId, Pdu>;
      try {
        got = await fetcher.fetchEvents(ids);
      } catch (e) {
        return { ok: false, error: "missing_event", step: "loading events", reason: `the event fetcher failed: ${e instanceof Error ? e.message : String(e)}` };
      }
      for (const id of ids) {
        const e = got.get(id);
        if (e) events.set(id, e);
        else unavailable.add(id);
      }
    }
    const next: EventId[] = [];
    for (const id of frontier) {
      const e = events.get(id);
      if (!e || !Array.isArray(e.authEvents)) continue;
      for (const a of e.authEvents) if (!events.has(a) && !unavailable.has(a) && !wanted.has(a)) {
        wanted.add(a);
        next.push(a);
      }
    }
    frontier = next;
    if (opts.pause) await opts.pause();
  }
  const src: StateResSource = {
    ...mapSource(events, opts.authChainCache ? { authChainCache: opts.authChainCache } : {}),
    ...(fetcher.isRejected ? { isRejected: (id: EventId) => fetcher.isRejected!(id) } : {}),
  };
  return runYielding(resolveState(rules, stateSets, src), opts.pause ?? (() => Promise.resolve()));
}
