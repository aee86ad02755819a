-- Pushers (https://spec.matrix.org/v1.13/client-server-api/#push-notifications): where a user's devices want push
-- notifications delivered, set with POST /pushers/set and listed by GET /pushers. One row per (user, app_id,
-- pushkey). `device_id` is the device whose access token set the pusher: deleting that device (or logging it out)
-- deletes its pushers, as Synapse does for access-token-bound pushers.
CREATE TABLE pushers (
  user_id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  pushkey TEXT NOT NULL,
  -- "http" (the only kind Zion accepts; it has no email).
  kind TEXT NOT NULL,
  app_display_name TEXT NOT NULL,
  device_display_name TEXT NOT NULL,
  profile_tag TEXT,
  lang TEXT NOT NULL,
  -- The pusher's `data` object as JSON text (url, format, and whatever else the client sent).
  data_json TEXT NOT NULL,
  device_id TEXT NOT NULL,
  -- When the pushkey was last set (the notification's devices[].pushkey_ts, in milliseconds).
  pushkey_ts BIGINT NOT NULL,
  PRIMARY KEY (user_id, app_id, pushkey)
);
CREATE INDEX pushers_app_id_pushkey_idx ON pushers (app_id, pushkey);
CREATE INDEX pushers_user_id_device_id_idx ON pushers (user_id, device_id);
