-- What the client API keeps about rooms beside their events: room aliases, the published room directory,
-- client transaction ids (PUT /send and /redact are idempotent per device and txn id), and rooms a user forgot.

-- A local alias (#name:our.server) and the room it points at; creator: who may delete it besides admins and
-- the room's moderators.
CREATE TABLE room_aliases (
  room_alias TEXT NOT NULL PRIMARY KEY,
  room_id TEXT NOT NULL,
  creator TEXT NOT NULL,
  created_ts BIGINT NOT NULL
);
CREATE INDEX room_aliases_room_id_idx ON room_aliases (room_id);

-- Rooms published in the public room directory (/directory/list/room/{roomId} visibility "public").
CREATE TABLE room_directory (
  room_id TEXT NOT NULL PRIMARY KEY,
  published_ts BIGINT NOT NULL
);

-- The event a client transaction created: (user, device, endpoint, room, txn id) -> event id.
-- endpoint is "send" or "redact"; the room is part of the key as Synapse keys on the request path.
CREATE TABLE client_transactions (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  room_id TEXT NOT NULL,
  txn_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  created_ts BIGINT NOT NULL,
  PRIMARY KEY (user_id, device_id, endpoint, room_id, txn_id)
);
CREATE INDEX client_transactions_created_ts_idx ON client_transactions (created_ts);

-- Rooms a user left and then forgot (POST /rooms/{roomId}/forget); cleared when the user joins again.
CREATE TABLE forgotten_rooms (
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  PRIMARY KEY (user_id, room_id)
);

-- Redactions of events, so that reads serve the redacted form: redacts = the redacted event, event_id = the
-- m.room.redaction that redacted it (several may; the first one is shown as redacted_because).
CREATE TABLE event_redactions (
  redacts TEXT NOT NULL,
  event_id TEXT NOT NULL,
  PRIMARY KEY (redacts, event_id)
);
