/**
 * The media repository (docs/media.md): uploads streamed to disk by content hash with max_upload_size enforced
 * as the bytes arrive, asynchronous uploads (pending ids), downloads, thumbnails generated on demand and cached,
 * remote media fetched once and cached, quarantine and deletion.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { Clock } from "../core/clock.js";
import { MatrixError } from "../core/errors.js";
import type { ServerName, UserId } from "../core/ids/index.js";
import { chooseThumbnailSize, type ThumbnailSize } from "../core/media/index.js";
import { UniqueViolationError, type MediaRecord, type MediaStore, type UserMediaQuery } from "../storage/ports.js";
import { SNIFF_BYTES, checkContentType } from "./content-type.js";
import type { MediaFiles } from "./files.js";
import { THUMBNAILABLE, makeThumbnail, thumbnailType } from "./thumbnailer.js";

export interface MediaSettings {
  readonly serverName: ServerName;
  /** max_upload_size in bytes. */
  readonly maxUploadBytes: number;
  /** max_image_pixels: larger originals are not thumbnailed. */
  readonly maxImagePixels: number;
  /** thumbnail_sizes: what is generated when dynamic_thumbnails is off. */
  readonly thumbnailSizes: readonly ThumbnailSize[];
  /** dynamic_thumbnails: generate the exact requested size instead of the nearest configured one. */
  readonly dynamicThumbnails: boolean;
  /** enable_authenticated_media: new media is marked so and refused by the legacy unauthenticated endpoints. */
  readonly authenticatedMedia: boolean;
  /** unused_expiration_time: how long a POST /create id waits for its upload. */
  readonly unusedExpirationMs: number;
  /** max_pending_media_uploads: pending ids one user may hold at once. */
  readonly maxPendingUploads: number;
}

/** A remote server's file as its federation endpoint (or a redirect, or the legacy endpoint) gave it. */
export interface RemoteMedia {
  readonly contentType: string | undefined;
  readonly fileName: string | null;
  readonly body: AsyncIterable<Uint8Array>;
}

/** Fetches another server's media (app/ wires the federation client in). */
export interface RemoteMediaSource {
  download(origin: ServerName, mediaId: string, opts: { maxBytes: number; timeoutMs: number; signal?: AbortSignal }): Promise<RemoteMedia>;
}

export interface UploadInput {
  readonly userId: UserId;
  readonly contentType: string | undefined;
  readonly fileName: string | null;
  /** The request's Content-Length, when sent: over the limit is refused before a byte is read. */
  readonly declaredLength: number | undefined;
  readonly body: AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>;
}

export interface OpenMedia {
  readonly contentType: string;
  readonly fileName: string | null;
  readonly size: number;
  readonly body: Readable;
}

export interface ReadOptions {
  /** How long to wait for a pending upload (the spec's timeout_ms). */
  readonly timeoutMs: number;
  /** false on the legacy unauthenticated endpoints: media stored as authenticated is then 404. */
  readonly allowAuthenticated: boolean;
  readonly signal?: AbortSignal;
}

/** Synapse's bounds on timeout_ms for downloads and thumbnails. */
export const DEFAULT_TIMEOUT_MS = 20_000;
export const MAX_TIMEOUT_MS = 60_000;
const POLL_MS = 500;

export const newMediaId = (): string => randomBytes(18).toString("base64url").replace(/[-_]/g, "x");

export class MediaRepository {
  /** Per content hash: committing a file and recording it, or dropping a record and removing the file, never interleave. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Remote fetches in flight, so concurrent requests for one remote file fetch it once. */
  private readonly fetching = new Map<string, Promise<MediaRecord>>();

  constructor(
    private readonly store: MediaStore,
    readonly files: MediaFiles,
    private readonly clock: Clock,
    readonly settings: MediaSettings,
    private readonly remote: RemoteMediaSource | undefined = undefined,
  ) {}

