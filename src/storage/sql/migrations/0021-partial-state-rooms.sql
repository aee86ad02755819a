-- Rooms joined with members omitted (send_join's omit_members, rooms/partial-state.ts): the state Zion holds of such
-- a room lacks the membership events the resident left out until the background completion fetches the state before
-- the join and fills it in. The row goes in with the join's transaction; the completion's sets completed_ordering
-- (its forward stream position, so /sync can tell which rooms became complete since a token; NULL while partial).
-- servers_in_room: send_join's servers_in_room, a JSON array (where events go and whom completion asks meanwhile).
CREATE TABLE partial_state_rooms (
  room_id TEXT NOT NULL PRIMARY KEY,
  join_event_id TEXT NOT NULL,
  servers_in_room TEXT NOT NULL,
  joined_ts BIGINT NOT NULL,
  completed_ordering BIGINT
);
CREATE INDEX partial_state_rooms_completed_ordering_idx ON partial_state_rooms (completed_ordering);
