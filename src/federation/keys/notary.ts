/**
 * Acting as a notary: https://spec.matrix.org/v1.16/server-server-api/#querying-keys-through-another-server
 * (POST /_matrix/key/v2/query and GET /_matrix/key/v2/query/{serverName}).
 *
 * For each server asked about (at most MAX_SERVERS per request):
 * 1. Our own server: our current key response.
 * 2. Otherwise the cached responses; if none satisfies the criteria (every named key id present, and a
 *    valid_until_ts at or after minimum_valid_until_ts, which defaults to now), fetch directly from the server
 *    (coalesced with other fetches) and use the cache again.
 * 3. Each distinct response is returned with the origin's signature and ours added; a server we cannot reach
 *    and have nothing cached for is simply absent from the answer.
 */
import type { Clock } from "../../core/clock.js";
import { canonicalJson } from "../../core/json/canonical.js";
import { signJson, type SigningKey } from "../../core/crypto/index.js";
import { MatrixError } from "../../core/errors.js";
import { checkServerName, type ServerName } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { ServerKeyRecord } from "../../storage/ports.js";
import type { KeyRing } from "./key-ring.js";

export const MAX_SERVERS = 100;

export type KeyCriteria = Readonly<Record<string, Readonly<Record<string, { minimum_valid_until_ts?: number | undefined } | undefined>>>>;

export interface NotaryOptions {
  readonly keyRing: Pick<KeyRing, "fetch" | "cachedResponses">;
  readonly clock: Clock;
  readonly serverName: ServerName;
  readonly signingKeys: readonly SigningKey[];
  /** Our own signed /_matrix/key/v2/server answer at `now`. */
  readonly ownServerKeys: (now: number) => JsonObject;
}

export class KeyNotary {
  constructor(private readonly opts: NotaryOptions) {}

  /** `minimumValidUntilTs` applies to servers asked about without key ids (the GET form's query parameter). */
  async query(criteria: KeyCriteria, opts: { minimumValidUntilTs?: number } = {}): Promise<{ server_keys: JsonObject[] }> {
    const servers = Object.keys(criteria);
    if (servers.length > MAX_SERVERS) throw MatrixError.tooLarge(`server_keys names ${servers.length} servers, at most ${MAX_SERVERS} are answered per request`);
    const now = this.opts.clock.now();
    const results = await Promise.all(servers.map(async (server) => {
      const sn = checkServerName(server);
      if (!sn.ok) throw MatrixError.invalidParam("server_keys", `${JSON.stringify(server)} is not a server name: ${sn.reason}`);
      return this.forServer(server as ServerName, criteria[server] ?? {}, now, opts.minimumValidUntilTs ?? 0);
    }));
    return { server_keys: results.flat() };
  }

  private async forServer(
    server: ServerName, keys: Readonly<Record<string, { minimum_valid_until_ts?: number | undefined } | undefined>>, now: number, allMinimum: number,
  ): Promise<JsonObject[]> {
    // Step 1.
    if (server === this.opts.serverName) return [this.opts.ownServerKeys(now)];
    const keyIds = Object.keys(keys);
    const minimum = Math.max(now, allMinimum, ...keyIds.map((k) => keys[k]?.minimum_valid_until_ts ?? 0));
    // Step 2.
    let cached = await this.opts.keyRing.cachedResponses(server);
    if (!satisfies(cached, keyIds, minimum)) {
      await this.opts.keyRing.fetch(server, undefined, "direct");
      cached = await this.opts.keyRing.cachedResponses(server);
    }
    // Step 3.
    const distinct = new Map<string, JsonObject>();
    for (const r of cached) distinct.set(canonicalJson(r.keyJson), r.keyJson);
    return [...distinct.values()].map((obj) => {
      let signed = obj;
      for (const k of this.opts.signingKeys) signed = signJson(signed, this.opts.serverName, k);
      return signed;
    });
  }
}

function satisfies(records: readonly ServerKeyRecord[], keyIds: readonly string[], minimum: number): boolean {
  const current = records.filter((r) => r.expiredTs === null && r.validUntilTs >= minimum);
  if (keyIds.length === 0) return current.length > 0;
  return keyIds.every((id) => current.some((r) => r.keyId === id));
}
