/**
 * The only way to know federation works in both directions: send the target a request signed by us (a profile
 * query for a user that does not exist) through the server's own FederationClient. The target can only
 * authenticate it by discovering our server, fetching our keys and verifying our signature
 * (https://spec.matrix.org/v1.16/server-server-api/#request-authentication), so:
 *
 * - 404 M_NOT_FOUND (or any 2xx): it verified us (the user simply does not exist);
 * - 401 M_UNAUTHORIZED: it could not discover us, fetch our keys or verify the signature;
 * - 403 M_FORBIDDEN: it refuses us (its whitelist, or federation disabled there);
 * - anything else: the request did not get that far.
 */
import { randomBytes } from "node:crypto";
import type { SigningKey } from "../core/crypto/index.js";
import type { ServerName, UserId } from "../core/ids/index.js";
import { ServerResolver, WellKnownResolver, httpsGetVia } from "../federation/discovery/index.js";
import { HttpsClient } from "../federation/tls/https-client.js";
import { FederationClient, FederationError } from "../federation/transport/client.js";
import type { FederationTestEnv, ReachBackResult } from "./federation-test.js";

export interface ReachBackOptions {
  readonly ourName: string;
  readonly signingKey: SigningKey;
  readonly whitelist?: readonly string[];
  readonly federationEnabled?: boolean;
}

export function reachBackVia(env: Pick<FederationTestEnv, "dns" | "ipPolicy" | "tlsPolicy" | "clock" | "timeoutMs" | "wellKnownPort">, opts: ReachBackOptions): (target: string) => Promise<ReachBackResult> {
  return async (target) => {
    const timeoutMs = env.timeoutMs ?? 10_000;
    const https = new HttpsClient(env.tlsPolicy, { connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
    try {
      const wellKnown = new WellKnownResolver(httpsGetVia(env.dns, env.ipPolicy, https), env.clock, {
        ...(env.wellKnownPort !== undefined ? { port: env.wellKnownPort } : {}), timeoutMs,
      });
      const client = new FederationClient({
        serverName: opts.ourName as ServerName,
        signingKey: opts.signingKey,
        resolver: new ServerResolver({ dns: env.dns, wellKnown, clock: env.clock, ipPolicy: env.ipPolicy }),
        https,
        ...(opts.federationEnabled !== undefined ? { federationEnabled: opts.federationEnabled } : {}),
        ...(opts.whitelist !== undefined ? { domainWhitelist: opts.whitelist } : {}),
        timeoutMs,
      });
      const user = `@zion-federation-tester-${randomBytes(6).toString("hex")}:${target}` as UserId;
      const what = `GET /_matrix/federation/v1/query/profile signed by ${opts.ourName} with ${opts.signingKey.keyId}`;
      try {
        await client.queryProfile(target as ServerName, user);
        return { ok: true, status: 200, detail: `${target} accepted ${what}: it discovered ${opts.ourName} and verified our signature` };
      } catch (err) {
        if (!(err instanceof FederationError)) throw err;
        if (err.kind === "http" && err.status === 404) {
          return { ok: true, status: 404, detail: `${target} verified ${what} and answered 404 for the made-up user: it can discover ${opts.ourName}, fetch our keys and verify our signature` };
        }
        if (err.kind === "http" && err.status === 401) {
          return {
            ok: false, status: 401,
            detail: `${target} refused our signed request as unauthenticated: ${err.message}`,
            fix: `${target} could not discover ${opts.ourName}, fetch our keys or verify our signature: run \`zion federation-test ${opts.ourName}\` (from outside our network) and fix what it reports, and check that our signing key matches what /_matrix/key/v2/server publishes.`,
          };
        }
        if (err.kind === "http" && err.status === 403) {
          return {
            ok: false, status: 403, detail: `${target} refuses ${opts.ourName}: ${err.message}`,
            fix: `${target} does not federate with ${opts.ourName} (its federation_domain_whitelist or federation is disabled there): ask its operator to allow ${opts.ourName}.`,
          };
        }
        if (err.kind === "not-whitelisted" || err.kind === "disabled") {
          return { ok: false, detail: `our server would not send it: ${err.message}`, fix: "Add the target to federation_domain_whitelist (or remove the whitelist), and keep federation_enabled: true." };
        }
        return { ok: false, ...(err.status !== undefined ? { status: err.status } : {}), detail: `the signed request did not complete: ${err.message}`, fix: "Fix the failures reported above for the target first; the signed request uses the same route." };
      }
    } finally {
      await https.close();
    }
  };
}
