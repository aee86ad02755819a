-- Admin API rooms (docs/admin-api.md): rooms an admin blocked, as Synapse's blocked_rooms table. A blocked room
-- cannot be joined by, nor invite, a local user; the row outlives a purge of the room, so a purged and blocked
-- room stays blocked when another server tries to bring it back.
CREATE TABLE blocked_rooms (
  room_id TEXT NOT NULL PRIMARY KEY,
  user_id TEXT NOT NULL,
  blocked_ts BIGINT NOT NULL
);
