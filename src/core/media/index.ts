export { INLINE_CONTENT_TYPES, MEDIA_CONTENT_SECURITY_POLICY, contentDisposition, essenceOf, mediaHeaders } from "./headers.js";
export { DEFAULT_THUMBNAIL_SIZES, chooseThumbnailSize, thumbnailPixels, type ThumbnailMethod, type ThumbnailSize } from "./thumbnail-size.js";
export { parseMediaId, type MediaId } from "./media-id.js";
export { multipartBoundary, multipartFrame, parseMultipart, type MultipartPart } from "./multipart.js";
