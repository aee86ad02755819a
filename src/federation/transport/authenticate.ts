/**
 * Inbound request authentication: https://spec.matrix.org/v1.16/server-server-api/#request-authentication
 *
 * Before any handler of an `auth: "x-matrix"` route runs:
 * 1. Federation must be enabled (else 403 M_FORBIDDEN).
 * 2. Take the first Authorization header using the X-Matrix scheme and parse it (grammar in x-matrix.ts).
 * 3. origin must be a valid server name; destination, when present, must be our server name (401).
 * 4. origin must be allowed by federation_domain_whitelist (403 M_FORBIDDEN), when a policy is given.
 * 5. key must be an ed25519 key of origin usable now (fetched and cached by the KeyRing).
 * 6. The signature must verify over {method, uri, origin, destination: our name, content: body if any}, so a
 *    request signed for another destination fails here even without a destination parameter.
 * 7. A verified origin is reported (onVerified), so a destination in back-off is retried at once.
 * Any failure is 401 M_UNAUTHORIZED naming the reason.
 */
import { signedBytes, verifySignatureBytes } from "../../core/crypto/index.js";
import { MatrixError } from "../../core/errors.js";
import { checkServerName, type KeyId, type ServerName } from "../../core/ids/index.js";
import type { JsonValue } from "../../core/json/types.js";
import type { KeyRing } from "../keys/key-ring.js";
import { parseXMatrix, requestJson } from "./x-matrix.js";

export interface InboundRequest {
  readonly method: string;
  readonly uri: string;
  /** Every Authorization header value (or the one value). */
  readonly authorization: readonly string[] | string | undefined;
  readonly body: JsonValue | undefined;
}

export interface AuthenticatorOptions {
  readonly serverName: ServerName;
  readonly keyRing: Pick<KeyRing, "getKeyForRequest">;
  readonly federationEnabled?: boolean;
  /** federation_domain_whitelist as a predicate; absent = everyone. */
  readonly originAllowed?: (origin: ServerName) => boolean;
  /** Called once a request is verified: the federation sender wakes a destination in back-off that contacts us. */
  readonly onVerified?: (origin: ServerName) => void;
}

export type Authenticate = (req: InboundRequest) => Promise<{ origin: ServerName }>;

export function createAuthenticator(opts: AuthenticatorOptions): Authenticate {
  const ours = opts.serverName;
  return async (req) => {
    // Step 1.
    if (opts.federationEnabled === false) throw MatrixError.forbidden("federation is disabled on this server");
    // Step 2.
    const values = req.authorization === undefined ? [] : typeof req.authorization === "string" ? [req.authorization] : req.authorization;
    const header = values.find((v) => /^X-Matrix\s/i.test(v));
    if (!header) throw MatrixError.unauthorized("missing Authorization header with the X-Matrix scheme");
    const p = parseXMatrix(header);
    if (!p.ok) throw MatrixError.unauthorized(`malformed X-Matrix header: ${p.reason}`);
    const { origin, destination, key, sig } = p.value;
    // Step 3.
    const on = checkServerName(origin);
    if (!on.ok) throw MatrixError.unauthorized(`X-Matrix origin ${JSON.stringify(origin)} is not a server name: ${on.reason}`);
    if (destination !== undefined && destination !== ours) {
      throw MatrixError.unauthorized(`X-Matrix destination ${JSON.stringify(destination)} is not this server (${ours})`);
    }
    const originName = origin as ServerName;
    // Step 4.
    if (opts.originAllowed && !opts.originAllowed(originName)) {
      throw MatrixError.forbidden(`${origin} is not in this server's federation_domain_whitelist`);
    }
    // Step 5.
    if (!key.startsWith("ed25519:")) throw MatrixError.unauthorized(`X-Matrix key ${JSON.stringify(key)} is not an ed25519 key`);
    const found = await opts.keyRing.getKeyForRequest(originName, key as KeyId);
    if (!found.ok) throw MatrixError.unauthorized(`cannot verify the request of ${origin}: ${found.reason}`);
    // Step 6.
    const bytes = signedBytes(requestJson({
      method: req.method, uri: req.uri, origin, destination: ours, ...(req.body !== undefined ? { content: req.body } : {}),
    }));
    const v = verifySignatureBytes(bytes, sig, found.key.publicKey, `${origin} ${key}`);
    if (!v.ok) throw MatrixError.unauthorized(`request signature of ${origin} is not valid for ${req.method} ${req.uri} to ${ours}: ${v.reason}`);
    // Step 7: the origin is up; tell whoever waits to send to it.
    opts.onVerified?.(originName);
    return { origin: originName };
  };
}
