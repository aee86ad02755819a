/** POST /_synapse/admin/v1/user/{userId}/media/quarantine: quarantines every upload of a local user; `{num_quarantined}`. */
import { defineClientRoute } from "../../http/index.js";
import { quarantineUserMedia, type MediaAdminDeps } from "./media-admin.js";
import { localUserParam, requireServerAdmin, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

export const quarantineUserMediaRoute = defineClientRoute({
  method: "POST",
  path: "/_synapse/admin/v1/user/:userId/media/quarantine",
  auth: "access-token",
  params: UserParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users" | "serverName"> & MediaAdminDeps) {
    const admin = await requireServerAdmin(deps.users, user, log, "quarantine user media", params.userId);
    return quarantineUserMedia(deps, admin, localUserParam(params.userId, deps));
  },
});
