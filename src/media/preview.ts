/**
 * URL previews (GET /_matrix/client/v1/media/preview_url): the page is fetched under url_preview_ip_range_blacklist /
 * _whitelist (every address and every redirect checked, see policyFetch), at most max_spider_size bytes and 10 s, and
 * its Open Graph tags read with htmlparser2 (title and meta description when it has none). An og:image is fetched
 * the same way and stored as the requester's media, so the client gets an mxc:// URI as the spec asks. Previews are
 * kept in memory for an hour (at most 1,000 URLs).
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1mediapreview_url
 */
import { Parser } from "htmlparser2";
import sharp from "sharp";
import type { Clock } from "../core/clock.js";
import { MatrixError } from "../core/errors.js";
import type { UserId } from "../core/ids/index.js";
import { essenceOf } from "../core/media/index.js";
import type { Dns } from "../federation/discovery/dns.js";
import type { IpRangePolicy } from "../federation/discovery/ip-ranges.js";
import { policyFetch, PolicyFetchError, type PolicyFetchResponse } from "../federation/outbound/policy-fetch.js";
import type { MediaRepository } from "./repository.js";

export interface PreviewSettings {
  readonly dns: Dns;
  readonly ipPolicy: IpRangePolicy;
  /** max_spider_size. */
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

type Preview = Record<string, string | number>;

const CACHE_MS = 3_600_000;
const CACHE_ENTRIES = 1000;
/** Open Graph values kept, each cut to this many characters. */
const MAX_VALUE = 2000;

/** The og:* properties of a page (and its title / description as fallbacks). Pure over the HTML text. */
export function openGraphOf(html: string): Preview {
  const og: Preview = {};
  let title = "";
  let inTitle = false;
  let description: string | undefined;
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === "title") inTitle = true;
        if (name !== "meta") return;
        const key = attrs["property"] ?? attrs["name"];
        const content = attrs["content"];
        if (key === undefined || content === undefined) return;
        if (key.startsWith("og:") && !(key in og)) og[key] = content.slice(0, MAX_VALUE);
        if (key === "description" && description === undefined) description = content.slice(0, MAX_VALUE);
      },
      ontext(text) {
        if (inTitle && title.length < MAX_VALUE) title += text;
      },
      onclosetag(name) {
        if (name === "title") inTitle = false;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  if (og["og:title"] === undefined && title.trim()) og["og:title"] = title.trim().slice(0, MAX_VALUE);
  if (og["og:description"] === undefined && description !== undefined) og["og:description"] = description;
  return og;
}

export class UrlPreviewer {
  private readonly cache = new Map<string, { at: number; preview: Preview }>();

  constructor(private readonly settings: PreviewSettings, private readonly media: MediaRepository, private readonly clock: Clock) {}

  private fetch(url: string): Promise<PolicyFetchResponse> {
    return policyFetch(url, { dns: this.settings.dns, ipPolicy: this.settings.ipPolicy, maxBytes: this.settings.maxBytes, timeoutMs: this.settings.timeoutMs });
  }

  async preview(url: string, userId: UserId): Promise<Preview> {
    const now = this.clock.now();
    const hit = this.cache.get(url);
    if (hit && now - hit.at < CACHE_MS) return hit.preview;
    let res: PolicyFetchResponse;
    try {
      res = await this.fetch(url);
    } catch (e) {
      if (e instanceof PolicyFetchError) {
        if (e.kind === "refused") throw MatrixError.forbidden(`url: ${e.message} (url_preview_ip_range_blacklist)`);
        if (e.kind === "too-large") throw MatrixError.tooLarge(`url: ${e.message} (max_spider_size)`);
        throw new MatrixError("M_UNKNOWN", 502, `url: ${e.message}`);
      }
      throw e;
    }
    if (res.status !== 200) throw new MatrixError("M_UNKNOWN", 502, `url: the page answered ${res.status}`);
    const type = essenceOf(String(res.headers["content-type"] ?? ""));
    let preview: Preview;
    if (type.startsWith("image/")) {
      preview = (await this.storeImage(res.body, type, userId)) ?? {};
    } else if (type === "text/html" || type === "application/xhtml+xml") {
      preview = openGraphOf(res.body.toString("utf8"));
      const image = preview["og:image"];
      if (typeof image === "string") {
        delete preview["og:image"];
        Object.assign(preview, await this.fetchImage(new URL(image, res.url).toString(), userId));
      }
    } else {
      preview = {};
    }
    if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(url, { at: now, preview });
    return preview;
  }

  /** og:image fetched under the same policy and stored as media; nothing when it cannot be (the page still previews). */
  private async fetchImage(url: string, userId: UserId): Promise<Preview> {
    try {
      const r = await this.fetch(url);
      const type = essenceOf(String(r.headers["content-type"] ?? ""));
      if (r.status !== 200 || !type.startsWith("image/")) return {};
      return (await this.storeImage(r.body, type, userId)) ?? {};
    } catch {
      return {};
    }
  }

  private async storeImage(bytes: Buffer, type: string, userId: UserId): Promise<Preview | undefined> {
    try {
      const uri = await this.media.upload({ userId, contentType: type, fileName: null, declaredLength: bytes.length, body: [bytes] });
      const meta = await sharp(bytes, { limitInputPixels: this.media.settings.maxImagePixels }).metadata().catch(() => undefined);
      return {
        "og:image": uri, "og:image:type": type, "matrix:image:size": bytes.length,
        ...(meta?.width ? { "og:image:width": meta.width } : {}), ...(meta?.height ? { "og:image:height": meta.height } : {}),
      };
    } catch {
      return undefined;
    }
  }
}
