/**
 * Inbound federation rate limiting per origin, with Synapse's `rc_federation` keys and meaning:
 * 1. requests of the origin in the last `window_size` ms are counted (this one included);
 * 2. more than `reject_limit`: 429 M_LIMIT_EXCEEDED at once, no work done;
 * 3. more than `sleep_limit`: the request waits `sleep_delay` ms before it is processed;
 * 4. at most `concurrent` requests of one origin are processed at a time; the others wait their turn, in order.
 * Origins never wait on each other. An origin's entry is forgotten once it is idle and its window has passed (swept at
 * most once per window), so the map holds only origins heard from in the last window or two.
 */
import type { Clock } from "../../core/clock.js";
import { MatrixError } from "../../core/errors.js";

export interface FederationRateLimitConfig {
  readonly window_size: number;
  readonly sleep_limit: number;
  readonly sleep_delay: number;
  readonly reject_limit: number;
  readonly concurrent: number;
}

/** Synapse's defaults. */
export const DEFAULT_RC_FEDERATION: FederationRateLimitConfig = { window_size: 1000, sleep_limit: 10, sleep_delay: 500, reject_limit: 50, concurrent: 3 };

interface Host {
  times: number[];
  /** Requests inside run(): sleeping, waiting their turn or running. */
  inside: number;
  running: number;
  waiting: (() => void)[];
}

export class FederationRateLimiter {
  private readonly hosts = new Map<string, Host>();
  private lastSweep: number;
  constructor(private readonly cfg: FederationRateLimitConfig, private readonly clock: Clock) {
    this.lastSweep = clock.now();
  }

  async run<T>(origin: string, work: () => Promise<T>): Promise<T> {
    this.sweep();
    let h = this.hosts.get(origin);
    if (!h) this.hosts.set(origin, (h = { times: [], inside: 0, running: 0, waiting: [] }));
    const host = h;
    host.inside++;
    try {
      return await this.admit(origin, host, work);
    } finally {
      host.inside--;
    }
  }

  private async admit<T>(origin: string, host: Host, work: () => Promise<T>): Promise<T> {
    // Step 1.
    const now = this.clock.now();
    host.times = host.times.filter((t) => t > now - this.cfg.window_size);
    host.times.push(now);
    // Step 2.
    if (host.times.length > this.cfg.reject_limit) {
      throw new MatrixError("M_LIMIT_EXCEEDED", 429, `more than ${this.cfg.reject_limit} requests from ${origin} within ${this.cfg.window_size} ms (rc_federation.reject_limit)`, { retry_after_ms: this.cfg.window_size });
    }
    // Step 3.
    if (host.times.length > this.cfg.sleep_limit) await this.clock.sleep(this.cfg.sleep_delay);
    // Step 4.
    if (host.running >= this.cfg.concurrent) await new Promise<void>((r) => host.waiting.push(r));
    host.running++;
    try {
      return await work();
    } finally {
      host.running--;
      const next = host.waiting.shift();
      if (next) next();
    }
  }

  /** Forgets origins with no request inside run() and no request within the window; at most once per window. */
  private sweep(): void {
    const now = this.clock.now();
    if (now - this.lastSweep < this.cfg.window_size) return;
    this.lastSweep = now;
    for (const [origin, host] of this.hosts) {
      const last = host.times[host.times.length - 1];
      if (host.inside === 0 && (last === undefined || last <= now - this.cfg.window_size)) this.hosts.delete(origin);
    }
  }

  /** How many origins are remembered (tests). */
  tracked(): number {
    return this.hosts.size;
  }

  /** Requests of `origin` processed now (tests). */
  running(origin: string): number {
    return this.hosts.get(origin)?.running ?? 0;
  }
}
