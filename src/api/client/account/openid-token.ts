/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3useruseridopenidrequest_token
 *
 * 1. Only for oneself (403 M_FORBIDDEN); the body is a JSON object (its content is not used).
 * 2. A new opaque token valid OPENID_TOKEN_LIFETIME_MS, stored (openid_tokens) so that any Zion process answers the
 *    federation's /openid/userinfo for it: `{access_token, token_type: "Bearer", matrix_server_name, expires_in}`.
 */
import { z } from "zod";
import type { OpenIdTokenStore } from "../../../storage/ports.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { UserIdParam, ownUser } from "../shared/own-user.js";
import { newOpenIdToken } from "../shared/tokens.js";

/** An hour, as Synapse's default. */
export const OPENID_TOKEN_LIFETIME_MS = 3_600_000;

export interface OpenIdDeps {
  readonly openIdTokens: OpenIdTokenStore;
}

export const requestOpenIdToken = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/user/:userId/openid/request_token",
  auth: "access-token",
  params: z.object({ userId: UserIdParam }),
  body: z.looseObject({}),
  emptyBodyIsObject: true,
  maxBodyBytes: 4 * 1024,
  async handle({ user, params }, deps: Pick<AccountDeps, "clock" | "serverName"> & OpenIdDeps) {
    // Step 1
    const userId = ownUser(user, params.userId, "request OpenID tokens");
    // Step 2
    const token = newOpenIdToken();
    const now = deps.clock.now();
    await deps.openIdTokens.create(token, userId, now + OPENID_TOKEN_LIFETIME_MS, now);
    return { access_token: token, token_type: "Bearer", matrix_server_name: deps.serverName, expires_in: OPENID_TOKEN_LIFETIME_MS / 1000 };
  },
});
