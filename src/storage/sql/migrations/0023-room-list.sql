-- The sliding-sync room list's own tables (docs/sliding-sync.md, "The room list"; docs/storage.md), maintained in the
-- transaction that persists events, so that ordering and filtering the list needs no read of the event stream or
-- of the rooms' state.
--
-- room_list_rooms: per room with current state or timeline events, the stream ordering of its newest visible forward
-- event (activity; backfilled events have negative orderings and never count), the newest of a bumping type
-- (bump_stamp, the types of src/storage/sql/stores/room-list.ts), and what the filters need of its current state:
-- the create event's type, whether it has m.room.encryption, its name, and the successor a tombstone names.
CREATE TABLE room_list_rooms (
  room_id TEXT NOT NULL PRIMARY KEY,
  stream_ordering BIGINT NOT NULL,
  bump_stamp BIGINT NOT NULL,
  room_type TEXT,
  is_encrypted INTEGER NOT NULL CHECK (is_encrypted IN (0, 1)),
  room_name TEXT,
  tombstone_successor TEXT
);

-- room_list_memberships: per (room, local user) the current membership, written when it changes: the member event,
-- its sender, the membership's forward stream position, and the room's state as it stood just after it (the same
-- facts as room_list_rooms), so that a room invited to, knocked on, left or banned from is filtered as the user last
-- saw it. state_known = 0: no state of the room was held (an out-of-band invite or knock: the stripped state the
-- remote server sent is what the list reads), or the row was backfilled by this migration (the list reads the state
-- after the member event instead).
CREATE TABLE room_list_memberships (
  room_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  membership TEXT NOT NULL,
  event_id TEXT NOT NULL,
  sender TEXT,
  stream_ordering BIGINT NOT NULL,
  state_known INTEGER NOT NULL CHECK (state_known IN (0, 1)),
  room_type TEXT,
  is_encrypted INTEGER NOT NULL CHECK (is_encrypted IN (0, 1)),
  room_name TEXT,
  tombstone_successor TEXT,
  PRIMARY KEY (user_id, room_id)
);
CREATE INDEX room_list_memberships_room_id_idx ON room_list_memberships (room_id);

-- Backfill from what an upgraded database holds: activity and bump stamps from the events, the state facts from
-- current state, and the local users' memberships (without their state, state_known = 0).
INSERT INTO room_list_rooms (room_id, stream_ordering, bump_stamp, is_encrypted)
  SELECT room_id, MAX(stream_ordering), COALESCE(MAX(CASE WHEN type IN ('m.room.create', 'm.room.message', 'm.room.encrypted', 'm.sticker', 'm.call.invite', 'm.poll.start', 'm.beacon_info') THEN stream_ordering END), 0), 0
  FROM events WHERE stream_ordering > 0 AND outlier = 0 AND rejection_reason IS NULL AND soft_failed = 0 GROUP BY room_id;
INSERT INTO room_list_rooms (room_id, stream_ordering, bump_stamp, is_encrypted)
  SELECT DISTINCT room_id, 0, 0, 0 FROM current_state_events WHERE room_id NOT IN (SELECT room_id FROM room_list_rooms);
UPDATE room_list_rooms SET is_encrypted = 1
  WHERE room_id IN (SELECT room_id FROM current_state_events WHERE type = 'm.room.encryption' AND state_key = '');
UPDATE room_list_rooms SET room_type = (
  SELECT CASE WHEN jsonb_typeof(e.json::jsonb #> '{content,type}') = 'string' THEN e.json::jsonb #>> '{content,type}' END FROM current_state_events c JOIN events e ON e.event_id = c.event_id
  WHERE c.room_id = room_list_rooms.room_id AND c.type = 'm.room.create' AND c.state_key = '');
UPDATE room_list_rooms SET room_name = (
  SELECT CASE WHEN jsonb_typeof(e.json::jsonb #> '{content,name}') = 'string' THEN e.json::jsonb #>> '{content,name}' END FROM current_state_events c JOIN events e ON e.event_id = c.event_id
  WHERE c.room_id = room_list_rooms.room_id AND c.type = 'm.room.name' AND c.state_key = '');
UPDATE room_list_rooms SET tombstone_successor = (
  SELECT CASE WHEN jsonb_typeof(e.json::jsonb #> '{content,replacement_room}') = 'string' THEN e.json::jsonb #>> '{content,replacement_room}' END FROM current_state_events c JOIN events e ON e.event_id = c.event_id
  WHERE c.room_id = room_list_rooms.room_id AND c.type = 'm.room.tombstone' AND c.state_key = '');
INSERT INTO room_list_memberships (room_id, user_id, membership, event_id, sender, stream_ordering, state_known, is_encrypted)
  SELECT m.room_id, m.user_id, m.membership, m.event_id, e.sender, m.stream_ordering, 0, 0
  FROM current_memberships m JOIN users u ON u.user_id = m.user_id LEFT JOIN events e ON e.event_id = m.event_id;
