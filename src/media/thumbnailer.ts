/**
 * Thumbnails with sharp (libvips). JPEG originals give JPEG thumbnails, other images PNG (as Synapse), and an
 * animated GIF or WebP asked for with `animated=true` gives an animated WebP. Originals over max_image_pixels are
 * refused before decoding (sharp's limitInputPixels), so a small file that decompresses huge costs nothing.
 */
import sharp, { type Metadata } from "sharp";
import { MatrixError } from "../core/errors.js";
import { thumbnailPixels, type ThumbnailSize } from "../core/media/index.js";

/** The types Zion thumbnails (those Synapse does, less the ones sharp's prebuilt libvips lacks). */
export const THUMBNAILABLE: ReadonlySet<string> = new Set(["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/tiff"]);
const ANIMATABLE: ReadonlySet<string> = new Set(["image/gif", "image/webp"]);

export interface Thumbnail {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
}

/** The type a thumbnail of this original has. */
export function thumbnailType(originalType: string, animated: boolean): string {
  if (animated && ANIMATABLE.has(originalType)) return "image/webp";
  return originalType === "image/jpeg" ? "image/jpeg" : "image/png";
}

export async function makeThumbnail(path: string, originalType: string, box: ThumbnailSize, animated: boolean, maxPixels: number): Promise<Thumbnail> {
  const animate = animated && ANIMATABLE.has(originalType);
  let meta: Metadata;
  try {
    meta = await sharp(path, { limitInputPixels: maxPixels, animated: animate }).metadata();
  } catch (e) {
    throw new MatrixError("M_UNKNOWN", 400, `cannot thumbnail this media: ${(e as Error).message}`);
  }
  // EXIF orientations 5-8 turn the picture a quarter: rotate() below swaps its sides.
  const turned = (meta.orientation ?? 1) >= 5;
  const width = (turned ? meta.pageHeight ?? meta.height : meta.width) ?? 0;
  const frameHeight = (turned ? meta.width : meta.pageHeight ?? meta.height) ?? 0;
  if (width * frameHeight > maxPixels) throw new MatrixError("M_TOO_LARGE", 400, `the image has more than max_image_pixels (${maxPixels}) pixels`);
  const target = thumbnailPixels({ width, height: frameHeight }, box);
  const type = thumbnailType(originalType, animate && (meta.pages ?? 1) > 1);
  try {
    let img = sharp(path, { limitInputPixels: maxPixels, animated: animate }).rotate();
    img = img.resize(target.width, target.height, { fit: box.method === "crop" ? "cover" : "inside", withoutEnlargement: true });
    img = type === "image/jpeg" ? img.jpeg({ quality: 80, mozjpeg: false }) : type === "image/webp" ? img.webp({ quality: 80 }) : img.png();
    const { data, info } = await img.toBuffer({ resolveWithObject: true });
    return { bytes: data, contentType: type, width: info.width, height: info.pageHeight ?? info.height };
  } catch (e) {
    throw new MatrixError("M_UNKNOWN", 400, `cannot thumbnail this media: ${(e as Error).message}`);
  }
}
