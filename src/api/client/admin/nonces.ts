/**
 * Nonces of shared-secret registration (GET /_synapse/admin/v1/register): single use, valid for a minute (as
 * Synapse), in memory, at most `max` outstanding (the oldest are dropped) since anyone may ask for one.
 */
import type { Clock } from "../../../core/clock.js";
import { newSessionId } from "../shared/tokens.js";

export interface NonceStore {
  issue(): string;
  /** True (and the nonce is used up) when it was issued and has not expired. */
  consume(nonce: string): boolean;
}

export function memoryNonceStore(clock: Clock, options: { ttlMs?: number; max?: number } = {}): NonceStore {
  const ttl = options.ttlMs ?? 60_000;
  const max = options.max ?? 10_000;
  const issued = new Map<string, number>();
  return {
    issue() {
      const now = clock.now();
      for (const [n, ts] of issued) {
        if (ts + ttl > now) break;
        issued.delete(n);
      }
      while (issued.size >= max) issued.delete(issued.keys().next().value as string);
      const nonce = newSessionId();
      issued.set(nonce, now);
      return nonce;
    },
    consume(nonce) {
      const ts = issued.get(nonce);
      issued.delete(nonce);
      return ts !== undefined && ts + ttl > clock.now();
    },
  };
}
