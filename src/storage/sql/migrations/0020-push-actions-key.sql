-- Push actions keyed by (user_id, room_id, stream_ordering) instead of (user_id, event_id), which also drops the
-- index on those three columns the key now is: every timeline event has one forward stream ordering, so the new
-- key is unique exactly when the old one was. One index less to update for each of the (members - 1) rows an event
-- in a busy room adds (docs/storage.md, "Push actions").
ALTER TABLE event_push_actions DROP CONSTRAINT event_push_actions_pkey;
DROP INDEX event_push_actions_user_id_room_id_stream_ordering_idx;
ALTER TABLE event_push_actions ADD PRIMARY KEY (user_id, room_id, stream_ordering);
