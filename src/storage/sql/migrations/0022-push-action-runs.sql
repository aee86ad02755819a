-- Push actions stored as runs (docs/storage.md, "Push actions"): one row per user, room, batch and bucket of 64
-- stream orderings holding every action of that user the batch wrote in the bucket with the same thread, highlight
-- and actions, instead of one row per (user, event). An event in a room of n local members added n - 1 rows, one in
-- each member's part of both B-trees, so each commit dirtied two pages per member and the push-action rows were most
-- of the writer's work. Now a batch of k messages adds about one row per member instead of k, and it adds them to
-- event_push_action_runs_recent, which is small (persistWork moves its rows into event_push_action_runs each time
-- the stream passes a multiple of 256), so the members' rows share a few pages; the big table takes them 256
-- orderings at a time. A run never spans two buckets (first_ordering / 64 = last_ordering / 64), so a read that
-- starts at a stream ordering starts at its bucket's first ordering and needs no index on last_ordering. Existing
-- rows are grouped by bucket alone.
CREATE TABLE event_push_action_runs (
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  -- The lowest and highest stream ordering of the run's events, and how many they are.
  first_ordering BIGINT NOT NULL,
  last_ordering BIGINT NOT NULL,
  n INTEGER NOT NULL,
  -- The m.thread root the events belong to, or NULL for the main timeline.
  thread_id TEXT,
  highlight INTEGER NOT NULL CHECK (highlight IN (0, 1)),
  -- The matching rule's actions as JSON text, the same for every event of the run.
  actions_json TEXT NOT NULL,
  -- The events' stream orderings, ascending, as a JSON array (their event ids are the events table's).
  orderings_json TEXT NOT NULL,
  PRIMARY KEY (user_id, room_id, first_ordering)
);
INSERT INTO event_push_action_runs (user_id, room_id, first_ordering, last_ordering, n, thread_id, highlight, actions_json, orderings_json)
  SELECT user_id, room_id, MIN(stream_ordering), MAX(stream_ordering), COUNT(*), thread_id, highlight, actions_json,
    json_agg(stream_ordering ORDER BY stream_ordering)::text
  FROM event_push_actions
  GROUP BY user_id, room_id, stream_ordering / 64, thread_id, highlight, actions_json;
DROP TABLE event_push_actions;
-- The runs written since the last move, keyed as event_push_action_runs; reads take both tables.
CREATE TABLE event_push_action_runs_recent (
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  first_ordering BIGINT NOT NULL,
  last_ordering BIGINT NOT NULL,
  n INTEGER NOT NULL,
  thread_id TEXT,
  highlight INTEGER NOT NULL CHECK (highlight IN (0, 1)),
  actions_json TEXT NOT NULL,
  orderings_json TEXT NOT NULL,
  PRIMARY KEY (user_id, room_id, first_ordering)
);
CREATE INDEX event_push_action_runs_user_id_first_ordering_idx ON event_push_action_runs (user_id, first_ordering);
