-- Zion's first schema. One text for SQLite and PostgreSQL: BIGINT, INTEGER and TEXT
-- only, booleans as 0/1 integers, JSON as TEXT. Never edit after merge: add 0002-*.sql.

-- Remote servers' verify keys (direct fetches and notary responses).
CREATE TABLE server_keys (
  server_name TEXT NOT NULL,
  key_id TEXT NOT NULL,
  public_key TEXT NOT NULL,
  valid_until_ts BIGINT NOT NULL,
  expired_ts BIGINT,
  fetched_ts BIGINT NOT NULL,
  fetched_from TEXT NOT NULL,
  key_json TEXT NOT NULL,
  PRIMARY KEY (server_name, key_id)
);

-- Stream counters: one row per stream, bumped inside the writing transaction so that
-- positions are handed out in commit order (the row lock serialises writers).
CREATE TABLE stream_positions (
  stream_name TEXT NOT NULL PRIMARY KEY,
  position BIGINT NOT NULL
);
INSERT INTO stream_positions (stream_name, position) VALUES ('events', 0);

CREATE TABLE rooms (
  room_id TEXT NOT NULL PRIMARY KEY,
  room_version TEXT NOT NULL,
  creator TEXT NOT NULL
);

CREATE TABLE events (
  event_id TEXT NOT NULL PRIMARY KEY,
  stream_ordering BIGINT NOT NULL,
  room_id TEXT NOT NULL,
  room_version TEXT NOT NULL,
  type TEXT NOT NULL,
  state_key TEXT,
  sender TEXT NOT NULL,
  depth BIGINT NOT NULL,
  origin_server_ts BIGINT NOT NULL,
  redacts TEXT,
  membership TEXT,
  json TEXT NOT NULL,
  outlier INTEGER NOT NULL CHECK (outlier IN (0, 1)),
  rejection_reason TEXT,
  received_ts BIGINT NOT NULL
);
CREATE UNIQUE INDEX events_stream_ordering_idx ON events (stream_ordering);
CREATE INDEX events_room_id_stream_ordering_idx ON events (room_id, stream_ordering);

-- The DAG: prev_events and auth_events of each stored event.
CREATE TABLE event_edges (
  event_id TEXT NOT NULL,
  prev_event_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  PRIMARY KEY (event_id, prev_event_id)
);
CREATE INDEX event_edges_prev_event_id_idx ON event_edges (prev_event_id);

CREATE TABLE event_auth_edges (
  event_id TEXT NOT NULL,
  auth_event_id TEXT NOT NULL,
  PRIMARY KEY (event_id, auth_event_id)
);

CREATE TABLE event_forward_extremities (
  room_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  PRIMARY KEY (room_id, event_id)
);

CREATE TABLE current_state_events (
  room_id TEXT NOT NULL,
  type TEXT NOT NULL,
  state_key TEXT NOT NULL,
  event_id TEXT NOT NULL,
  PRIMARY KEY (room_id, type, state_key)
);
CREATE INDEX current_state_events_type_state_key_idx ON current_state_events (type, state_key);

CREATE TABLE users (
  user_id TEXT NOT NULL PRIMARY KEY,
  password_hash TEXT,
  created_ts BIGINT NOT NULL,
  admin INTEGER NOT NULL CHECK (admin IN (0, 1)),
  deactivated INTEGER NOT NULL CHECK (deactivated IN (0, 1))
);

CREATE TABLE profiles (
  user_id TEXT NOT NULL PRIMARY KEY,
  displayname TEXT,
  avatar_url TEXT
);

CREATE TABLE devices (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  display_name TEXT,
  created_ts BIGINT NOT NULL,
  last_seen_ts BIGINT,
  PRIMARY KEY (user_id, device_id)
);

-- Only the SHA-256 of each access token is kept.
CREATE TABLE access_tokens (
  token_hash TEXT NOT NULL PRIMARY KEY,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  created_ts BIGINT NOT NULL,
  valid_until_ts BIGINT
);
CREATE INDEX access_tokens_user_id_device_id_idx ON access_tokens (user_id, device_id);

-- Inbound federation transactions, deduplicated per (origin, transaction_id).
CREATE TABLE received_transactions (
  origin TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  response_json TEXT NOT NULL,
  received_ts BIGINT NOT NULL,
  PRIMARY KEY (origin, transaction_id)
);
CREATE INDEX received_transactions_received_ts_idx ON received_transactions (received_ts);

-- Outbound per-destination back-off and catch-up state.
CREATE TABLE destinations (
  destination TEXT NOT NULL PRIMARY KEY,
  failure_ts BIGINT,
  retry_last_ts BIGINT,
  retry_interval_ms BIGINT NOT NULL,
  last_successful_stream_ordering BIGINT
);
CREATE INDEX destinations_failure_ts_idx ON destinations (failure_ts);
