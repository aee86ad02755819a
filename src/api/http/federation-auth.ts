/**
 * The inbound X-Matrix seam: routes with `auth: "x-matrix"` call
 * `deps.federationAuth.authenticate(...)` before anything else runs, and the
 * verified origin must pass the `federation_domain_whitelist` check.
 * https://spec.matrix.org/v1.16/server-server-api/#request-authentication
 */
import type { ServerName, UserId } from "../../core/ids/index.js";
import type { JsonValue } from "../../core/json/types.js";
import { MatrixError } from "../../core/errors.js";

export interface FederationAuthRequest {
  readonly method: string;
  /** Path and query exactly as received (the `uri` the sender signed). */
  readonly uri: string;
  /** Every Authorization header value, in order. */
  readonly authorization: readonly string[];
  /** The parsed JSON body, or undefined when the request had none. */
  readonly body: JsonValue | undefined;
}

export interface FederationAuth {
  /** Resolves to the verified origin, or throws a MatrixError (401 M_UNAUTHORIZED, 403 M_FORBIDDEN ...). */
  authenticate(request: FederationAuthRequest): Promise<{ origin: ServerName }>;
}

/**
 * Synapse's rc_federation around every signed request (api/federation/rate-limit.ts FederationRateLimiter): the work
 * of one request of `origin` runs when the limiter lets it (delayed past sleep_limit, at most `concurrent` at a
 * time), or the call throws 429 M_LIMIT_EXCEEDED (past reject_limit) without running it.
 */
export interface FederationRequestLimiter {
  run<T>(origin: ServerName, work: () => Promise<T>): Promise<T>;
}

/** Decides whether a verified origin may talk to us (federation_domain_whitelist). */
export type FederationOriginPolicy = (origin: ServerName) => boolean;

/** Refuses every signed request: in place until the real X-Matrix verifier is wired. */
export const refuseAllFederationAuth: FederationAuth = {
  async authenticate() {
    throw MatrixError.unauthorized("X-Matrix request authentication is not available on this server yet");
  },
};

/** The whitelist check: no list means everyone; a list means only those names. */
export function whitelistPolicy(whitelist: readonly string[] | undefined): FederationOriginPolicy {
  if (whitelist === undefined) return () => true;
  const allowed = new Set(whitelist.map((s) => s.toLowerCase()));
  return (origin) => allowed.has(origin.toLowerCase());
}

/**
 * Access tokens for `auth: "access-token"` routes:
 * https://spec.matrix.org/v1.16/client-server-api/#using-access-tokens
 * The layer takes the token from `Authorization: Bearer` (or the deprecated `access_token` query parameter),
 * answers 401 M_MISSING_TOKEN without one, and 401 M_UNKNOWN_TOKEN when this returns null.
 */
export interface AccessTokenAuth {
  authenticate(token: string): Promise<{ userId: UserId; deviceId: string } | null>;
}

/** Knows no token: in place until the app wires the user store. */
export const refuseAllAccessTokens: AccessTokenAuth = {
  async authenticate() {
    return null;
  },
};
