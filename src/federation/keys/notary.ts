/**
 * Acting as a notary: https://spec.matrix.org/v1.16/server-server-api/#querying-keys-through-another-server
 * (POST /_matrix/key/v2/query and GET /_matrix/key/v2/query/{serverName}).
 *
 * The endpoints are unauthenticated, so the work one request causes is bounded: at most MAX_SERVERS servers and
 * MAX_KEY_IDS key ids per request (checked by the route before schema validation, `checkQueryLimits`), at most
 * MAX_FETCHES_PER_QUERY servers fetched per request and MAX_FETCHES_IN_FLIGHT notary fetches at once, and every
 * fetch goes through the key ring's fetch guard (one per server in flight, none again within MIN_REFETCH_MS).
 *
 * For each server asked about:
 * 1. Our own server: our current key response.
 * 2. Otherwise the cached responses; if none satisfies the criteria (every named key id present, and a
 *    valid_until_ts at or after minimum_valid_until_ts, which defaults to now), fetch the server's keys as the key
 *    ring does for a request (our trusted_key_servers, then the server itself), through the guard, when the bounds
 *    above allow, and use the cache again. When no fetch may start, or it
 *    fails, the answer is what the cache holds.
 * 3. Each distinct response is returned with the origin's signature and ours added; a server we cannot reach
 *    and have nothing cached for is simply absent from the answer.
 */
import type { Clock } from "../../core/clock.js";
import { canonicalJson } from "../../core/json/canonical.js";
import { signJson, type SigningKey } from "../../core/crypto/index.js";
import { MatrixError, overOwnData } from "../../core/errors.js";
import { checkServerName, type ServerName } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { ServerKeyRecord } from "../../storage/ports.js";
import type { KeyRing } from "./key-ring.js";

export const MAX_SERVERS = 100;
/** Key ids named per server, and in one request. */
export const MAX_KEY_IDS_PER_SERVER = 16;
export const MAX_KEY_IDS = 200;
export const MAX_FETCHES_PER_QUERY = 10;
export const MAX_FETCHES_IN_FLIGHT = 20;

export type KeyCriteria = Readonly<Record<string, Readonly<Record<string, { minimum_valid_until_ts?: number | undefined } | undefined>>>>;

export interface NotaryOptions {
  readonly keyRing: Pick<KeyRing, "fetch" | "cachedResponses">;
  readonly clock: Clock;
  readonly serverName: ServerName;
  readonly signingKeys: readonly SigningKey[];
  /** Our own signed /_matrix/key/v2/server answer at `now`. */
  readonly ownServerKeys: (now: number) => JsonObject;
}

/**
 * The count limits of a POST /_matrix/key/v2/query body, on the parsed JSON before any schema runs (so a body of
 * 100,000 key ids costs one pass over the top two levels, not a validation of each). Throws M_TOO_LARGE naming the
 * limit; shapes are left to the schema.
 */
export function checkQueryLimits(body: unknown): void {
  const serverKeys = (body as { server_keys?: unknown } | null)?.server_keys;
  if (typeof serverKeys !== "object" || serverKeys === null || Array.isArray(serverKeys)) return;
  const servers = Object.keys(serverKeys);
  if (servers.length > MAX_SERVERS) throw MatrixError.tooLarge(`server_keys names ${servers.length} servers, over the limit of ${MAX_SERVERS} per request`);
  let total = 0;
  for (const s of servers) {
    const ids = (serverKeys as Record<string, unknown>)[s];
    if (typeof ids !== "object" || ids === null) continue;
    const n = Object.keys(ids).length;
    if (n > MAX_KEY_IDS_PER_SERVER) throw MatrixError.tooLarge(`server_keys.${s} names ${n} key ids, over the limit of ${MAX_KEY_IDS_PER_SERVER} per server`);
    total += n;
    if (total > MAX_KEY_IDS) throw MatrixError.tooLarge(`server_keys names more than ${MAX_KEY_IDS} key ids, the limit per request`);
  }
}

export class KeyNotary {
  private fetching = 0;

  constructor(private readonly opts: NotaryOptions) {}

  /** `minimumValidUntilTs` applies to servers asked about without key ids (the GET form's query parameter). */
  async query(criteria: KeyCriteria, opts: { minimumValidUntilTs?: number } = {}): Promise<{ server_keys: JsonObject[] }> {
    const servers = Object.keys(criteria);
    if (servers.length > MAX_SERVERS) throw MatrixError.tooLarge(`server_keys names ${servers.length} servers, at most ${MAX_SERVERS} are answered per request`);
    checkQueryLimits({ server_keys: criteria });
    for (const server of servers) {
      const sn = checkServerName(server);
      if (!sn.ok) throw MatrixError.invalidParam("server_keys", `${JSON.stringify(server)} is not a server name: ${sn.reason}`);
    }
    const now = this.opts.clock.now();
    const budget = { fetches: MAX_FETCHES_PER_QUERY };
    const results = await Promise.all(servers.map((server) => this.forServer(server as ServerName, criteria[server] ?? {}, now, opts.minimumValidUntilTs ?? 0, budget)));
    return { server_keys: results.flat() };
  }

  private async forServer(
    server: ServerName, keys: Readonly<Record<string, { minimum_valid_until_ts?: number | undefined } | undefined>>, now: number, allMinimum: number,
    budget: { fetches: number },
  ): Promise<JsonObject[]> {
    // Step 1.
    if (server === this.opts.serverName) return [this.opts.ownServerKeys(now)];
    const keyIds = Object.keys(keys);
    let minimum = Math.max(now, allMinimum);
    for (const k of keyIds) minimum = Math.max(minimum, keys[k]?.minimum_valid_until_ts ?? 0);
    // Step 2.
    let cached = await this.opts.keyRing.cachedResponses(server);
    if (!satisfies(cached, keyIds, minimum) && budget.fetches > 0 && this.fetching < MAX_FETCHES_IN_FLIGHT) {
      budget.fetches--;
      this.fetching++;
      try {
        // The default way, as X-Matrix authentication asks: one guarded fetch per server for every remote trigger.
        await this.opts.keyRing.fetch(server);
      } finally {
        this.fetching--;
      }
      cached = await this.opts.keyRing.cachedResponses(server);
    }
    // Step 3.
    // Stored responses are our data: one that cannot be re-encoded is our fault (500, logged), not the asker's.
    return overOwnData(`re-serving the cached key responses of ${server}`, () => {
      const distinct = new Map<string, JsonObject>();
      for (const r of cached) distinct.set(canonicalJson(r.keyJson), r.keyJson);
      return [...distinct.values()].map((obj) => {
        let signed = obj;
        for (const k of this.opts.signingKeys) signed = signJson(signed, this.opts.serverName, k);
        return signed;
      });
    });
  }
}

function satisfies(records: readonly ServerKeyRecord[], keyIds: readonly string[], minimum: number): boolean {
  const current = records.filter((r) => r.expiredTs === null && r.validUntilTs >= minimum);
  if (keyIds.length === 0) return current.length > 0;
  return keyIds.every((id) => current.some((r) => r.keyId === id));
}
