/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1mediathumbnailservernamemediaid */
import { defineRoute } from "../http/index.js";
import type { MediaDeps } from "./deps.js";
import { mediaParams, mediaResponse, thumbnailQuery } from "./shared.js";

export const thumbnail = defineRoute({
  method: "GET",
  path: "/_matrix/client/v1/media/thumbnail/:serverName/:mediaId",
  resource: "client",
  auth: "access-token",
  cors: true,
  params: mediaParams,
  query: thumbnailQuery,
  async handle({ params, query, signal }, { media }: MediaDeps) {
    const size = { width: query.width, height: query.height, method: query.method };
    return mediaResponse(await media.thumbnail(params.serverName, params.mediaId, size, query.animated, { timeoutMs: query.timeout_ms, allowAuthenticated: true, signal }));
  },
});
