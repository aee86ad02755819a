/**
 * multipart/mixed for federation media (pure): the answer of GET /_matrix/federation/v1/media/download is a JSON
 * part (metadata, `{}` today) then either the bytes or a part with only a Location header to fetch them from.
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1mediadownloadmediaid (RFC 2046 5.1)
 */
export interface MultipartPart {
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The boundary of a multipart/mixed Content-Type, or undefined when it is not one. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed\s*;/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** The parts between `--boundary` delimiters; throws on a body with no closing delimiter or a part without headers. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new Error("no multipart boundary in the body");
  for (;;) {
    const afterDelim = at + delimiter.length;
    if (body.subarray(afterDelim, afterDelim + 2).toString() === "--") return parts;
    const start = body.indexOf("\r\n", afterDelim);
    if (start < 0) throw new Error("truncated multipart body");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), start);
    if (next < 0) throw new Error("multipart body has no closing boundary");
    const part = body.subarray(start + 2, next);
    const split = part.indexOf("\r\n\r\n");
    const headerText = split < 0 ? part.toString("latin1") : part.subarray(0, split).toString("latin1");
    const headers: Record<string, string> = {};
    for (const line of headerText.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: split < 0 ? Buffer.alloc(0) : part.subarray(split + 4) });
    at = next + 2;
  }
}

/** The multipart/mixed framing of a JSON part then a media part, as byte chunks around the media's own chunks. */
export function multipartFrame(boundary: string, json: string, mediaHeaders: Readonly<Record<string, string>>): { head: Buffer; tail: Buffer } {
  const lines = Object.entries(mediaHeaders).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return {
    head: Buffer.from(`--${boundary}\r\nContent-Type: application/json\r\n\r\n${json}\r\n--${boundary}\r\n${lines}\r\n`),
    tail: Buffer.from(`\r\n--${boundary}--\r\n`),
  };
}
