-- End-to-end encryption across servers: our users' m.device_list_update sequences, the device lists of users of
-- other servers, and the m.direct_to_device message ids already delivered.

-- Per local user, the stream_id of the last m.device_list_update sent for it: the next EDU's prev_id, and the
-- stream_id /user/devices answers. Users who never changed a device have no row (stream_id 0).
CREATE TABLE device_list_outbound_streams (
  user_id TEXT NOT NULL PRIMARY KEY,
  stream_id BIGINT NOT NULL
);

-- Users of other servers whose device list is cached (tracked): the stream_id it is up to date with, and stale = 1
-- once an update arrived whose prev_id we had not seen (a resync through /user/devices is due).
CREATE TABLE remote_device_lists (
  user_id TEXT NOT NULL PRIMARY KEY,
  stream_id BIGINT NOT NULL,
  stale INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1)),
  master_key_json TEXT,
  self_signing_key_json TEXT,
  updated_ts BIGINT NOT NULL
);

-- The devices of a tracked remote user (keys_json NULL: the device has no keys).
CREATE TABLE remote_devices (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  display_name TEXT,
  keys_json TEXT,
  PRIMARY KEY (user_id, device_id)
);

-- m.direct_to_device message_ids delivered, per origin, so a resent EDU is delivered once.
CREATE TABLE federation_to_device_ids (
  origin TEXT NOT NULL,
  message_id TEXT NOT NULL,
  received_ts BIGINT NOT NULL,
  PRIMARY KEY (origin, message_id)
);
