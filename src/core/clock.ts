/**
 * Time is injected (STYLE C9): nothing outside app/ and adapters reads the
 * wall clock or starts timers directly. Core functions that need "now" take a
 * number argument instead of a Clock.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts (never rejects); an aborted sleep holds no timer. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
