-- Accounts: refresh tokens, the link from an access token to the refresh token it came with, and the address a
-- device was last seen from. Only SHA-256 hashes of tokens are kept, as for access tokens.

-- next_token_hash: the refresh token /refresh issued in exchange for this one. The spec keeps the old token valid
-- until the new access or refresh token is first used (a client that lost the /refresh response can retry).
CREATE TABLE refresh_tokens (
  token_hash TEXT NOT NULL PRIMARY KEY,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  created_ts BIGINT NOT NULL,
  next_token_hash TEXT
);
CREATE INDEX refresh_tokens_user_id_device_id_idx ON refresh_tokens (user_id, device_id);
CREATE INDEX refresh_tokens_next_token_hash_idx ON refresh_tokens (next_token_hash);

-- refresh_token_hash: the refresh token issued with this access token (logging out revokes both).
-- replaces_refresh: 1 until the first use of an access token minted by /refresh (that use retires the old token).
ALTER TABLE access_tokens ADD COLUMN refresh_token_hash TEXT;
ALTER TABLE access_tokens ADD COLUMN replaces_refresh INTEGER NOT NULL DEFAULT 0 CHECK (replaces_refresh IN (0, 1));
CREATE INDEX access_tokens_refresh_token_hash_idx ON access_tokens (refresh_token_hash);

ALTER TABLE devices ADD COLUMN last_seen_ip TEXT;
