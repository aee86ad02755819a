-- Admin API rooms (docs/admin-api.md): rooms an admin blocked, as Synapse's blocked_rooms table. A blocked room
-- cannot be joined by, nor invite, a local user; the row outlives a purge of the room, so a purged and blocked
-- room stays blocked when another server tries to bring it back. user_id: the admin who blocked it (NULL: blocked
-- with `zion admin`, which acts as no user).
CREATE TABLE blocked_rooms (
  room_id TEXT NOT NULL PRIMARY KEY,
  user_id TEXT,
  blocked_ts BIGINT NOT NULL
);
