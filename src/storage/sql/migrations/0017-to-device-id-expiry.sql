-- Inbound m.direct_to_device message ids are forgotten after a retention time (rooms/device-lists/ports.ts,
-- LIMITS.toDeviceIdRetentionMs) by the transaction that records a new one: the index makes that delete a range scan.
CREATE INDEX federation_to_device_ids_received_idx ON federation_to_device_ids (received_ts);
