-- Simplified sliding sync (MSC4186) connection state (docs/sliding-sync.md): per (user, device, conn_id) what each
-- room was last sent with, so that an incremental response sends only what changed, across restarts.

-- One row per connection, with a number its other rows use; last_used_ts expires idle connections and picks the
-- one to drop past the per-device cap.
CREATE TABLE sliding_sync_connections (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  conn_id TEXT NOT NULL,
  connection_key BIGINT NOT NULL UNIQUE,
  created_ts BIGINT NOT NULL,
  last_used_ts BIGINT NOT NULL,
  PRIMARY KEY (user_id, device_id, conn_id)
);

-- One row per `pos` handed out: the position it was built on (`parent`), the stream token it answers from and the
-- list counts it reported. Using a position deletes the connection's other positions (older ones are superseded,
-- newer ones were never used).
CREATE TABLE sliding_sync_positions (
  position BIGINT NOT NULL PRIMARY KEY,
  connection_key BIGINT NOT NULL,
  parent BIGINT,
  token TEXT NOT NULL,
  lists TEXT NOT NULL,
  created_ts BIGINT NOT NULL
);
CREATE INDEX sliding_sync_positions_connection_key_idx ON sliding_sync_positions (connection_key);

-- What the connection last sent of each room, written by the position that sent it (`since`): `live` (everything up
-- to that position's token was sent) or `previously` (sent, with updates after last_events not sent yet), the
-- membership and room config (JSON) it was sent with, the lazily loaded members already sent (JSON array). A
-- position holds its own rows and its ancestors' newest per room; rows of abandoned positions are deleted when a
-- position is used.
CREATE TABLE sliding_sync_rooms (
  connection_key BIGINT NOT NULL,
  room_id TEXT NOT NULL,
  since BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('live', 'previously')),
  last_events BIGINT NOT NULL,
  membership TEXT NOT NULL,
  config TEXT NOT NULL,
  lazy_members TEXT NOT NULL,
  PRIMARY KEY (connection_key, room_id, since)
);
CREATE INDEX sliding_sync_rooms_since_idx ON sliding_sync_rooms (connection_key, since);

-- Connection keys and positions take their numbers from one counter (0004's table), unique for ever.
INSERT INTO user_stream_positions (stream, position) VALUES ('sliding_sync', 0);
