/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3useruseridfilter
 * 1. Only one's own (403 M_FORBIDDEN). 2. The body must be a JSON object of at most 64 KiB (413 M_TOO_LARGE);
 *    it is stored as given: checking its fields is the filter module's work, which /sync applies when it reads
 *    the filter. 3. `{filter_id}`: "0", "1", ... per user.
 */
import { z } from "zod";
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
    return { filter_id: await filters.create(userId, body as JsonObject) };
  },
});
