/** POST /_synapse/admin/v1/media/unquarantine/{serverName}/{mediaId}: lifts the quarantine of one media id; 404 when unknown. */
import { defineClientRoute } from "../../http/index.js";
import { mediaParams } from "../../media/shared.js";
import { setQuarantine, type MediaAdminDeps } from "./media-admin.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const unquarantineMediaRoute = defineClientRoute({
  method: "POST",
  path: "/_synapse/admin/v1/media/unquarantine/:serverName/:mediaId",
  auth: "access-token",
  params: mediaParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users"> & MediaAdminDeps) {
    const admin = await requireServerAdmin(deps.users, user, log, "unquarantine media", `mxc://${params.serverName}/${params.mediaId}`);
    return setQuarantine(deps, admin, params.serverName, params.mediaId, false);
  },
});
