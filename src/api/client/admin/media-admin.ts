/**
 * The admin API's media management (Synapse's docs/admin_api/media_admin_api.md and the user media list of
 * user_admin_api.md): a user's uploads listed and deleted, one media id's details, quarantine (and its undoing) of
 * one id or of everything a user uploaded, deletion of a local id. Shared by the routes beside this file.
 */
import { MatrixError } from "../../../core/errors.js";
import type { ServerName, UserId } from "../../../core/ids/index.js";
import type { MediaRepository } from "../../../media/index.js";
import type { MediaRecord, UserMediaOrder, UserMediaQuery } from "../../../storage/ports.js";
import { dirParam, intParam } from "./service.js";

export interface MediaAdminDeps {
  readonly media: MediaRepository;
  readonly serverName: ServerName;
}

/** A media id as Synapse's admin API shows it. Zion records no last access nor protection from quarantine. */
export function mediaEntry(m: MediaRecord) {
  return {
    media_id: m.mediaId,
    media_type: m.contentType,
    media_length: m.size,
    upload_name: m.uploadName,
    created_ts: m.createdTs,
    last_access_ts: null,
    quarantined_by: m.quarantinedBy,
    safe_from_quarantine: false,
  };
}

const MEDIA_ORDER: Readonly<Record<string, UserMediaOrder>> = {
  media_id: "media_id", upload_name: "upload_name", created_ts: "created_ts", media_length: "media_length",
  media_type: "media_type", quarantined_by: "quarantined_by",
  // Orders on what Zion does not record fall back to the creation time (their values would all be equal).
  last_access_ts: "created_ts", safe_from_quarantine: "created_ts",
};

export interface UserMediaParams {
  readonly from?: string | undefined;
  readonly limit?: string | undefined;
  readonly order_by?: string | undefined;
  readonly dir?: string | undefined;
}

/** The query of GET/DELETE /_synapse/admin/v1/users/{userId}/media (default: oldest first, 100 at a time). */
export function userMediaQuery(userId: UserId, p: UserMediaParams): UserMediaQuery {
  const orderBy = MEDIA_ORDER[p.order_by ?? "created_ts"];
  if (!orderBy) throw new MatrixError("M_INVALID_PARAM", 400, `order_by: unknown value; one of ${Object.keys(MEDIA_ORDER).join(", ")}`);
  const limit = intParam(p.limit, "limit", 100);
  if (limit < 1 || limit > 1000) throw new MatrixError("M_INVALID_PARAM", 400, "limit: must be between 1 and 1000");
  return { userId, from: intParam(p.from, "from", 0), limit, orderBy, dir: dirParam(p.dir) };
}

/** GET /_synapse/admin/v1/users/{userId}/media: `{media, total, next_token?}`. */
export async function listUserMedia(deps: MediaAdminDeps, q: UserMediaQuery) {
  const { media, total } = await deps.media.listUserMedia(q);
  const next = q.from + media.length;
  return { media: media.map(mediaEntry), total, ...(next < total ? { next_token: next } : {}) };
}

/** DELETE /_synapse/admin/v1/users/{userId}/media: deletes the page of the user's uploads the query selects. */
export async function deleteUserMedia(deps: MediaAdminDeps, q: UserMediaQuery) {
  const { media } = await deps.media.listUserMedia(q);
  const deleted: string[] = [];
  for (const m of media) if (await deps.media.delete(m.origin, m.mediaId)) deleted.push(m.mediaId);
  return { deleted_media: deleted, total: deleted.length };
}

/** The whole list of a user's uploads, a page at a time. */
async function* allUserMedia(deps: MediaAdminDeps, userId: UserId): AsyncGenerator<MediaRecord> {
  for (let from = 0; ; from += 500) {
    const { media } = await deps.media.listUserMedia({ userId, from, limit: 500, orderBy: "media_id", dir: "f" });
    yield* media;
    if (media.length < 500) return;
  }
}

/** POST /_synapse/admin/v1/user/{userId}/media/quarantine: every upload of the user; `{num_quarantined}`. */
export async function quarantineUserMedia(deps: MediaAdminDeps, admin: UserId, userId: UserId) {
  let n = 0;
  for await (const m of allUserMedia(deps, userId)) if (m.quarantinedBy === null && (await deps.media.quarantine(m.origin, m.mediaId, admin))) n++;
  return { num_quarantined: n };
}

async function existing(deps: MediaAdminDeps, origin: string, mediaId: string): Promise<MediaRecord> {
  const m = await deps.media.info(origin, mediaId);
  if (!m) throw MatrixError.notFound(`Unknown media: mxc://${origin}/${mediaId}`);
  return m;
}

/** GET /_synapse/admin/v1/media/{serverName}/{mediaId}: `{media_info}` (local uploads and cached remote media). */
export async function mediaInfo(deps: MediaAdminDeps, origin: string, mediaId: string) {
  const m = await existing(deps, origin, mediaId);
  return { media_info: { ...mediaEntry(m), media_origin: m.origin, user_id: m.userId, authenticated: m.authenticated } };
}

/** POST /_synapse/admin/v1/media/quarantine|unquarantine/{serverName}/{mediaId}: `{}`; 404 for an unknown id. */
export async function setQuarantine(deps: MediaAdminDeps, admin: UserId | null, origin: string, mediaId: string, quarantined: boolean) {
  await existing(deps, origin, mediaId);
  if (quarantined) await deps.media.quarantine(origin, mediaId, admin);
  else await deps.media.unquarantine(origin, mediaId);
  return {};
}

/** DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}: local media only (400 otherwise, as Synapse). */
export async function deleteMedia(deps: MediaAdminDeps, origin: string, mediaId: string) {
  if (origin !== deps.serverName) throw new MatrixError("M_UNKNOWN", 400, `Can only delete local media (${origin} is not ${deps.serverName})`);
  await existing(deps, origin, mediaId);
  await deps.media.delete(origin, mediaId);
  return { deleted_media: [mediaId], total: 1 };
}
