/** DELETE /_synapse/admin/v1/users/{userId}/media: deletes the page of a local user's uploads that from/limit/order_by/dir select. */
import { defineClientRoute } from "../../http/index.js";
import { UserMediaQuery } from "./list-user-media.js";
import { deleteUserMedia, userMediaQuery, type MediaAdminDeps } from "./media-admin.js";
import { localUserParam, requireServerAdmin, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

export const deleteUserMediaRoute = defineClientRoute({
  method: "DELETE",
  path: "/_synapse/admin/v1/users/:userId/media",
  auth: "access-token",
  params: UserParams,
  query: UserMediaQuery,
  async handle({ user, params, query, log }, deps: Pick<AdminDeps, "users" | "serverName"> & MediaAdminDeps) {
    await requireServerAdmin(deps.users, user, log, "delete user media", params.userId);
    return deleteUserMedia(deps, userMediaQuery(localUserParam(params.userId, deps), query));
  },
});
