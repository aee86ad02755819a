/** GET /_synapse/admin/v1/registration_tokens[?valid=true|false]: every token, or the usable (unusable) ones. */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { requireServerAdmin, tokenJson, type AdminDeps } from "./service.js";

export const listRegistrationTokensRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/registration_tokens",
  auth: "access-token",
  query: z.looseObject({ valid: z.enum(["true", "false"], { error: "must be true or false" }).optional() }),
  async handle({ user, query, log }, deps: Pick<AdminDeps, "users" | "admin" | "clock">) {
    await requireServerAdmin(deps.users, user, log, "list registration tokens");
    const tokens = await deps.admin.listRegistrationTokens({ valid: query.valid === undefined ? undefined : query.valid === "true", nowTs: deps.clock.now() });
    return { registration_tokens: tokens.map(tokenJson) };
  },
});
