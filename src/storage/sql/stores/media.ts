/** MediaStore over SQL: media ids, reference-counted content hashes and cached thumbnails (docs/media.md). */
import type { UserId } from "../../../core/ids/index.js";
import type { MediaRecord, MediaStore, MediaThumbnailRecord, NewMediaContent, UserMediaOrder } from "../../ports.js";
import { bool, exec, num, numOrNull, query, queryOne, str, strOrNull, type Row, type SqlRunner, type UnitOfWork } from "../uow.js";

/** Columns by order_by (a fixed list: the value never reaches the SQL text); NULLs sort as the empty value. */
const MEDIA_ORDER: Record<UserMediaOrder, string> = {
  media_id: "media_id",
  upload_name: "COALESCE(upload_name, '')",
  created_ts: "created_ts",
  media_length: "COALESCE(size, 0)",
  media_type: "COALESCE(content_type, '')",
  quarantined_by: "COALESCE(quarantined_by, '')",
};

const COLUMNS = "origin, media_id, user_id, content_type, upload_name, sha256, size, created_ts, expires_ts, quarantined_by, authenticated";

function mediaOf(r: Row): MediaRecord {
  return {
    origin: str(r["origin"]),
    mediaId: str(r["media_id"]),
    userId: strOrNull(r["user_id"]) as UserId | null,
    contentType: strOrNull(r["content_type"]),
    uploadName: strOrNull(r["upload_name"]),
    sha256: strOrNull(r["sha256"]),
    size: numOrNull(r["size"]),
    createdTs: num(r["created_ts"]),
    expiresTs: numOrNull(r["expires_ts"]),
    quarantinedBy: strOrNull(r["quarantined_by"]),
    authenticated: bool(r["authenticated"]),
  };
}

/** One more reference to the bytes; true when they were new. */
function* addRef(sha256: string, size: number): UnitOfWork<boolean> {
  const changed = yield* exec("UPDATE media_contents SET refs = refs + 1 WHERE sha256 = ?", sha256);
  if (changed > 0) return false;
  yield* exec("INSERT INTO media_contents (sha256, size, refs) VALUES (?, ?, 1)", sha256, size);
  return true;
}

export function sqlMediaStore(db: SqlRunner): MediaStore {
  return {
    reservePending(r, maxPending) {
      return db.write(function* () {
        const held = yield* queryOne(
          "SELECT COUNT(*) AS n FROM media WHERE user_id = ? AND sha256 IS NULL AND expires_ts > ?",
          r.userId, r.createdTs,
        );
        if (num(held?.["n"] ?? 0) >= maxPending) return false;
        yield* exec(
          "INSERT INTO media (origin, media_id, user_id, created_ts, expires_ts, authenticated) VALUES (?, ?, ?, ?, ?, ?)",
          r.origin, r.mediaId, r.userId, r.createdTs, r.expiresTs, r.authenticated ? 1 : 0,
        );
        return true;
      });
    },

    recordMedia(m: NewMediaContent) {
      return db.write(function* () {
        yield* exec(
          `INSERT INTO media (origin, media_id, user_id, content_type, upload_name, sha256, size, created_ts, authenticated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          m.origin, m.mediaId, m.userId, m.contentType, m.uploadName, m.sha256, m.size, m.createdTs, m.authenticated ? 1 : 0,
        );
        return yield* addRef(m.sha256, m.size);
      });
    },

    completePending(m, nowTs) {
      return db.write(function* () {
        const r = yield* queryOne("SELECT user_id, sha256, expires_ts FROM media WHERE origin = ? AND media_id = ?", m.origin, m.mediaId);
        if (!r) return "unknown" as const;
        if (r["sha256"] !== null && r["sha256"] !== undefined) return "already-uploaded" as const;
        if (strOrNull(r["user_id"]) !== m.userId) return "not-owner" as const;
        if (num(r["expires_ts"]) <= nowTs) return "expired" as const;
        yield* exec(
          "UPDATE media SET content_type = ?, upload_name = ?, sha256 = ?, size = ?, expires_ts = NULL WHERE origin = ? AND media_id = ?",
          m.contentType, m.uploadName, m.sha256, m.size, m.origin, m.mediaId,
        );
        yield* addRef(m.sha256, m.size);
        return "stored" as const;
      });
    },

    getMedia(origin, mediaId) {
      return db.read(function* () {
        const r = yield* queryOne(`SELECT ${COLUMNS} FROM media WHERE origin = ? AND media_id = ?`, origin, mediaId);
        return r ? mediaOf(r) : null;
      });
    },

    contentRefs(sha256) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT refs FROM media_contents WHERE sha256 = ?", sha256);
        return r ? num(r["refs"]) : 0;
      });
    },

    getThumbnails(sha256) {
      return db.read(function* () {
        const rows = yield* query("SELECT sha256, width, height, method, content_type, size FROM media_thumbnails WHERE sha256 = ?", sha256);
        return rows.map((r): MediaThumbnailRecord => ({
          sha256: str(r["sha256"]),
          width: num(r["width"]),
          height: num(r["height"]),
          method: str(r["method"]) === "crop" ? "crop" : "scale",
          contentType: str(r["content_type"]),
          size: num(r["size"]),
        }));
      });
    },

    recordThumbnail(t) {
      return db.write(function* () {
        yield* exec(
          `INSERT INTO media_thumbnails (sha256, width, height, method, content_type, size) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (sha256, width, height, method, content_type) DO NOTHING`,
          t.sha256, t.width, t.height, t.method, t.contentType, t.size,
        );
      });
    },

    quarantine(origin, mediaId, by) {
      return db.write(function* () {
        return (yield* exec("UPDATE media SET quarantined_by = ? WHERE origin = ? AND media_id = ?", by ?? "", origin, mediaId)) > 0;
      });
    },

    unquarantine(origin, mediaId) {
      return db.write(function* () {
        return (yield* exec("UPDATE media SET quarantined_by = NULL WHERE origin = ? AND media_id = ?", origin, mediaId)) > 0;
      });
    },

    deleteMedia(origin, mediaId) {
      return db.write(function* () {
        const r = yield* queryOne("SELECT sha256 FROM media WHERE origin = ? AND media_id = ?", origin, mediaId);
        if (!r) return null;
        yield* exec("DELETE FROM media WHERE origin = ? AND media_id = ?", origin, mediaId);
        const sha256 = strOrNull(r["sha256"]);
        if (sha256 === null) return { orphaned: null };
        yield* exec("UPDATE media_contents SET refs = refs - 1 WHERE sha256 = ?", sha256);
        const left = yield* queryOne("SELECT refs FROM media_contents WHERE sha256 = ?", sha256);
        if (left && num(left["refs"]) > 0) return { orphaned: null };
        yield* exec("DELETE FROM media_contents WHERE sha256 = ?", sha256);
        yield* exec("DELETE FROM media_thumbnails WHERE sha256 = ?", sha256);
        return { orphaned: sha256 };
      });
    },

    listUserMedia(q) {
      return db.read(function* () {
        const dir = q.dir === "b" ? "DESC" : "ASC";
        const total = num((yield* queryOne("SELECT COUNT(*) AS n FROM media WHERE user_id = ?", q.userId))!["n"]);
        const rows = yield* query(
          `SELECT ${COLUMNS} FROM media WHERE user_id = ? ORDER BY ${MEDIA_ORDER[q.orderBy]} ${dir}, media_id ${dir} LIMIT ? OFFSET ?`,
          q.userId, q.limit, q.from,
        );
        return { media: rows.map(mediaOf), total };
      });
    },
  };
}