  /** POST /upload: the bytes are streamed to disk; nothing is recorded unless all of them arrive under the limit. */
  async upload(input: UploadInput): Promise<string> {
    const mediaId = newMediaId();
    await this.storeBytes(input, async (contentType, sha256, size) => {
      await this.store.recordMedia({
        origin: this.settings.serverName, mediaId, userId: input.userId, contentType, uploadName: input.fileName,
        sha256, size, createdTs: this.clock.now(), authenticated: this.settings.authenticatedMedia,
      });
    });
    return `mxc://${this.settings.serverName}/${mediaId}`;
  }

  /** POST /create: a pending id and when it stops accepting its upload. */
  async createPending(userId: UserId): Promise<{ content_uri: string; unused_expires_at: number }> {
    const mediaId = newMediaId();
    const now = this.clock.now();
    const expiresTs = now + this.settings.unusedExpirationMs;
    const ok = await this.store.reservePending(
      { origin: this.settings.serverName, mediaId, userId, createdTs: now, expiresTs, authenticated: this.settings.authenticatedMedia },
      this.settings.maxPendingUploads,
    );
    if (!ok) {
      throw new MatrixError("M_LIMIT_EXCEEDED", 429, `at most ${this.settings.maxPendingUploads} pending uploads (max_pending_media_uploads) per user`, { retry_after_ms: POLL_MS * 120 });
    }
    return { content_uri: `mxc://${this.settings.serverName}/${mediaId}`, unused_expires_at: expiresTs };
  }

  /** PUT /upload/{serverName}/{mediaId}: the bytes of a pending id of this user. */
  async uploadPending(serverName: string, mediaId: string, input: UploadInput): Promise<void> {
    if (serverName !== this.settings.serverName) throw MatrixError.forbidden(`media of ${serverName} cannot be uploaded to this server`);
    const existing = await this.store.getMedia(serverName, mediaId);
    // Checked before the body is read too, so a refused upload costs no disk.
    this.checkPending(existing, input.userId);
    await this.storeBytes(input, async (contentType, sha256, size) => {
      const outcome = await this.store.completePending(
        { origin: serverName, mediaId, userId: input.userId, contentType, uploadName: input.fileName, sha256, size, createdTs: this.clock.now(), authenticated: this.settings.authenticatedMedia },
        this.clock.now(),
      );
      if (outcome !== "stored") this.checkPending(outcome === "unknown" ? null : await this.store.getMedia(serverName, mediaId), input.userId);
    });
  }

  private checkPending(m: MediaRecord | null, userId: UserId): void {
    if (!m) throw MatrixError.notFound("unknown media id (create one with POST /_matrix/media/v1/create)");
    if (m.sha256 !== null) throw new MatrixError("M_CANNOT_OVERWRITE_MEDIA", 409, "this media id already has its content");
    if (m.userId !== userId) throw MatrixError.forbidden("this media id was created by another user");
    if (m.expiresTs !== null && m.expiresTs <= this.clock.now()) throw MatrixError.notFound("this media id expired before its content was uploaded");
  }

  /** Streams the body into place and runs `record` (a DB write) under the content's lock; undoes the file if it fails. */
  private async storeBytes(input: UploadInput, record: (contentType: string, sha256: string, size: number) => Promise<void>): Promise<void> {
    const max = this.settings.maxUploadBytes;
    if (input.declaredLength !== undefined && input.declaredLength > max) throw MatrixError.tooLarge(`the upload is larger than max_upload_size (${max} bytes)`);
    const temp = await this.files.writeTemp(input.body, max, SNIFF_BYTES);
    let contentType: string;
    try {
      contentType = await checkContentType(input.contentType, temp.head);
    } catch (e) {
      await this.files.discard(temp.tmpPath);
      throw e;
    }
    await this.withLock(temp.sha256, async () => {
      const before = await this.store.contentRefs(temp.sha256);
      await this.files.commitContent(temp.tmpPath, temp.sha256);
      try {
        await record(contentType, temp.sha256, temp.size);
      } catch (e) {
        if (before === 0 && (await this.store.contentRefs(temp.sha256)) === 0) await this.files.removeContent(temp.sha256);
        throw e;
      }
    });
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }

