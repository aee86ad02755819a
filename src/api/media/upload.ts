/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixmediav3upload */
import { z } from "zod";
import { defineRoute } from "../http/index.js";
import type { MediaDeps } from "./deps.js";
import { UNCAPPED, contentTypeOf, declaredLength } from "./shared.js";

export const upload = defineRoute({
  method: "POST",
  path: "/_matrix/media/v3/upload",
  resource: "media",
  auth: "access-token",
  cors: true,
  streamBody: true,
  maxBodyBytes: UNCAPPED,
  query: z.object({ filename: z.string().max(255).optional() }),
  async handle({ user, query, request, bodyStream }, { media }: MediaDeps) {
    const contentUri = await media.upload({
      userId: user.userId, contentType: contentTypeOf(request), fileName: query.filename ?? null,
      declaredLength: declaredLength(request), body: bodyStream ?? [],
    });
    return { content_uri: contentUri };
  },
});
