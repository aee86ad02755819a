-- Rooms: state at every event (deduplicated state groups stored as deltas), a per-room topological order beside
-- the stream order, soft-failed events, an auth-chain cover index, and the current-state and membership streams
-- that /sync reads. One text for SQLite and PostgreSQL. The design and its reasons: docs/storage.md.

-- Counters. 'events' (0001) numbers the forward stream; the others are allocated the same way, in a short
-- transaction of their own before a write (PostgreSQL) or inside the one writer's transaction (SQLite).
-- 'backfill' counts down: outliers and backfilled history get negative stream positions, so no forward stream
-- reader (/sync) ever sees them as new.
INSERT INTO stream_positions (stream_name, position) VALUES ('backfill', 0);
INSERT INTO stream_positions (stream_name, position) VALUES ('state_groups', 0);
INSERT INTO stream_positions (stream_name, position) VALUES ('auth_chains', 0);

-- Forward stream positions handed out to a writer that has not committed yet (PostgreSQL only: there a claim is
-- committed together with its allocation, before the write begins). The committed position is the lowest live
-- claim minus one, or the counter when no claim is live; a claim whose connection is gone is ignored.
CREATE TABLE stream_claims (
  stream_name TEXT NOT NULL,
  first_position BIGINT NOT NULL,
  last_position BIGINT NOT NULL,
  owner_pid INTEGER NOT NULL,
  owner_started TEXT NOT NULL,
  PRIMARY KEY (stream_name, first_position)
);

-- Events: soft failure (stored, never shown, never a prev event) and backfill. The topological order of a room
-- is (depth, stream_ordering), the order /messages pages through.
ALTER TABLE events ADD COLUMN soft_failed INTEGER NOT NULL DEFAULT 0 CHECK (soft_failed IN (0, 1));
ALTER TABLE events ADD COLUMN backfilled INTEGER NOT NULL DEFAULT 0 CHECK (backfilled IN (0, 1));
CREATE INDEX events_room_id_depth_stream_ordering_idx ON events (room_id, depth, stream_ordering);
-- markSoftFailed/markRejected take events out of the forward extremities by event id alone.
CREATE INDEX event_forward_extremities_event_id_idx ON event_forward_extremities (event_id);

-- State groups: the state at an event is a group; a group stores only its difference to prev_state_group
-- (NULL: the rows are the whole state). chain_index counts the groups from the lineage's full snapshot, and
-- prev_state_group is the ancestor at chain_index - lowbit(chain_index), so reading any state walks at most
-- log2(chain_index) groups and a room with n state changes stores O(n log n) rows, not O(n^2).
CREATE TABLE state_groups (
  state_group BIGINT NOT NULL PRIMARY KEY,
  room_id TEXT NOT NULL,
  prev_state_group BIGINT,
  chain_index BIGINT NOT NULL
);
CREATE INDEX state_groups_room_id_idx ON state_groups (room_id);

-- One row per (type, state_key) that differs from prev_state_group; event_id NULL: the key is absent.
CREATE TABLE state_group_deltas (
  state_group BIGINT NOT NULL,
  type TEXT NOT NULL,
  state_key TEXT NOT NULL,
  event_id TEXT,
  PRIMARY KEY (state_group, type, state_key)
);

-- The state before and after each event that has one (timeline events; outliers need not).
CREATE TABLE event_state_groups (
  event_id TEXT NOT NULL PRIMARY KEY,
  room_id TEXT NOT NULL,
  state_group_before BIGINT NOT NULL,
  state_group_after BIGINT NOT NULL
);

-- The auth-chain cover: every event sits at (chain_id, sequence_number) on a chain whose each member cites the
-- one before it as an auth event, so the chain below an event is in its auth chain. A link says that events
-- from (origin_chain_id, origin_sequence_number) on have in their auth chain every event of target_chain_id up
-- to target_sequence_number. Links are stored closed under reachability, so an auth chain is one lookup.
CREATE TABLE event_auth_chains (
  event_id TEXT NOT NULL PRIMARY KEY,
  chain_id BIGINT NOT NULL,
  sequence_number BIGINT NOT NULL
);
CREATE UNIQUE INDEX event_auth_chains_chain_id_sequence_number_idx ON event_auth_chains (chain_id, sequence_number);

CREATE TABLE event_auth_chain_links (
  origin_chain_id BIGINT NOT NULL,
  origin_sequence_number BIGINT NOT NULL,
  target_chain_id BIGINT NOT NULL,
  target_sequence_number BIGINT NOT NULL,
  PRIMARY KEY (origin_chain_id, origin_sequence_number, target_chain_id)
);

-- The current-state stream: every change to a room's current state, at a forward stream position
-- (event_id NULL: the key was removed). /sync reads it by position.
CREATE TABLE current_state_delta_stream (
  stream_ordering BIGINT NOT NULL,
  room_id TEXT NOT NULL,
  type TEXT NOT NULL,
  state_key TEXT NOT NULL,
  event_id TEXT,
  prev_event_id TEXT,
  PRIMARY KEY (stream_ordering, room_id, type, state_key)
);
CREATE INDEX current_state_delta_stream_room_id_stream_ordering_idx ON current_state_delta_stream (room_id, stream_ordering);

-- Current membership of every user in every room (from current state), and the stream of its changes.
CREATE TABLE current_memberships (
  room_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  membership TEXT NOT NULL,
  event_id TEXT NOT NULL,
  stream_ordering BIGINT NOT NULL,
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX current_memberships_user_id_membership_idx ON current_memberships (user_id, membership);

CREATE TABLE membership_stream (
  stream_ordering BIGINT NOT NULL,
  room_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  membership TEXT,
  event_id TEXT,
  PRIMARY KEY (stream_ordering, room_id, user_id)
);
CREATE INDEX membership_stream_user_id_stream_ordering_idx ON membership_stream (user_id, stream_ordering);

-- Databases written by 0001 keep their current memberships.
INSERT INTO current_memberships (room_id, user_id, membership, event_id, stream_ordering)
  SELECT c.room_id, c.state_key, e.membership, c.event_id, e.stream_ordering
  FROM current_state_events c JOIN events e ON e.event_id = c.event_id
  WHERE c.type = 'm.room.member' AND e.membership IS NOT NULL;
