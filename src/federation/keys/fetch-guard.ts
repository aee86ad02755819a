/**
 * The one guard in front of every remote key fetch (KeyRing.fetch, so also getKey, X-Matrix authentication and the
 * notary endpoints), because the names fetched are chosen by whoever sends us a request:
 *
 * 1. Per server and way of asking (the default order, directly, through given notaries) at most one fetch is in
 *    flight; a caller arriving while one runs shares its outcome. Every path a remote request can start (X-Matrix
 *    authentication, the notary endpoints) asks the default way, so for those it is one fetch per server. Ways do
 *    not wait on each other: a fetch through notary N must be able to fetch N's own keys directly while another
 *    fetch of N runs (N's fetch may itself be waiting on a notary whose keys are being fetched through N).
 * 2. Once a fetch of a server one way ends, that way is not started again for that server before
 *    `minRefetchMs` after a success, or `minRefetchMs * 2^(n-1)` (at most `maxBackoffMs`) after the n-th failure
 *    in a row; a success resets the count. A refused start says until when, and why the last attempt failed.
 * 3. The per-server state is kept for at most `maxTracked` (server, way) pairs, the least recently used dropped
 *    first, so a stream of invented names cannot grow it.
 */
import type { Clock } from "../../core/clock.js";

export const MIN_REFETCH_MS = 30_000;
export const MAX_BACKOFF_MS = 30 * 60_000;
export const MAX_TRACKED = 10_000;

export interface FetchGuardOptions {
  readonly minRefetchMs?: number;
  readonly maxBackoffMs?: number;
  readonly maxTracked?: number;
}

interface WayState {
  readonly nextAllowed: number;
  readonly failures: number;
  readonly lastOk: boolean;
  readonly lastReason: string;
}

export type Guarded<T> =
  | { readonly started: true; readonly result: Promise<T> }
  | { readonly started: false; readonly until: number; readonly lastOk: boolean; readonly lastReason: string };

export class FetchGuard<T> {
  private readonly inflight = new Map<string, Promise<T>>();
  private readonly ways = new Map<string, WayState>();
  private readonly minRefetchMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxTracked: number;

  constructor(private readonly clock: Pick<Clock, "now">, opts: FetchGuardOptions = {}) {
    this.minRefetchMs = opts.minRefetchMs ?? MIN_REFETCH_MS;
    this.maxBackoffMs = opts.maxBackoffMs ?? MAX_BACKOFF_MS;
    this.maxTracked = opts.maxTracked ?? MAX_TRACKED;
  }

  /** (server, way) pairs whose state is kept (step 3). */
  get tracked(): number {
    return this.ways.size;
  }

  /**
   * Steps 1 and 2: runs `fetch` unless a fetch of `server` is already in flight (shared) or `way` may not start yet.
   * `outcome` tells a success (and the reason of a failure) from the result.
   */
  run(server: string, way: string, fetch: () => Promise<T>, outcome: (r: T) => { ok: boolean; reason?: string }): Guarded<T> {
    // Step 1.
    const key = `${server}|${way}`;
    const running = this.inflight.get(key);
    if (running) return { started: true, result: running };
    // Step 2.
    const state = this.ways.get(key);
    const now = this.clock.now();
    if (state && now < state.nextAllowed) {
      this.touch(key, state);
      return { started: false, until: state.nextAllowed, lastOk: state.lastOk, lastReason: state.lastReason };
    }
    const p = fetch().then(
      (r) => {
        const o = outcome(r);
        this.settle(key, o.ok, o.reason ?? "");
        return r;
      },
      (e: unknown) => {
        this.settle(key, false, (e as Error)?.message ?? String(e));
        throw e;
      },
    ).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return { started: true, result: p };
  }

  private settle(key: string, ok: boolean, reason: string): void {
    const failures = ok ? 0 : (this.ways.get(key)?.failures ?? 0) + 1;
    const wait = ok ? this.minRefetchMs : Math.min(this.maxBackoffMs, this.minRefetchMs * 2 ** (failures - 1));
    this.touch(key, { nextAllowed: this.clock.now() + wait, failures, lastOk: ok, lastReason: reason });
  }

  /** Step 3: re-inserting keeps the Map in least-recently-used order. */
  private touch(key: string, state: WayState): void {
    this.ways.delete(key);
    this.ways.set(key, state);
    while (this.ways.size > this.maxTracked) {
      const oldest = this.ways.keys().next().value as string;
      this.ways.delete(oldest);
    }
  }
}
