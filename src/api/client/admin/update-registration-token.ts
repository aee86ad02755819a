/** PUT /_synapse/admin/v1/registration_tokens/{token} {uses_allowed, expiry_time}: changes the given fields (null: unlimited, never). */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { requireServerAdmin, tokenJson, updateRegistrationToken, type AdminDeps } from "./service.js";
import { TokenParams } from "./token-param.js";

export const updateRegistrationTokenRoute = defineClientRoute({
  method: "PUT",
  path: "/_synapse/admin/v1/registration_tokens/:token",
  auth: "access-token",
  params: TokenParams,
  body: z.looseObject({ uses_allowed: z.number().nullable().optional(), expiry_time: z.number().nullable().optional() }),
  emptyBodyIsObject: true,
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body, log }, deps: Pick<AdminDeps, "users" | "admin" | "clock">) {
    await requireServerAdmin(deps.users, user, log, "update registration token", params.token);
    return tokenJson(await updateRegistrationToken(deps, params.token, body));
  },
});
