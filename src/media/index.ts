export { MediaFiles } from "./files.js";
export { checkContentType, SNIFF_BYTES } from "./content-type.js";
export { THUMBNAILABLE, makeThumbnail, thumbnailType } from "./thumbnailer.js";
export {
  DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS, MediaRepository, newMediaId,
  type MediaSettings, type OpenMedia, type ReadOptions, type RemoteMedia, type RemoteMediaSource, type UploadInput,
} from "./repository.js";
export { federationMediaSource, fileNameOf } from "./remote.js";
export { UrlPreviewer, openGraphOf, type PreviewSettings } from "./preview.js";