  /** The record of an uploaded file, waiting up to timeoutMs for a pending one; 404 for unknown, quarantined or expired. */
  async resolve(origin: string, mediaId: string, opts: ReadOptions): Promise<MediaRecord & { sha256: string; contentType: string; size: number }> {
    if (origin !== this.settings.serverName) return this.resolveRemote(origin as ServerName, mediaId, opts);
    const until = this.clock.now() + Math.min(Math.max(0, opts.timeoutMs), MAX_TIMEOUT_MS);
    for (;;) {
      const m = await this.store.getMedia(origin, mediaId);
      if (!m || m.quarantinedBy !== null) throw MatrixError.notFound("media not found");
      if (!opts.allowAuthenticated && this.settings.authenticatedMedia && m.authenticated) {
        throw MatrixError.notFound("media not found (this server serves new media only through the authenticated /_matrix/client/v1/media endpoints)");
      }
      if (m.sha256 !== null && m.contentType !== null && m.size !== null) return { ...m, sha256: m.sha256, contentType: m.contentType, size: m.size };
      const now = this.clock.now();
      if (m.expiresTs !== null && m.expiresTs <= now) throw MatrixError.notFound("media not found (expired before it was uploaded)");
      if (now >= until || opts.signal?.aborted) throw new MatrixError("M_NOT_YET_UPLOADED", 504, "the media has not been uploaded yet");
      await this.clock.sleep(Math.min(POLL_MS, until - now));
    }
  }

  private async resolveRemote(origin: ServerName, mediaId: string, opts: ReadOptions): Promise<MediaRecord & { sha256: string; contentType: string; size: number }> {
    const cached = await this.store.getMedia(origin, mediaId);
    const done = (m: MediaRecord) => {
      if (m.quarantinedBy !== null || m.sha256 === null || m.contentType === null || m.size === null) throw MatrixError.notFound("media not found");
      if (!opts.allowAuthenticated && this.settings.authenticatedMedia && m.authenticated) throw MatrixError.notFound("media not found (remote media is served only through the authenticated endpoints)");
      return { ...m, sha256: m.sha256, contentType: m.contentType, size: m.size };
    };
    if (cached) return done(cached);
    // Synapse neither fetches nor serves remote media on the legacy endpoints when authenticated media is on.
    if (!opts.allowAuthenticated && this.settings.authenticatedMedia) throw MatrixError.notFound("media not found");
    if (!this.remote) throw MatrixError.notFound("remote media is not available on this server");
    const key = `${origin}/${mediaId}`;
    let pending = this.fetching.get(key);
    if (!pending) {
      pending = this.fetchRemote(origin, mediaId, opts).finally(() => this.fetching.delete(key));
      this.fetching.set(key, pending);
    }
    return done(await pending);
  }

  private async fetchRemote(origin: ServerName, mediaId: string, opts: ReadOptions): Promise<MediaRecord> {
    const got = await this.remote!.download(origin, mediaId, { maxBytes: this.settings.maxUploadBytes, timeoutMs: Math.max(opts.timeoutMs, 1000), ...(opts.signal ? { signal: opts.signal } : {}) });
    const temp = await this.files.writeTemp(got.body, this.settings.maxUploadBytes, SNIFF_BYTES);
    // A remote server's declared type is kept (its own check ran there); a missing one is sniffed.
    const contentType = got.contentType?.trim() ? got.contentType.trim() : await checkContentType(undefined, temp.head);
    await this.withLock(temp.sha256, async () => {
      await this.files.commitContent(temp.tmpPath, temp.sha256);
      try {
        await this.store.recordMedia({
          origin, mediaId, userId: null, contentType, uploadName: got.fileName, sha256: temp.sha256, size: temp.size,
          createdTs: this.clock.now(), authenticated: this.settings.authenticatedMedia,
        });
      } catch (e) {
        if (!(e instanceof UniqueViolationError)) {
          if ((await this.store.contentRefs(temp.sha256)) === 0) await this.files.removeContent(temp.sha256);
          throw e;
        }
      }
    });
    const m = await this.store.getMedia(origin, mediaId);
    if (!m) throw MatrixError.notFound("media not found");
    return m;
  }

