-- Sync's persisted streams beside the event stream (docs/sync.md): read receipts, presence and push rules. Each
-- takes its positions from the per-user stream counters of 0004 (user_stream_positions), so a /sync token's
-- position in them survives a restart.
INSERT INTO user_stream_positions (stream, position) VALUES ('receipts', 0), ('presence', 0), ('push_rules', 0);

-- The latest receipt of each (room, type, user, thread): m.read and m.read.private, thread_id '' for an
-- unthreaded receipt. stream_id: the receipts stream position of the last change.
CREATE TABLE receipts (
  room_id TEXT NOT NULL,
  receipt_type TEXT NOT NULL,
  user_id TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  ts BIGINT NOT NULL,
  stream_id BIGINT NOT NULL,
  PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
);
CREATE INDEX receipts_room_id_stream_id_idx ON receipts (room_id, stream_id);

-- Presence of local users (presence.enabled): the state they set, its message and when they were last active.
CREATE TABLE presence (
  user_id TEXT NOT NULL PRIMARY KEY,
  state TEXT NOT NULL,
  status_msg TEXT,
  last_active_ts BIGINT NOT NULL,
  stream_id BIGINT NOT NULL
);
CREATE INDEX presence_stream_id_idx ON presence (stream_id);

-- A user's own push rules and changes to the server-default ones (core/push's UserPushRules as JSON).
CREATE TABLE push_rules (
  user_id TEXT NOT NULL PRIMARY KEY,
  rules_json TEXT NOT NULL,
  stream_id BIGINT NOT NULL
);
