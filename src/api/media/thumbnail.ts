/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1mediathumbnailservernamemediaid */
import type { z } from "zod";
import { defineRoute } from "../http/index.js";
import type { MediaDeps } from "./deps.js";
import { mediaParams, mediaResponse, thumbnailQuery } from "./shared.js";

/** Answers a thumbnail request; `allowAuthenticated: false` on the legacy unauthenticated path. */
export const answerThumbnail = (allowAuthenticated: boolean) =>
  async ({ params, query, signal }: ThumbnailInput, { media }: MediaDeps) =>
    mediaResponse(await media.thumbnail(params.serverName, params.mediaId, { width: query.width, height: query.height, method: query.method }, query.animated, { timeoutMs: query.timeout_ms, allowAuthenticated, signal }));

interface ThumbnailInput {
  readonly params: z.output<typeof mediaParams>;
  readonly query: z.output<typeof thumbnailQuery>;
  readonly signal: AbortSignal;
}

export const thumbnail = defineRoute({
  method: "GET",
  path: "/_matrix/client/v1/media/thumbnail/:serverName/:mediaId",
  resource: "client",
  auth: "access-token",
  cors: true,
  params: mediaParams,
  query: thumbnailQuery,
  handle: answerThumbnail(true),
});
