-- Push actions computed when an event is persisted (https://spec.matrix.org/v1.13/client-server-api/#push-notifications):
-- one row per (local user, event) whose push rules said notify, written in the event's own transaction (like
-- Synapse's event_push_actions). The unread counts of /sync and sliding sync count these rows after the user's read
-- receipt, /notifications lists them, and each http pusher delivers the rows after its last_stream_ordering.
CREATE TABLE event_push_actions (
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  -- The event's (forward) stream ordering: counts and deliveries go by it.
  stream_ordering BIGINT NOT NULL,
  -- The m.thread root the event belongs to, or NULL for the main timeline.
  thread_id TEXT,
  highlight INTEGER NOT NULL CHECK (highlight IN (0, 1)),
  -- The matching rule's actions as JSON text (the notification's actions and tweaks).
  actions_json TEXT NOT NULL,
  PRIMARY KEY (user_id, event_id)
);
CREATE INDEX event_push_actions_user_id_room_id_stream_ordering_idx ON event_push_actions (user_id, room_id, stream_ordering);
CREATE INDEX event_push_actions_user_id_stream_ordering_idx ON event_push_actions (user_id, stream_ordering);

-- Each pusher's delivery position: the stream ordering of the last push action sent to (or skipped for) its
-- gateway; set to the newest at creation, so a new pusher is not sent history. failing_since: when the current run
-- of failed attempts began (NULL while delivering).
ALTER TABLE pushers ADD COLUMN last_stream_ordering BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pushers ADD COLUMN failing_since BIGINT;
