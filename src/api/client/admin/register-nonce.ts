/**
 * GET /_synapse/admin/v1/register: a nonce for shared-secret registration (Synapse's admin API, which
 * register_new_matrix_user calls); 400 M_UNKNOWN when registration_shared_secret is unset, as Synapse.
 */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";

export const getRegisterNonce = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/register",
  auth: "none",
  handle: async (_input, { accounts, registrationNonces }: Pick<AccountDeps, "accounts" | "registrationNonces">) => {
    if (accounts.sharedSecret === undefined) throw new MatrixError("M_UNKNOWN", 400, "shared-secret registration is not enabled (registration_shared_secret is not set)");
    return { nonce: await registrationNonces.issue() };
  },
});
