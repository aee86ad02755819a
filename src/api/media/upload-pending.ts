/** https://spec.matrix.org/v1.16/client-server-api/#put_matrixmediav3uploadservernamemediaid */
import { z } from "zod";
import { defineRoute } from "../http/index.js";
import type { MediaDeps } from "./deps.js";
import { UNCAPPED, contentTypeOf, declaredLength, mediaParams } from "./shared.js";

export const uploadPending = defineRoute({
  method: "PUT",
  path: "/_matrix/media/v3/upload/:serverName/:mediaId",
  resource: "media",
  auth: "access-token",
  cors: true,
  streamBody: true,
  maxBodyBytes: UNCAPPED,
  params: mediaParams,
  query: z.object({ filename: z.string().max(255).optional() }),
  async handle({ user, params, query, request, bodyStream }, { media }: MediaDeps) {
    await media.uploadPending(params.serverName, params.mediaId, {
      userId: user.userId, contentType: contentTypeOf(request), fileName: query.filename ?? null,
      declaredLength: declaredLength(request), body: bodyStream ?? [],
    });
    return {};
  },
});
