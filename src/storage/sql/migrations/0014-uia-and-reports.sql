-- User-interactive auth sessions (https://spec.matrix.org/v1.13/client-server-api/#user-interactive-authentication-api)
-- in the database rather than one process's memory: several Zion processes on one PostgreSQL see the same sessions,
-- and a restart between the 401 and the completing request keeps the session. Expired rows are dropped whenever a
-- session is created and by deleteExpired.
CREATE TABLE uia_sessions (
  session_id TEXT NOT NULL PRIMARY KEY,
  -- What the session was started for ("register", "password", "deactivate", ...) and by whom (null: registration).
  operation TEXT NOT NULL,
  user_id TEXT,
  created_ts BIGINT NOT NULL
);
CREATE INDEX uia_sessions_created_ts_idx ON uia_sessions (created_ts);

-- Reports of events (POST /rooms/{roomId}/report/{eventId}) and of rooms (POST /rooms/{roomId}/report), kept for the
-- server admins, listed by Synapse's admin API shape (/_synapse/admin/v1/event_reports). Ids come from the
-- stream_positions rows below (the row lock hands them out one at a time on PostgreSQL).
CREATE TABLE event_reports (
  id BIGINT NOT NULL PRIMARY KEY,
  received_ts BIGINT NOT NULL,
  room_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  reason TEXT,
  -- -100 (most offensive) to 0; null when the client sent none.
  score BIGINT
);
CREATE INDEX event_reports_room_id_idx ON event_reports (room_id);
CREATE INDEX event_reports_user_id_idx ON event_reports (user_id);

CREATE TABLE room_reports (
  id BIGINT NOT NULL PRIMARY KEY,
  received_ts BIGINT NOT NULL,
  room_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  reason TEXT
);
CREATE INDEX room_reports_room_id_idx ON room_reports (room_id);

INSERT INTO stream_positions (stream_name, position) VALUES ('event_reports', 0);
INSERT INTO stream_positions (stream_name, position) VALUES ('room_reports', 0);

-- OpenID tokens (POST /user/{userId}/openid/request_token), which another service checks with the federation's
-- GET /openid/userinfo. Expired rows are dropped whenever a token is created.
CREATE TABLE openid_tokens (
  token TEXT NOT NULL PRIMARY KEY,
  user_id TEXT NOT NULL,
  expires_ts BIGINT NOT NULL
);
CREATE INDEX openid_tokens_expires_ts_idx ON openid_tokens (expires_ts);
