/**
 * https://spec.matrix.org/v1.13/server-server-api/#get_matrixfederationv1openiduserinfo
 *
 * Not signed: a service (an integration manager, a widget host) presents the OpenID token a user gave it.
 * 1. `access_token` is required (400 M_MISSING_PARAM).
 * 2. An unknown or expired token is 401 M_UNKNOWN_TOKEN; otherwise `{sub}`, the user it was issued to.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { OpenIdTokenStore } from "../../../storage/ports.js";
import { defineFederationRoute } from "../../http/index.js";

export interface OpenIdUserinfoDeps {
  readonly openIdTokens: OpenIdTokenStore;
  readonly clock: { now(): number };
}

export const openIdUserinfo = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/openid/userinfo",
  auth: "none",
  query: z.looseObject({ access_token: z.string().max(255).optional() }),
  async handle({ query }, { openIdTokens, clock }: OpenIdUserinfoDeps) {
    // Step 1
    if (query.access_token === undefined) throw MatrixError.missingParam("access_token");
    // Step 2
    const userId = await openIdTokens.getUser(query.access_token, clock.now());
    if (!userId) throw new MatrixError("M_UNKNOWN_TOKEN", 401, "access_token: unknown or expired OpenID token");
    return { sub: userId };
  },
});
