/** POST /_synapse/admin/v1/registration_tokens/new {token | length, uses_allowed, expiry_time}: a new registration token. */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { createRegistrationToken, requireServerAdmin, tokenJson, type AdminDeps } from "./service.js";

export const createRegistrationTokenRoute = defineClientRoute({
  method: "POST",
  path: "/_synapse/admin/v1/registration_tokens/new",
  auth: "access-token",
  body: z.looseObject({ token: z.string().max(256).optional(), uses_allowed: z.number().nullable().optional(), expiry_time: z.number().nullable().optional(), length: z.number().optional() }),
  emptyBodyIsObject: true,
  maxBodyBytes: 64 * 1024,
  async handle({ user, body, log }, deps: Pick<AdminDeps, "users" | "admin" | "clock">) {
    await requireServerAdmin(deps.users, user, log, "create registration token", body.token);
    return tokenJson(await createRegistrationToken(deps, body));
  },
});
