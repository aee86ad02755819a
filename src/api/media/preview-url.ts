/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1mediapreview_url */
import { z } from "zod";
import { MatrixError } from "../../core/errors.js";
import { defineRoute } from "../http/index.js";
import type { MediaDeps } from "./deps.js";

export const previewUrl = defineRoute({
  method: "GET",
  path: "/_matrix/client/v1/media/preview_url",
  resource: "client",
  auth: "access-token",
  cors: true,
  query: z.object({ url: z.string().min(1).max(2048), ts: z.string().optional() }),
  async handle({ query, user }, { urlPreviews }: MediaDeps) {
    // Synapse does not serve the endpoint at all unless url_preview_enabled.
    if (!urlPreviews) throw MatrixError.unrecognized("URL previews are disabled on this server (url_preview_enabled)");
    if (!/^https?:\/\//i.test(query.url)) throw MatrixError.invalidParam("url", "only http and https URLs are previewed");
    return urlPreviews.preview(query.url, user.userId);
  },
});

/** The deprecated /_matrix/media/v3 path, which Synapse still serves (with an access token). */
export const legacyPreviewUrl = defineRoute({ ...previewUrl, path: "/_matrix/media/v3/preview_url", resource: "media" });
