/** Builds the media repository from homeserver.yaml (docs/media.md, docs/configuration.md). */
import type { HomeserverConfig } from "../config/index.js";
import type { Clock } from "../core/clock.js";
import { IpRangePolicy, type Dns } from "../federation/discovery/index.js";
import { MediaFiles, MediaRepository, UrlPreviewer, type MediaSettings, type RemoteMediaSource } from "../media/index.js";
import { StartupError } from "./errors.js";
import type { Storage } from "../storage/ports.js";

export function mediaSettings(config: HomeserverConfig): MediaSettings {
  return {
    serverName: config.server_name,
    maxUploadBytes: config.max_upload_size,
    maxImagePixels: config.max_image_pixels,
    thumbnailSizes: config.thumbnail_sizes,
    dynamicThumbnails: config.dynamic_thumbnails,
    authenticatedMedia: config.enable_authenticated_media,
    unusedExpirationMs: config.unused_expiration_time,
    maxPendingUploads: config.max_pending_media_uploads,
  };
}

export function createMediaRepository(config: HomeserverConfig, storage: Storage, clock: Clock, remote?: RemoteMediaSource): MediaRepository {
  return new MediaRepository(storage.media, new MediaFiles(config.media_store_path), clock, mediaSettings(config), remote);
}

/** Time a preview fetch (page or image) may take. */
const PREVIEW_TIMEOUT_MS = 10_000;

/**
 * URL previews when url_preview_enabled, under their own address policy. As Synapse, Zion refuses to start with
 * previews on and no url_preview_ip_range_blacklist: the operator must say which addresses the server may fetch.
 */
export function createUrlPreviewer(config: HomeserverConfig, media: MediaRepository, clock: Clock, dns: Dns): UrlPreviewer | undefined {
  if (!config.url_preview_enabled) return undefined;
  if (config.url_preview_ip_range_blacklist === undefined) {
    throw new StartupError([
      "url_preview_enabled: true needs url_preview_ip_range_blacklist (the address ranges previews may not fetch from, e.g. the private ranges of ip_range_blacklist), as Synapse requires",
    ]);
  }
  const ipPolicy = new IpRangePolicy(config.url_preview_ip_range_blacklist, config.url_preview_ip_range_whitelist);
  return new UrlPreviewer({ dns, ipPolicy, maxBytes: config.max_spider_size, timeoutMs: PREVIEW_TIMEOUT_MS }, media, clock);
}
