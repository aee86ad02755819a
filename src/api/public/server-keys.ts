/**
 * Publishing keys: https://spec.matrix.org/v1.16/server-server-api/#get_matrixkeyv2server
 *
 * 1. verify_keys: every current key, `{key: <unpadded base64 public key>}`.
 * 2. old_verify_keys: the operator's old_signing_keys, each with expired_ts.
 * 3. valid_until_ts: now + key_refresh_interval.
 * 4. Sign the object (canonical JSON) with every current key.
 * The response is built per request, so valid_until_ts always moves with the clock.
 */
import { publicKeyBase64, signJson } from "../../core/crypto/index.js";
import type { JsonObject } from "../../core/json/types.js";
import { defineFederationRoute } from "../http/index.js";
import type { PublicDeps, ServerIdentity } from "./deps.js";

export function buildServerKeys(identity: ServerIdentity, now: number): JsonObject {
  const verifyKeys: Record<string, JsonObject> = {};
  for (const key of identity.signingKeys) verifyKeys[key.keyId] = { key: publicKeyBase64(key) };
  const oldVerifyKeys: Record<string, JsonObject> = {};
  for (const [keyId, old] of Object.entries(identity.oldVerifyKeys)) {
    if (!(keyId in verifyKeys)) oldVerifyKeys[keyId] = { key: old.key, expired_ts: old.expired_ts };
  }
  let body: JsonObject = {
    server_name: identity.serverName,
    verify_keys: verifyKeys,
    old_verify_keys: oldVerifyKeys,
    valid_until_ts: now + identity.keyRefreshIntervalMs,
  };
  for (const key of identity.signingKeys) body = signJson(body, identity.serverName, key);
  return body;
}

export const getServerKeys = defineFederationRoute({
  method: "GET",
  path: "/_matrix/key/v2/server",
  auth: "none",
  resource: "keys",
  handle: (_input, { identity, clock }: Pick<PublicDeps, "identity" | "clock">) => buildServerKeys(identity, clock.now()),
});

/** The deprecated form with a key id (r0): the same answer, as Synapse gives. */
export const getServerKeysById = defineFederationRoute({
  method: "GET",
  path: "/_matrix/key/v2/server/:keyId",
  auth: "none",
  resource: "keys",
  handle: (_input, { identity, clock }: Pick<PublicDeps, "identity" | "clock">) => buildServerKeys(identity, clock.now()),
});
