-- unsigned.transaction_id (docs/client-api.md): an event served to the device that sent it carries the txn id of
-- its PUT /send (or /redact). Reads look the txn ids up by event id, for a page of events at once (RoomClientStore.
-- getClientTxnIds); the primary key leads with (user_id, device_id), which would scan every transaction of the device.
CREATE INDEX client_transactions_event_id_idx ON client_transactions (event_id);
