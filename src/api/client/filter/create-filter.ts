/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3useruseridfilter
 * 1. Only one's own (403 M_FORBIDDEN). 2. The body must be a JSON object of at most 64 KiB (413 M_TOO_LARGE)
 *    whose fields the filter module accepts (400 M_BAD_JSON / M_INVALID_PARAM naming the field, as Synapse checks
 *    a filter when it is uploaded, and nothing stored): a bad one would otherwise fail every /sync that names it.
 *    It is stored as given (unknown keys kept). 3. `{filter_id}`: "0", "1", ... per user.
 */
import { z } from "zod";
import { parseFilter } from "../../../core/filters/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { UserIdParam, ownUser } from "../shared/own-user.js";

export const FILTER_BODY_BYTES = 64 * 1024;

export const createFilter = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/user/:userId/filter",
  auth: "access-token",
  params: z.object({ userId: UserIdParam }),
  body: z.looseObject({}),
  maxBodyBytes: FILTER_BODY_BYTES,
  async handle({ user, params, body }, { filters }: Pick<UserDataDeps, "filters">) {
    const userId = ownUser(user, params.userId, "create filters");
    parseFilter(body);
    return { filter_id: await filters.create(userId, body as JsonObject) };
  },
});
