/**
 * Rate limiting: https://spec.matrix.org/v1.16/client-server-api/#rate-limiting
 *
 * A leaky token bucket per (limit, key), as Synapse's Ratelimiter: each action adds one token, tokens leak at
 * `perSecond`, and an action is refused while the bucket holds `burstCount` tokens. A refusal is 429
 * M_LIMIT_EXCEEDED with `retry_after_ms` (the HTTP layer adds `Retry-After` in seconds). Keys are user ids or
 * client addresses; the table of buckets is bounded (empty buckets are dropped first, then the oldest), so
 * unauthenticated callers cannot grow it without limit.
 */
import type { Clock } from "../../core/clock.js";
import { MatrixError } from "../../core/errors.js";

export interface RateLimitSettings {
  /** Long-term actions per second (Synapse's per_second). */
  readonly perSecond: number;
  /** Actions allowed in a burst before limiting starts (Synapse's burst_count). */
  readonly burstCount: number;
}

/** Synapse's rc_* keys, one bucket family each. */
export type RateLimitName =
  | "rc_message"
  | "rc_registration"
  | "rc_login.address"
  | "rc_login.account"
  | "rc_login.failed_attempts"
  | "rc_joins.local"
  | "rc_joins.remote"
  | "rc_invites.per_room"
  | "rc_invites.per_user"
  | "rc_invites.per_issuer";

export type RateLimitConfig = Readonly<Record<RateLimitName, RateLimitSettings>>;

export interface RateLimits {
  /** Counts one action for `key` under the limit; throws 429 M_LIMIT_EXCEEDED (counting nothing) when over it. */
  take(name: RateLimitName, key: string): void;
  /** Throws as take() would, but counts nothing: for limits counted only on some outcomes (failed logins). */
  check(name: RateLimitName, key: string): void;
  /** Counts one action without refusing (the outcome that counts has already happened). */
  record(name: RateLimitName, key: string): void;
}

interface Bucket {
  tokens: number;
  /** Seconds, when `tokens` was last brought up to date. */
  at: number;
}

/** Bucket state per limit; at most `maxKeys` buckets per limit. */
export function createRateLimits(config: RateLimitConfig, clock: Clock, maxKeys = 100_000): RateLimits {
  const tables = new Map<RateLimitName, Map<string, Bucket>>();

  const level = (name: RateLimitName, key: string, now: number): Bucket => {
    const s = config[name];
    let table = tables.get(name);
    if (!table) tables.set(name, (table = new Map()));
    const b = table.get(key);
    if (!b) return { tokens: 0, at: now };
    return { tokens: Math.max(0, b.tokens - (now - b.at) * s.perSecond), at: now };
  };

  const store = (name: RateLimitName, key: string, b: Bucket): void => {
    const table = tables.get(name)!;
    table.delete(key); // re-inserted last: Map order is then least recently used first
    if (table.size >= maxKeys) prune(name, table, b.at);
    table.set(key, b);
  };

  const prune = (name: RateLimitName, table: Map<string, Bucket>, now: number): void => {
    const rate = config[name].perSecond;
    for (const [k, b] of table) if (b.tokens - (now - b.at) * rate <= 0) table.delete(k);
    while (table.size >= maxKeys) table.delete(table.keys().next().value as string);
  };

  const refuse = (name: RateLimitName, b: Bucket): never => {
    const s = config[name];
    // Time until one token has leaked below the burst count.
    const waitS = s.perSecond > 0 ? (b.tokens - s.burstCount + 1) / s.perSecond : 86_400;
    throw MatrixError.limitExceeded(Math.max(1, Math.ceil(waitS * 1000)));
  };

  const over = (name: RateLimitName, b: Bucket): boolean => b.tokens + 1 > config[name].burstCount + 1e-9;

  return {
    take(name, key) {
      const b = level(name, key, clock.now() / 1000);
      if (over(name, b)) refuse(name, b);
      store(name, key, { tokens: b.tokens + 1, at: b.at });
    },
    check(name, key) {
      const b = level(name, key, clock.now() / 1000);
      if (over(name, b)) refuse(name, b);
    },
    record(name, key) {
      const b = level(name, key, clock.now() / 1000);
      store(name, key, { tokens: b.tokens + 1, at: b.at });
    },
  };
}

/** No limits at all (tests of other behaviour, tools). */
export const unlimited: RateLimits = { take() {}, check() {}, record() {} };
