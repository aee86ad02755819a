/** GET /_synapse/admin/v1/media/{serverName}/{mediaId}: one media id's details (`{media_info}`), 404 when unknown. */
import { defineClientRoute } from "../../http/index.js";
import { mediaParams } from "../../media/shared.js";
import { mediaInfo, type MediaAdminDeps } from "./media-admin.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const getMediaRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/media/:serverName/:mediaId",
  auth: "access-token",
  params: mediaParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users"> & MediaAdminDeps) {
    await requireServerAdmin(deps.users, user, log, "media details", `mxc://${params.serverName}/${params.mediaId}`);
    return mediaInfo(deps, params.serverName, params.mediaId);
  },
});
