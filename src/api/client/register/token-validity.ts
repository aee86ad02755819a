/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1registermloginregistration_tokenvalidity
 * Whether a registration token could be used now (exists, not used up counting pending uses, not expired). 403
 * M_FORBIDDEN when registration_requires_token is off, as Synapse; unauthenticated, so each call counts against
 * rc_registration for the client's address.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import type { AdminStore } from "../../../storage/ports.js";

export const registrationTokenValidity = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v1/register/m.login.registration_token/validity",
  auth: "none",
  query: z.looseObject({ token: z.string({ error: "is required" }).max(64) }),
  rateLimited: true,
  async handle({ query, request }, deps: Pick<AccountDeps, "accounts" | "rateLimits" | "clock"> & { readonly admin: Pick<AdminStore, "getRegistrationToken"> }) {
    if (!deps.accounts.registrationRequiresToken) throw MatrixError.forbidden("registration tokens are not enabled on this server (registration_requires_token is off)");
    deps.rateLimits.check("rc_registration", request.remoteAddress);
    deps.rateLimits.take("rc_registration", request.remoteAddress);
    const t = await deps.admin.getRegistrationToken(query.token);
    const now = deps.clock.now();
    const valid = t !== null && (t.usesAllowed === null || t.pending + t.completed < t.usesAllowed) && (t.expiryTime === null || t.expiryTime > now);
    return { valid };
  },
});
