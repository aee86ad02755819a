/**
 * Thumbnail sizing (pure). https://spec.matrix.org/v1.16/client-server-api/#thumbnails
 * "scale" keeps the original's aspect ratio inside the requested box; "crop" fills the box exactly. A server
 * never upscales, and never returns a thumbnail smaller than asked unless the original is smaller.
 */
export type ThumbnailMethod = "crop" | "scale";

export interface ThumbnailSize {
  readonly width: number;
  readonly height: number;
  readonly method: ThumbnailMethod;
}

/** Synapse's default thumbnail_sizes (the spec's recommended set). */
export const DEFAULT_THUMBNAIL_SIZES: readonly ThumbnailSize[] = [
  { width: 32, height: 32, method: "crop" },
  { width: 96, height: 96, method: "crop" },
  { width: 320, height: 240, method: "scale" },
  { width: 640, height: 480, method: "scale" },
  { width: 800, height: 600, method: "scale" },
];

/**
 * Which configured size answers a request (dynamic_thumbnails off): of the sizes with the requested method (all of
 * them when none has it), the smallest that covers the requested box, else the largest.
 */
export function chooseThumbnailSize(requested: ThumbnailSize, sizes: readonly ThumbnailSize[]): ThumbnailSize {
  const same = sizes.filter((s) => s.method === requested.method);
  const pool = same.length > 0 ? same : sizes;
  const area = (s: ThumbnailSize): number => s.width * s.height;
  const covering = pool.filter((s) => s.width >= requested.width && s.height >= requested.height).sort((a, b) => area(a) - area(b));
  const chosen = covering[0] ?? [...pool].sort((a, b) => area(b) - area(a))[0];
  return chosen ?? requested;
}

/**
 * The pixel size of the thumbnail of an original of `w`×`h` for a box: scale fits inside it keeping the aspect
 * ratio, crop has the box's aspect ratio; both are shrunk (never enlarged) so that no side exceeds the original.
 */
export function thumbnailPixels(original: { width: number; height: number }, box: ThumbnailSize): { width: number; height: number } {
  const { width: w, height: h } = original;
  if (box.method === "scale") {
    const f = Math.min(1, box.width / w, box.height / h);
    return { width: Math.max(1, Math.round(w * f)), height: Math.max(1, Math.round(h * f)) };
  }
  const f = Math.min(1, w / box.width, h / box.height);
  return { width: Math.max(1, Math.round(box.width * f)), height: Math.max(1, Math.round(box.height * f)) };
}
