/** POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}: quarantines one media id (then 404 to every client); 404 when unknown. */
import { defineClientRoute } from "../../http/index.js";
import { mediaParams } from "../../media/shared.js";
import { setQuarantine, type MediaAdminDeps } from "./media-admin.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const quarantineMediaRoute = defineClientRoute({
  method: "POST",
  path: "/_synapse/admin/v1/media/quarantine/:serverName/:mediaId",
  auth: "access-token",
  params: mediaParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users"> & MediaAdminDeps) {
    const admin = await requireServerAdmin(deps.users, user, log, "quarantine media", `mxc://${params.serverName}/${params.mediaId}`);
    return setQuarantine(deps, admin, params.serverName, params.mediaId, true);
  },
});
