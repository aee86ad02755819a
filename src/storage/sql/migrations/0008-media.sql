-- Media repository (docs/media.md). Files live on disk under media_store_path, named by the SHA-256 of their
-- bytes; media_contents counts the media ids (local and cached remote) that point at each file, so identical
-- uploads are stored once and a file is removed when its last media id goes.

CREATE TABLE media_contents (
  sha256 TEXT NOT NULL PRIMARY KEY,
  size BIGINT NOT NULL,
  refs BIGINT NOT NULL CHECK (refs >= 0)
);

-- One row per media id: a local upload (origin = our server name) or a remote file cached for local clients.
-- sha256 is NULL while an asynchronous upload (POST /create) waits for its bytes, until expires_ts.
CREATE TABLE media (
  origin TEXT NOT NULL,
  media_id TEXT NOT NULL,
  user_id TEXT,
  content_type TEXT,
  upload_name TEXT,
  sha256 TEXT,
  size BIGINT,
  created_ts BIGINT NOT NULL,
  expires_ts BIGINT,
  quarantined_by TEXT,
  -- 1 when stored while enable_authenticated_media was on: the legacy unauthenticated endpoints then answer 404.
  authenticated INTEGER NOT NULL DEFAULT 1 CHECK (authenticated IN (0, 1)),
  PRIMARY KEY (origin, media_id)
);
CREATE INDEX media_user_id_created_ts_idx ON media (user_id, created_ts);
CREATE INDEX media_sha256_idx ON media (sha256);

-- Thumbnails generated on demand, cached per file (keyed by the original's hash, so identical uploads share them)
-- and removed with the file. Their bytes live under media_store_path/thumbnails/.
CREATE TABLE media_thumbnails (
  sha256 TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  method TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  PRIMARY KEY (sha256, width, height, method, content_type)
);
