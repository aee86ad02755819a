/**
 * The media store on disk (media_store_path): originals under content/ab/cd/<sha256>, thumbnails under
 * thumbnails/ab/cd/<sha256>/<w>x<h>-<method>.<ext>, partial uploads under tmp/. A file is written to tmp/ while
 * its hash is computed and moved into place with one rename, so a reader never sees a partial file.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, type ReadStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import { finished } from "node:stream/promises";
import { MatrixError } from "../core/errors.js";

export interface WrittenTemp {
  readonly tmpPath: string;
  readonly sha256: string;
  readonly size: number;
  /** The first bytes (up to `headBytes`), for sniffing the type. */
  readonly head: Buffer;
}

export class MediaFiles {
  constructor(readonly root: string) {}

  contentPath(sha256: string): string {
    return join(this.root, "content", sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  thumbnailPath(sha256: string, width: number, height: number, method: string, contentType: string): string {
    const ext = contentType.split("/")[1] ?? "bin";
    return join(this.root, "thumbnails", sha256.slice(0, 2), sha256.slice(2, 4), sha256, `${width}x${height}-${method}.${ext}`);
  }

  /**
   * Streams `chunks` into a temporary file, hashing as it goes. More than `maxBytes` fails with 413 M_TOO_LARGE
   * at the chunk that crosses the limit (the rest is not read) and the temporary file is removed.
   */
  async writeTemp(chunks: AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>, maxBytes: number, headBytes: number): Promise<WrittenTemp> {
    const dir = join(this.root, "tmp");
    await mkdir(dir, { recursive: true });
    const tmpPath = join(dir, `${randomBytes(12).toString("hex")}.part`);
    const out = createWriteStream(tmpPath, { flags: "wx" });
    // Kept for the whole write: a pending write failing after destroy() (a refused upload) must not go uncaught.
    let failed: Error | undefined;
    out.on("error", (e) => (failed ??= e));
    const hash = createHash("sha256");
    const head: Buffer[] = [];
    let headLen = 0;
    let size = 0;
    try {
      await once(out, "open");
      for await (const raw of chunks) {
        const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        size += chunk.length;
        if (size > maxBytes) throw MatrixError.tooLarge(`the upload is larger than max_upload_size (${maxBytes} bytes)`);
        hash.update(chunk);
        if (headLen < headBytes) {
          head.push(chunk.subarray(0, headBytes - headLen));
          headLen += Math.min(chunk.length, headBytes - headLen);
        }
        if (!out.write(chunk)) await once(out, "drain");
        if (failed) throw failed;
      }
      out.end();
      await finished(out);
    } catch (e) {
      out.destroy();
      await rm(tmpPath, { force: true });
      throw e;
    }
    return { tmpPath, sha256: hash.digest("hex"), size, head: Buffer.concat(head) };
  }

  /** Moves a temporary file into place as the content of `sha256` (when that content is already there, drops it). */
  async commitContent(tmpPath: string, sha256: string): Promise<void> {
    const path = this.contentPath(sha256);
    if (await exists(path)) {
      await rm(tmpPath, { force: true });
      return;
    }
    await mkdir(join(path, ".."), { recursive: true });
    await rename(tmpPath, path);
  }

  async discard(tmpPath: string): Promise<void> {
    await rm(tmpPath, { force: true });
  }

  hasContent(sha256: string): Promise<boolean> {
    return exists(this.contentPath(sha256));
  }

  readContent(sha256: string): ReadStream {
    return this.readFile(this.contentPath(sha256));
  }

  readFile(path: string): ReadStream {
    return createReadStream(path, { highWaterMark: 256 * 1024 });
  }

  async writeThumbnail(path: string, bytes: Buffer): Promise<void> {
    await mkdir(join(path, ".."), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString("hex")}.part`;
    await writeFile(tmp, bytes, { flag: "wx" });
    await rename(tmp, path);
  }

  /** Removes the original and every thumbnail of a hash no media id refers to any more. */
  async removeContent(sha256: string): Promise<void> {
    await rm(this.contentPath(sha256), { force: true });
    await rm(join(this.root, "thumbnails", sha256.slice(0, 2), sha256.slice(2, 4), sha256), { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
