/**
 * Remote media through federation: GET /_matrix/federation/v1/media/download (signed, multipart/mixed), following a
 * Location part under the outbound address policy; when the remote server does not have that endpoint (404 or
 * M_UNRECOGNIZED, a server older than authenticated media), the legacy unauthenticated /_matrix/media/v3/download,
 * as Synapse falls back.
 */
import { MatrixError } from "../core/errors.js";
import type { ServerName } from "../core/ids/index.js";
import type { Dns } from "../federation/discovery/dns.js";
import type { IpRangePolicy } from "../federation/discovery/ip-ranges.js";
import { policyFetch, PolicyFetchError } from "../federation/outbound/policy-fetch.js";
import { FederationError, type FederationClient, type FederationMedia } from "../federation/transport/client.js";
import type { RemoteMedia, RemoteMediaSource } from "./repository.js";

/** The filename of a Content-Disposition header (filename* first, RFC 6266). */
export function fileNameOf(disposition: string | undefined): string | null {
  if (!disposition) return null;
  const star = /filename\*\s*=\s*utf-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim());
    } catch {
      return null;
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(disposition);
  return plain ? (plain[1]?.replace(/\\(.)/g, "$1") ?? plain[2] ?? null) : null;
}

export function federationMediaSource(client: FederationClient, outbound: { dns: Dns; ipPolicy: IpRangePolicy }): RemoteMediaSource {
  return {
    async download(origin: ServerName, mediaId: string, opts): Promise<RemoteMedia> {
      const limits = { maxBytes: opts.maxBytes, timeoutMs: opts.timeoutMs };
      let got: FederationMedia;
      try {
        try {
          got = await client.downloadMedia(origin, mediaId, limits);
        } catch (e) {
          const unrecognized = e instanceof FederationError && e.kind === "http" && (e.errcode === "M_UNRECOGNIZED" || (e.status === 404 && e.errcode !== "M_NOT_FOUND"));
          if (!unrecognized) throw e;
          got = await client.downloadMediaLegacy(origin, mediaId, limits);
        }
        if (got.kind === "location") {
          const r = await policyFetch(got.location, { ...outbound, maxBytes: opts.maxBytes, timeoutMs: opts.timeoutMs });
          if (r.status !== 200) throw MatrixError.notFound(`the remote media's location answered ${r.status}`);
          const type = r.headers["content-type"];
          const disp = r.headers["content-disposition"];
          return { contentType: typeof type === "string" ? type : undefined, fileName: fileNameOf(typeof disp === "string" ? disp : undefined), body: (async function* () { yield r.body; })() };
        }
      } catch (e) {
        if (e instanceof FederationError && e.kind === "too-large") throw MatrixError.tooLarge(`the remote media is larger than max_upload_size (${opts.maxBytes} bytes)`);
        if (e instanceof FederationError && e.status === 404) throw MatrixError.notFound(`${origin} has no media ${mediaId}`);
        if (e instanceof FederationError || e instanceof PolicyFetchError) {
          throw new MatrixError("M_UNKNOWN", 502, `could not fetch the media from ${origin}: ${e.message}`);
        }
        throw e;
      }
      const bytes = got.body;
      return { contentType: got.contentType, fileName: fileNameOf(got.contentDisposition), body: (async function* () { yield bytes; })() };
    },
  };
}
