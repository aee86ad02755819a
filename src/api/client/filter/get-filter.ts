/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3useruseridfilterfilterid
 * Only one's own (403 M_FORBIDDEN); the filter as it was stored; 404 M_NOT_FOUND when unknown.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { UserIdParam, ownUser } from "../shared/own-user.js";

export const getFilter = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/user/:userId/filter/:filterId",
  auth: "access-token",
  params: z.object({ userId: UserIdParam, filterId: z.string().min(1).max(32) }),
  async handle({ user, params }, { filters }: Pick<UserDataDeps, "filters">) {
    const userId = ownUser(user, params.userId, "get filters");
    const f = await filters.get(userId, params.filterId);
    if (!f) throw MatrixError.notFound(`no filter ${params.filterId}`);
    return f;
  },
});
