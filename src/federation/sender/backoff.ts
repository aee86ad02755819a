/**
 * Retry intervals for a failing destination, from Synapse's keys under `federation:` (docs/configuration.md):
 * the first failure waits `destination_min_retry_interval`, each further one multiplies the wait by
 * `destination_retry_multiplier`, and no wait exceeds `destination_max_retry_interval`, so a destination down for
 * days is still tried on that capped interval (and at once when it contacts us). Pure: no clock, no jitter, so the
 * schedule an operator configures is the schedule observed.
 */
export interface BackoffConfig {
  readonly minRetryIntervalMs: number;
  readonly retryMultiplier: number;
  readonly maxRetryIntervalMs: number;
}

/** Synapse's defaults: 10 minutes, x2, capped at 7 days. */
export const DEFAULT_BACKOFF: BackoffConfig = { minRetryIntervalMs: 10 * 60_000, retryMultiplier: 2, maxRetryIntervalMs: 7 * 24 * 3600_000 };

/** The wait after a failure, given the wait before it (0 when the destination was healthy). */
export function nextRetryInterval(previousMs: number, cfg: BackoffConfig): number {
  const next = previousMs <= 0 ? cfg.minRetryIntervalMs : previousMs * cfg.retryMultiplier;
  return Math.min(Math.max(next, cfg.minRetryIntervalMs), cfg.maxRetryIntervalMs);
}
