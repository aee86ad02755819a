/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1mediadownloadservernamemediaid */
import { defineRoute } from "../http/index.js";
import type { MediaDeps } from "./deps.js";
import { downloadQuery, fileParams, mediaParams, mediaResponse } from "./shared.js";

export const download = defineRoute({
  method: "GET",
  path: "/_matrix/client/v1/media/download/:serverName/:mediaId",
  resource: "client",
  auth: "access-token",
  cors: true,
  params: mediaParams,
  query: downloadQuery,
  async handle({ params, query, signal }, { media }: MediaDeps) {
    return mediaResponse(await media.download(params.serverName, params.mediaId, { timeoutMs: query.timeout_ms, allowAuthenticated: true, signal }));
  },
});

/** The same, answering with the file name the client asked for in Content-Disposition. */
export const downloadWithName = defineRoute({
  method: "GET",
  path: "/_matrix/client/v1/media/download/:serverName/:mediaId/:fileName",
  resource: "client",
  auth: "access-token",
  cors: true,
  params: fileParams,
  query: downloadQuery,
  async handle({ params, query, signal }, { media }: MediaDeps) {
    const m = await media.download(params.serverName, params.mediaId, { timeoutMs: query.timeout_ms, allowAuthenticated: true, signal });
    return mediaResponse(m, params.fileName);
  },
});
