/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1mediadownloadmediaid
 * Our own media only, as multipart/mixed: a JSON part (`{}`) then the bytes, streamed from disk.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { mediaHeaders, multipartFrame } from "../../../core/media/index.js";
import type { OpenMedia } from "../../../media/index.js";
import { HttpResponse, defineFederationRoute } from "../../http/index.js";
import type { MediaDeps } from "../../media/deps.js";
import { downloadQuery, thumbnailQuery } from "../../media/shared.js";

const params = z.object({ mediaId: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, "a media id is 1-255 characters of A-Z a-z 0-9 _ -") });

/** The multipart/mixed answer around a stored file. */
export function multipartMedia(m: OpenMedia): HttpResponse {
  const boundary = randomBytes(16).toString("hex");
  const headers = mediaHeaders(m.contentType, m.fileName, null);
  const { head, tail } = multipartFrame(boundary, "{}", { "Content-Type": m.contentType, "Content-Disposition": headers["content-disposition"]! });
  async function* body(): AsyncGenerator<Uint8Array> {
    yield head;
    for await (const chunk of m.body) yield chunk as Buffer;
    yield tail;
  }
  return HttpResponse.stream(200, body(), `multipart/mixed; boundary=${boundary}`, { "content-length": String(head.length + m.size + tail.length) });
}

export const federationMediaDownload = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/media/download/:mediaId",
  auth: "x-matrix",
  params,
  query: downloadQuery,
  async handle({ params, query, signal }, { media }: MediaDeps) {
    const m = await media.download(media.settings.serverName, params.mediaId, { timeoutMs: query.timeout_ms, allowAuthenticated: true, signal });
    return multipartMedia(m);
  },
});

export const federationMediaThumbnail = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/media/thumbnail/:mediaId",
  auth: "x-matrix",
  params,
  query: thumbnailQuery,
  async handle({ params, query, signal }, { media }: MediaDeps) {
    const size = { width: query.width, height: query.height, method: query.method };
    const m = await media.thumbnail(media.settings.serverName, params.mediaId, size, query.animated, { timeoutMs: query.timeout_ms, allowAuthenticated: true, signal });
    return multipartMedia(m);
  },
});