  async download(origin: string, mediaId: string, opts: ReadOptions): Promise<OpenMedia> {
    const m = await this.resolve(origin, mediaId, opts);
    return { contentType: m.contentType, fileName: m.uploadName, size: m.size, body: this.files.readContent(m.sha256) };
  }

  /** A thumbnail: from the cache, else generated from the original and cached. */
  async thumbnail(origin: string, mediaId: string, requested: ThumbnailSize, animated: boolean, opts: ReadOptions): Promise<OpenMedia> {
    const m = await this.resolve(origin, mediaId, opts);
    const type = m.contentType.split(";")[0]!.trim().toLowerCase();
    if (!THUMBNAILABLE.has(type)) throw new MatrixError("M_UNKNOWN", 400, `cannot thumbnail media of type ${type}`);
    const box = this.settings.dynamicThumbnails ? requested : chooseThumbnailSize(requested, this.settings.thumbnailSizes);
    const outType = thumbnailType(type, animated);
    const cached = (await this.store.getThumbnails(m.sha256)).find((t) => t.width === box.width && t.height === box.height && t.method === box.method && t.contentType === outType);
    const path = this.files.thumbnailPath(m.sha256, box.width, box.height, box.method, outType);
    if (cached) {
      return { contentType: cached.contentType, fileName: null, size: cached.size, body: this.files.readFile(path) };
    }
    const made = await makeThumbnail(this.files.contentPath(m.sha256), type, box, animated, this.settings.maxImagePixels);
    await this.withLock(m.sha256, async () => {
      if ((await this.store.contentRefs(m.sha256)) === 0) return; // deleted meanwhile: cache nothing
      await this.files.writeThumbnail(path, made.bytes);
      await this.store.recordThumbnail({ sha256: m.sha256, width: box.width, height: box.height, method: box.method, contentType: made.contentType, size: made.bytes.length });
    });
    return { contentType: made.contentType, fileName: null, size: made.bytes.length, body: Readable.from([made.bytes]) };
  }

  /** The record of a media id, local or cached remote (admin API), or null. */
  info(origin: string, mediaId: string): Promise<MediaRecord | null> {
    return this.store.getMedia(origin, mediaId);
  }

  /** A page of a user's uploads (admin API). */
  listUserMedia(q: UserMediaQuery): Promise<{ readonly media: readonly MediaRecord[]; readonly total: number }> {
    return this.store.listUserMedia(q);
  }

  /** Quarantine (admin): the media is then 404 everywhere; its bytes stay (other ids may share them). */
  quarantine(origin: string, mediaId: string, by: string | null): Promise<boolean> {
    return this.store.quarantine(origin, mediaId, by);
  }

  /** Lifts a quarantine (admin). */
  unquarantine(origin: string, mediaId: string): Promise<boolean> {
    return this.store.unquarantine(origin, mediaId);
  }

  /** Deletion (admin): the id goes, and the file with its thumbnails when no other id shares the bytes. */
  async delete(origin: string, mediaId: string): Promise<boolean> {
    const m = await this.store.getMedia(origin, mediaId);
    if (!m) return false;
    const run = async (): Promise<boolean> => {
      const r = await this.store.deleteMedia(origin, mediaId);
      if (r?.orphaned) await this.files.removeContent(r.orphaned);
      return r !== null;
    };
    return m.sha256 === null ? run() : this.withLock(m.sha256, run);
  }
}
