/**
 * The media repository's HTTP surface (docs/media.md): /_matrix/media/* (resource "media", also mounted where
 * "client" or "federation" is, as Synapse does) and /_matrix/client/v1/media/*. This file only lists routes.
 */
import type { Route } from "../http/index.js";
import { mediaConfig } from "./config.js";
import { createMedia } from "./create.js";
import type { MediaDeps } from "./deps.js";
import { download, downloadWithName } from "./download.js";
import { legacyConfig, legacyDownload, legacyDownloadWithName, legacyThumbnail } from "./legacy.js";
import { legacyPreviewUrl, previewUrl } from "./preview-url.js";
import { thumbnail } from "./thumbnail.js";
import { upload } from "./upload.js";
import { uploadPending } from "./upload-pending.js";

const v3 = [upload, uploadPending, legacyDownload, legacyDownloadWithName, legacyThumbnail, legacyConfig, legacyPreviewUrl] as readonly Route<MediaDeps>[];
const r0 = (r: Route<MediaDeps>): Route<MediaDeps> => ({ ...r, path: r.path.replace("/_matrix/media/v3/", "/_matrix/media/r0/") });

export const mediaRoutes: readonly Route<MediaDeps>[] = [
  ...v3,
  ...v3.map(r0),
  createMedia,
  download, downloadWithName, thumbnail, mediaConfig, previewUrl,
] as readonly Route<MediaDeps>[];

export type { MediaDeps } from "./deps.js";
