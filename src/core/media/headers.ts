/**
 * Response headers of a media download (pure).
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1mediadownloadservernamemediaid
 */

/**
 * The types a server may serve `inline` (the spec's list for Content-Disposition); anything else is an
 * `attachment`, so a browser never renders, say, HTML or SVG uploaded by a user on the server's origin.
 */
export const INLINE_CONTENT_TYPES: ReadonlySet<string> = new Set([
  "text/css", "text/plain", "text/csv", "application/json", "application/ld+json",
  "image/jpeg", "image/gif", "image/png", "image/apng", "image/webp", "image/avif",
  "video/mp4", "video/webm", "video/ogg", "video/quicktime",
  "audio/mp4", "audio/webm", "audio/aac", "audio/mpeg", "audio/ogg", "audio/wave", "audio/wav", "audio/x-wav",
  "audio/x-pn-wav", "audio/flac", "audio/x-flac",
]);

/** The spec's recommended policy for media responses: no scripts, no plugins but PDF, sandboxed. */
export const MEDIA_CONTENT_SECURITY_POLICY =
  "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';";

/** The type without parameters, lower-cased ("Text/Plain; charset=x" -> "text/plain"). */
export function essenceOf(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

/** RFC 6266 / RFC 8187: a plain quoted filename when it is printable ASCII, else filename*=utf-8''percent-encoded. */
export function contentDisposition(contentType: string, fileName: string | null): string {
  const kind = INLINE_CONTENT_TYPES.has(essenceOf(contentType)) ? "inline" : "attachment";
  if (fileName === null || fileName === "") return kind;
  if (/^[\x20-\x7e]*$/.test(fileName)) return `${kind}; filename="${fileName.replace(/["\\]/g, "\\$&")}"`;
  const encoded = [...new TextEncoder().encode(fileName)]
    .map((b) => (/[A-Za-z0-9!#$&+.^_`|~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`))
    .join("");
  return `${kind}; filename*=utf-8''${encoded}`;
}

/** Every header a media body is sent with. */
export function mediaHeaders(contentType: string, fileName: string | null, size: number | null): Record<string, string> {
  const h: Record<string, string> = {
    "content-disposition": contentDisposition(contentType, fileName),
    "content-security-policy": MEDIA_CONTENT_SECURITY_POLICY,
    "cross-origin-resource-policy": "cross-origin",
    "x-content-type-options": "nosniff",
    // Media never changes under its id.
    "cache-control": "public, max-age=86400, s-maxage=86400, immutable",
  };
  if (size !== null) h["content-length"] = String(size);
  return h;
}
