-- Push actions keyed by (user_id, room_id, stream_ordering) instead of (user_id, event_id), in a WITHOUT ROWID
-- table: the rows are stored in that key's order, so the unread count of one user's room is a range scan of the
-- table itself, and an insert updates two B-trees (the table and the (user_id, stream_ordering) index) instead of
-- four (the rowid table, the old key, and both indexes). Every timeline event has one forward stream ordering, so
-- the new key is unique exactly when the old one was (docs/storage.md, "Push actions").
CREATE TABLE event_push_actions_keyed (
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  stream_ordering BIGINT NOT NULL,
  thread_id TEXT,
  highlight INTEGER NOT NULL CHECK (highlight IN (0, 1)),
  actions_json TEXT NOT NULL,
  PRIMARY KEY (user_id, room_id, stream_ordering)
) WITHOUT ROWID;
INSERT INTO event_push_actions_keyed (user_id, room_id, event_id, stream_ordering, thread_id, highlight, actions_json)
  SELECT user_id, room_id, event_id, stream_ordering, thread_id, highlight, actions_json FROM event_push_actions
  ORDER BY user_id, room_id, stream_ordering;
DROP TABLE event_push_actions;
ALTER TABLE event_push_actions_keyed RENAME TO event_push_actions;
CREATE INDEX event_push_actions_user_id_stream_ordering_idx ON event_push_actions (user_id, stream_ordering);
