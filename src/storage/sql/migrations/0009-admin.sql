-- Admin API (docs/admin-api.md): registration tokens, as Synapse's registration_tokens table.
-- uses_allowed NULL: unlimited; expiry_time NULL: never (ms since the epoch). pending counts registrations that
-- completed the m.login.registration_token stage but not yet the whole registration; completed, those finished.
CREATE TABLE registration_tokens (
  token TEXT NOT NULL PRIMARY KEY,
  uses_allowed INTEGER CHECK (uses_allowed IS NULL OR uses_allowed >= 0),
  pending INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
  completed INTEGER NOT NULL DEFAULT 0 CHECK (completed >= 0),
  expiry_time BIGINT
);
CREATE INDEX users_created_ts_idx ON users (created_ts);
