/** GET /_synapse/admin/v1/users/{userId}/media: a page of a local user's uploads (from, limit, order_by, dir) with total and next_token. */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { listUserMedia, userMediaQuery, type MediaAdminDeps } from "./media-admin.js";
import { localUserParam, requireServerAdmin, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

export const UserMediaQuery = z.looseObject({ from: z.string().optional(), limit: z.string().optional(), order_by: z.string().optional(), dir: z.string().optional() });

export const listUserMediaRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/users/:userId/media",
  auth: "access-token",
  params: UserParams,
  query: UserMediaQuery,
  async handle({ user, params, query, log }, deps: Pick<AdminDeps, "users" | "serverName"> & MediaAdminDeps) {
    await requireServerAdmin(deps.users, user, log, "list user media", params.userId);
    return listUserMedia(deps, userMediaQuery(localUserParam(params.userId, deps), query));
  },
});
