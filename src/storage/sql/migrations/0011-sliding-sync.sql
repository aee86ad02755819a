-- Simplified sliding sync (MSC4186) connection state (docs/sliding-sync.md): per (user, device, conn_id) what each
-- room was last sent with, so that an incremental response sends only what changed, across restarts.

-- One row per connection; last_used_ts expires idle connections and picks the one to drop past the per-device cap.
CREATE TABLE sliding_sync_connections (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  conn_id TEXT NOT NULL,
  created_ts BIGINT NOT NULL,
  last_used_ts BIGINT NOT NULL,
  PRIMARY KEY (user_id, device_id, conn_id)
);

-- One row per `pos` handed out: the stream token it answers from, the list counts it reported, and the snapshot of
-- per-room state it stands for. Positions share snapshots when a response changed no room's state. A request with
-- a position deletes the connection's other positions (older ones are superseded, newer ones were never used).
CREATE TABLE sliding_sync_positions (
  position BIGINT NOT NULL PRIMARY KEY,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  conn_id TEXT NOT NULL,
  snapshot BIGINT NOT NULL,
  token TEXT NOT NULL,
  lists TEXT NOT NULL,
  created_ts BIGINT NOT NULL
);
CREATE INDEX sliding_sync_positions_connection_idx ON sliding_sync_positions (user_id, device_id, conn_id);
CREATE INDEX sliding_sync_positions_snapshot_idx ON sliding_sync_positions (snapshot);

-- Per snapshot, per room sent on the connection: `live` (everything up to the position's token was sent) or
-- `previously` (sent, with updates after last_events not sent yet), the membership it was sent with, the room
-- config (timeline_limit, required_state) as JSON, and the lazily loaded members already sent (JSON array).
CREATE TABLE sliding_sync_rooms (
  snapshot BIGINT NOT NULL,
  room_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('live', 'previously')),
  last_events BIGINT NOT NULL,
  membership TEXT NOT NULL,
  config TEXT NOT NULL,
  lazy_members TEXT NOT NULL,
  PRIMARY KEY (snapshot, room_id)
);

-- Positions and snapshots take their numbers from one counter (0004's table), unique for ever.
INSERT INTO user_stream_positions (stream, position) VALUES ('sliding_sync', 0);
