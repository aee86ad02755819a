/**
 * The declared Content-Type of an upload checked against its first bytes (file-type). Zion refuses an upload
 * that declares an image type the bytes are not (400 M_INVALID_PARAM), where Synapse stores whatever was declared:
 * a thumbnailer and every client trust an image/* type, and a mislabelled file is a bug or an attack
 * (docs/interop.md). Other declared types are kept as sent; a missing one becomes the sniffed type, else
 * application/octet-stream.
 */
import { fileTypeFromBuffer } from "file-type";
import { MatrixError } from "../core/errors.js";
import { essenceOf } from "../core/media/index.js";

/** What file-type needs to see to decide (its reasonableDetectionSizeInBytes). */
export const SNIFF_BYTES = 4100;

/** Names browsers and clients use for one type. */
const ALIASES: Readonly<Record<string, string>> = { "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png" };

/** Image types file-type cannot recognise from bytes (text formats), which are taken as declared. */
const UNSNIFFABLE_IMAGES = new Set(["image/svg+xml"]);

export async function checkContentType(declared: string | undefined, head: Buffer): Promise<string> {
  const sniffed = await fileTypeFromBuffer(head);
  if (declared === undefined || declared.trim() === "") return sniffed?.mime ?? "application/octet-stream";
  const essence = essenceOf(declared);
  const normal = ALIASES[essence] ?? essence;
  if (normal.startsWith("image/") && !UNSNIFFABLE_IMAGES.has(normal) && sniffed?.mime !== normal) {
    const found = sniffed ? `the bytes are ${sniffed.mime}` : "the bytes are not an image file-type recognises";
    throw MatrixError.invalidParam("Content-Type", `declared ${essence}, but ${found}`);
  }
  return declared.trim();
}
