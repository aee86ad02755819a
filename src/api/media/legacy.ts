/**
 * The deprecated unauthenticated endpoints under /_matrix/media/v3 (and r0), answered as Synapse does with
 * enable_authenticated_media: media stored while it was on is 404 M_NOT_FOUND there (only older media is served),
 * and remote media is neither fetched nor served. /config keeps answering, with an access token, as Synapse's does.
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixmediav3downloadservernamemediaid
 */
import { defineRoute } from "../http/index.js";
import type { MediaDeps } from "./deps.js";
import { downloadQuery, fileParams, mediaParams, mediaResponse, thumbnailQuery } from "./shared.js";
import { answerThumbnail } from "./thumbnail.js";

const legacyOpts = (timeoutMs: number, signal: AbortSignal) => ({ timeoutMs, allowAuthenticated: false, signal });

export const legacyDownload = defineRoute({
  method: "GET",
  path: "/_matrix/media/v3/download/:serverName/:mediaId",
  resource: "media",
  auth: "none",
  cors: true,
  params: mediaParams,
  query: downloadQuery,
  async handle({ params, query, signal }, { media }: MediaDeps) {
    return mediaResponse(await media.download(params.serverName, params.mediaId, legacyOpts(query.timeout_ms, signal)));
  },
});

export const legacyDownloadWithName = defineRoute({
  method: "GET",
  path: "/_matrix/media/v3/download/:serverName/:mediaId/:fileName",
  resource: "media",
  auth: "none",
  cors: true,
  params: fileParams,
  query: downloadQuery,
  async handle({ params, query, signal }, { media }: MediaDeps) {
    return mediaResponse(await media.download(params.serverName, params.mediaId, legacyOpts(query.timeout_ms, signal)), params.fileName);
  },
});

export const legacyThumbnail = defineRoute({
  method: "GET",
  path: "/_matrix/media/v3/thumbnail/:serverName/:mediaId",
  resource: "media",
  auth: "none",
  cors: true,
  params: mediaParams,
  query: thumbnailQuery,
  handle: answerThumbnail(false),
});

export const legacyConfig = defineRoute({
  method: "GET",
  path: "/_matrix/media/v3/config",
  resource: "media",
  auth: "access-token",
  cors: true,
  handle: (_input, { media }: MediaDeps) => ({ "m.upload.size": media.settings.maxUploadBytes }),
});
