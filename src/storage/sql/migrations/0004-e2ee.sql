-- Per-user data of end-to-end encryption, account data, filters and server-side key backup (local users only).
-- Rooms are not referenced: room ids here are only the keys clients gave.

-- One counter per per-user stream ('device_lists', 'to_device', 'account_data'). A writer bumps its stream's row
-- inside its own transaction (UPDATE ... RETURNING), so the row lock is held until commit: positions become visible
-- in the order they were handed out, and a reader that sees position N sees every write at or below N.
CREATE TABLE user_stream_positions (
  stream TEXT NOT NULL PRIMARY KEY,
  position BIGINT NOT NULL
);
INSERT INTO user_stream_positions (stream, position) VALUES ('device_lists', 0), ('to_device', 0), ('account_data', 0);

-- device_keys of /keys/upload, as uploaded (signatures included).
CREATE TABLE e2e_device_keys (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  key_json TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id)
);

-- One-time keys: a claim deletes the row, so each key is handed out once.
CREATE TABLE e2e_one_time_keys (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  key_id TEXT NOT NULL,
  key_json TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, algorithm, key_id)
);

-- Fallback keys: one per (device, algorithm); used = 1 once claimed (it is still handed out until replaced).
CREATE TABLE e2e_fallback_keys (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  key_id TEXT NOT NULL,
  key_json TEXT NOT NULL,
  used INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
  PRIMARY KEY (user_id, device_id, algorithm)
);

-- Cross-signing keys (key_type 'master', 'self_signing', 'user_signing'), as uploaded.
CREATE TABLE e2e_cross_signing_keys (
  user_id TEXT NOT NULL,
  key_type TEXT NOT NULL CHECK (key_type IN ('master', 'self_signing', 'user_signing')),
  public_key TEXT NOT NULL,
  key_json TEXT NOT NULL,
  PRIMARY KEY (user_id, key_type)
);

-- Signatures from /keys/signatures/upload, merged into the signed key when it is queried. target_key_id is a
-- device id or a cross-signing public key (unpadded base64).
CREATE TABLE e2e_signatures (
  target_user_id TEXT NOT NULL,
  target_key_id TEXT NOT NULL,
  signer_user_id TEXT NOT NULL,
  signer_key_id TEXT NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (target_user_id, target_key_id, signer_user_id, signer_key_id)
);

-- Device-list stream: one row per change of a user's devices or keys.
CREATE TABLE device_list_changes (
  stream_id BIGINT NOT NULL PRIMARY KEY,
  user_id TEXT NOT NULL
);
CREATE INDEX device_list_changes_user_id_stream_id_idx ON device_list_changes (user_id, stream_id);

-- To-device inbox, per receiving device; rows are deleted once the device acknowledges a later position.
CREATE TABLE to_device_inbox (
  stream_id BIGINT NOT NULL,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  message_json TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, stream_id)
);

-- The (sender, device, txn id) of every /sendToDevice already done, so a retry sends nothing again.
CREATE TABLE to_device_txns (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  txn_id TEXT NOT NULL,
  created_ts BIGINT NOT NULL,
  PRIMARY KEY (user_id, device_id, txn_id)
);

-- Account data, global (room_id '') and per room; stream_id is the position of its last change.
CREATE TABLE account_data (
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  data_type TEXT NOT NULL,
  content_json TEXT NOT NULL,
  stream_id BIGINT NOT NULL,
  PRIMARY KEY (user_id, room_id, data_type)
);
CREATE INDEX account_data_user_id_stream_id_idx ON account_data (user_id, stream_id);

-- Stored filters (/user/{userId}/filter), kept as given; filter ids count up per user.
CREATE TABLE user_filters (
  user_id TEXT NOT NULL,
  filter_id BIGINT NOT NULL,
  filter_json TEXT NOT NULL,
  PRIMARY KEY (user_id, filter_id)
);

-- Server-side key backup versions; deleted versions stay (deleted = 1) so their numbers are never reused.
CREATE TABLE room_key_backup_versions (
  user_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  algorithm TEXT NOT NULL,
  auth_data_json TEXT NOT NULL,
  etag BIGINT NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  PRIMARY KEY (user_id, version)
);

CREATE TABLE room_key_backup_keys (
  user_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  room_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  first_message_index BIGINT NOT NULL,
  forwarded_count BIGINT NOT NULL,
  is_verified INTEGER NOT NULL CHECK (is_verified IN (0, 1)),
  session_data_json TEXT NOT NULL,
  PRIMARY KEY (user_id, version, room_id, session_id)
);
