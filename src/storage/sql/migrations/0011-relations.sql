-- Relations between events (https://spec.matrix.org/v1.16/client-server-api/#forming-relationships-between-events)
-- for /relations, /threads and the aggregations bundled into served events. The store derives these rows from each
-- PDU's content in the event's own persist transaction, so local and remote events are indexed alike.

-- One row per event whose content has an m.relates_to with a rel_type and an event_id (not rejected). A redaction
-- deletes its target's row: a redacted event no longer relates to anything (its m.relates_to is redacted away).
CREATE TABLE event_relations (
  event_id TEXT NOT NULL PRIMARY KEY,
  relates_to_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  rel_type TEXT NOT NULL,
  -- m.annotation's key; null otherwise.
  aggregation_key TEXT
);
CREATE INDEX event_relations_relates_to_idx ON event_relations (relates_to_id, rel_type);

-- One row per thread root with a timeline event in its thread: the newest such event by topological order, which
-- orders /threads (most recently active first).
CREATE TABLE threads (
  room_id TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  latest_event_id TEXT NOT NULL,
  latest_depth BIGINT NOT NULL,
  latest_stream BIGINT NOT NULL,
  PRIMARY KEY (room_id, thread_id)
);
CREATE INDEX threads_latest_idx ON threads (room_id, latest_depth, latest_stream);

-- /timestamp_to_event: a room's events by origin_server_ts.
CREATE INDEX events_room_ts_idx ON events (room_id, origin_server_ts);
