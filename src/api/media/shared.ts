/** Pieces the media routes share: path and query schemas, and how a stored file becomes a response. */
import { z } from "zod";
import { mediaHeaders } from "../../core/media/index.js";
import { DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS, type OpenMedia } from "../../media/index.js";
import { HttpResponse, type RequestInfo } from "../http/index.js";

export const mediaParams = z.object({
  serverName: z.string().min(1).max(255),
  mediaId: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, "a media id is 1-255 characters of A-Z a-z 0-9 _ -"),
});

export const fileParams = mediaParams.extend({ fileName: z.string().max(255) });

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const downloadQuery = z.object({
  timeout_ms: int(0, Number.MAX_SAFE_INTEGER).default(DEFAULT_TIMEOUT_MS).transform((t) => Math.min(t, MAX_TIMEOUT_MS)),
  allow_redirect: z.enum(["true", "false"]).optional(),
});

export const thumbnailQuery = downloadQuery.extend({
  width: int(1, 10_000),
  height: int(1, 10_000),
  method: z.enum(["crop", "scale"]).default("scale"),
  animated: z.enum(["true", "false"]).default("false").transform((a) => a === "true"),
});

/** The bytes with the spec's headers (Content-Disposition, Content-Security-Policy, CORP). */
export function mediaResponse(m: OpenMedia, fileName: string | null = m.fileName): HttpResponse {
  return HttpResponse.stream(200, m.body, m.contentType, mediaHeaders(m.contentType, fileName, m.size));
}

/** The request's Content-Length, when it sent one. */
export function declaredLength(request: RequestInfo): number | undefined {
  const v = request.headers["content-length"];
  return typeof v === "string" && /^[0-9]+$/.test(v) ? Number(v) : undefined;
}

export function contentTypeOf(request: RequestInfo): string | undefined {
  const v = request.headers["content-type"];
  return typeof v === "string" ? v : undefined;
}

/** Uploads are limited by max_upload_size inside the repository, as the bytes arrive; the layer's cap is lifted. */
export const UNCAPPED = Number.MAX_SAFE_INTEGER;
