-- The outbound federation queue (src/federation/sender, docs/federation.md "Sending").
-- A PDU row is written by persistEvents in the event's own transaction, one row per destination; an EDU row by
-- OutboundStore.enqueueEdus. A row joins a transaction (txn_id set) when the sender builds one; the transaction row
-- is written before the first attempt, so a retry after a crash resends the same id with the same contents.

CREATE TABLE federation_outbound_pdus (
  destination TEXT NOT NULL,
  stream_ordering BIGINT NOT NULL,
  event_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  txn_id TEXT,
  PRIMARY KEY (destination, stream_ordering)
);
CREATE INDEX federation_outbound_pdus_destination_room_id_idx ON federation_outbound_pdus (destination, room_id);

CREATE TABLE federation_outbound_edus (
  destination TEXT NOT NULL,
  edu_id BIGINT NOT NULL,
  edu_json TEXT NOT NULL,
  txn_id TEXT,
  PRIMARY KEY (destination, edu_id)
);

-- At most one transaction per destination: the one in flight (or to retry).
CREATE TABLE federation_outbound_txns (
  destination TEXT NOT NULL PRIMARY KEY,
  txn_id TEXT NOT NULL,
  origin_server_ts BIGINT NOT NULL
);

INSERT INTO stream_positions (stream_name, position) VALUES ('federation_edus', 0);
INSERT INTO stream_positions (stream_name, position) VALUES ('federation_txns', 0);

ALTER TABLE destinations ADD COLUMN last_success_ts BIGINT;
ALTER TABLE destinations ADD COLUMN last_error TEXT;
