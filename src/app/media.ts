/** Builds the media repository from homeserver.yaml (docs/media.md, docs/configuration.md). */
import type { HomeserverConfig } from "../config/index.js";
import type { Clock } from "../core/clock.js";
import { MediaFiles, MediaRepository, type MediaSettings, type RemoteMediaSource } from "../media/index.js";
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
