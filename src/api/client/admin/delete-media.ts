/** DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}: deletes one local media id (its file too, unless shared); 400 for remote media. */
import { defineClientRoute } from "../../http/index.js";
import { mediaParams } from "../../media/shared.js";
import { deleteMedia, type MediaAdminDeps } from "./media-admin.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const deleteMediaRoute = defineClientRoute({
  method: "DELETE",
  path: "/_synapse/admin/v1/media/:serverName/:mediaId",
  auth: "access-token",
  params: mediaParams,
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users"> & MediaAdminDeps) {
    await requireServerAdmin(deps.users, user, log, "delete media", `mxc://${params.serverName}/${params.mediaId}`);
    return deleteMedia(deps, params.serverName, params.mediaId);
  },
});
