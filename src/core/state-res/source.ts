/**
 * What state resolution reads (STYLE C6): a preloaded source of events, and
 * the result type. Resolution never throws for bad input: a missing event,
 * a cycle in the auth DAG or a malformed event is a typed failure naming the
 * step of the algorithm where it was found.
 */
import type { Pdu, StateKey, StateMap } from "../events/pdu.js";
import type { EventId } from "../ids/index.js";

/** Events preloaded by the caller: every event of the state sets and of their auth chains. */
export interface StateResSource {
  getEvent(id: EventId): Pdu | undefined;
  /** Events rejected on receipt; they are never used as auth events in the iterative auth checks. */
  isRejected?(id: EventId): boolean;
  /** Optional per-event auth chain cache (storage may persist it); see auth-chain.ts. */
  readonly authChainCache?: AuthChainCache;
}

/** A cache of auth chains per event id that storage can back (e.g. a table of chain links). */
export interface AuthChainCache {
  get(id: EventId): ReadonlySet<EventId> | undefined;
  set(id: EventId, chain: ReadonlySet<EventId>): void;
}

export type StateResFailureKind = "missing_event" | "cycle" | "malformed";

export type StateResResult =
  | { readonly ok: true; readonly state: Map<StateKey, EventId> }
  | {
      readonly ok: false;
      readonly error: StateResFailureKind;
      /** The step of the algorithm that met the problem, e.g. "v2 step 1 (reverse topological power ordering)". */
      readonly step: string;
      readonly reason: string;
      readonly eventId?: EventId;
    };

/** Thrown inside the algorithms and turned into a StateResResult at the entry points. */
export class StateResFailure extends Error {
  constructor(
    readonly kind: StateResFailureKind,
    readonly step: string,
    reason: string,
    readonly eventId?: EventId,
  ) {
    super(reason);
    this.name = "StateResFailure";
  }
}

/** A source over a map (tests, the debug command, the async loader). */
export function mapSource(events: ReadonlyMap<EventId, Pdu>, opts: { rejected?: ReadonlySet<EventId>; authChainCache?: AuthChainCache } = {}): StateResSource {
  const rejected = opts.rejected;
  return {
    getEvent: (id) => events.get(id),
    ...(rejected ? { isRejected: (id: EventId) => rejected.has(id) } : {}),
    ...(opts.authChainCache ? { authChainCache: opts.authChainCache } : {}),
  };
}

/** A plain in-memory AuthChainCache. */
export function memoryAuthChainCache(): AuthChainCache & { readonly size: number } {
  const m = new Map<EventId, ReadonlySet<EventId>>();
  return {
    get: (id) => m.get(id),
    set: (id, chain) => void m.set(id, chain),
    get size() {
      return m.size;
    },
  };
}

export type { StateMap };
