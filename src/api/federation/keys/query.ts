/**
 * Notary endpoints: https://spec.matrix.org/v1.16/server-server-api/#querying-keys-through-another-server
 * 1. POST /_matrix/key/v2/query: {server_keys: {server: {key_id: {minimum_valid_until_ts?}}}}; an empty key map
 *    asks for every key of that server.
 * 2. GET /_matrix/key/v2/query/{serverName}?minimum_valid_until_ts=: every key of one server.
 * 3. GET /_matrix/key/v2/query/{serverName}/{keyId}: the deprecated form, answered like 2 with that key named.
 * Unauthenticated; answers come from federation/keys/notary.ts, each response signed by us as well. A POST body is
 * at most MAX_QUERY_BODY_BYTES (413 M_TOO_LARGE), and its counts of servers and key ids are checked on the parsed
 * JSON before the schema runs (checkQueryLimits: 413 M_TOO_LARGE naming the limit).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { JsonObject } from "../../../core/json/types.js";
import { checkQueryLimits } from "../../../federation/keys/notary.js";
import { defineFederationRoute } from "../../http/index.js";

/**
 * A query names a server in well under 200 bytes ({"example.org": {"ed25519:a": {"minimum_valid_until_ts": ...}}}),
 * so 16 KiB holds a full request of federation/keys/notary.ts's 100 servers with room to spare.
 */
export const MAX_QUERY_BODY_BYTES = 16 * 1024;

export interface KeyNotaryPort {
    query(
      criteria: Readonly<Record<string, Readonly<Record<string, { minimum_valid_until_ts?: number | undefined } | undefined>>>>,
      opts?: { minimumValidUntilTs?: number },
    ): Promise<{ server_keys: JsonObject[] }>;
}

export interface KeyQueryDeps {
  /** app/federation.ts provides it; absent (a server built without federation) the endpoints answer 404. */
  readonly keyNotary?: KeyNotaryPort;
}

function notary(deps: KeyQueryDeps): KeyNotaryPort {
  if (!deps.keyNotary) throw MatrixError.unrecognized("this server does not act as a key notary");
  return deps.keyNotary;
}

const criteria = z.object({ minimum_valid_until_ts: z.number().int().nonnegative().optional() }).passthrough();
const body = z.object({ server_keys: z.record(z.string(), z.record(z.string(), criteria)) });
const minimumQuery = z.object({ minimum_valid_until_ts: z.coerce.number().int().nonnegative().optional() });

export const queryKeys = defineFederationRoute({
  method: "POST",
  path: "/_matrix/key/v2/query",
  auth: "none",
  resource: "keys",
  body,
  maxBodyBytes: MAX_QUERY_BODY_BYTES,
  bodyLimits: checkQueryLimits,
  handle: ({ body }, deps: KeyQueryDeps) => notary(deps).query(body.server_keys),
});

export const queryServerKeys = defineFederationRoute({
  method: "GET",
  path: "/_matrix/key/v2/query/:serverName",
  auth: "none",
  resource: "keys",
  params: z.object({ serverName: z.string() }),
  query: minimumQuery,
  handle: ({ params, query }, deps: KeyQueryDeps) => {
    const min = query.minimum_valid_until_ts;
    return notary(deps).query({ [params.serverName]: {} }, min !== undefined ? { minimumValidUntilTs: min } : {});
  },
});

export const queryServerKeysById = defineFederationRoute({
  method: "GET",
  path: "/_matrix/key/v2/query/:serverName/:keyId",
  auth: "none",
  resource: "keys",
  params: z.object({ serverName: z.string(), keyId: z.string() }),
  query: minimumQuery,
  handle: ({ params, query }, deps: KeyQueryDeps) => {
    const min = query.minimum_valid_until_ts;
    return notary(deps).query({ [params.serverName]: { [params.keyId]: min !== undefined ? { minimum_valid_until_ts: min } : {} } });
  },
});
