/**
 * Nonces of shared-secret registration (GET /_synapse/admin/v1/register): single use, valid for a minute (as
 * Synapse), stored in the database (so every Zion process sharing it accepts a nonce any of them issued), at most
 * `max` outstanding (the oldest are dropped) since anyone may ask for one.
 */
import type { Clock } from "../../../core/clock.js";
import type { RegistrationNonceStore } from "../../../storage/ports.js";
import { newSessionId } from "../shared/tokens.js";

export interface NonceStore {
  issue(): Promise<string>;
  /** True (and the nonce is used up) when it was issued and has not expired. */
  consume(nonce: string): Promise<boolean>;
}

export function storedNonceStore(store: RegistrationNonceStore, clock: Clock, options: { ttlMs?: number; max?: number } = {}): NonceStore {
  const ttl = options.ttlMs ?? 60_000;
  const max = options.max ?? 10_000;
  return {
    async issue() {
      const now = clock.now();
      const nonce = newSessionId();
      await store.issue(nonce, now, { expireBeforeTs: now - ttl + 1, max });
      return nonce;
    },
    consume(nonce) {
      return store.consume(nonce, clock.now() - ttl + 1);
    },
  };
}
