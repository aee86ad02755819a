-- Nonces of shared-secret registration (GET/POST /_synapse/admin/v1/register) in the database rather than one
-- process's memory: a nonce one Zion process issued can be used at another sharing the PostgreSQL, and survives a
-- restart within its minute. Single use (consuming deletes the row); expired rows and, past the bound, the oldest are
-- dropped whenever one is issued (anyone may ask for a nonce, so the table is bounded).
CREATE TABLE registration_nonces (
  nonce TEXT NOT NULL PRIMARY KEY,
  issued_ts BIGINT NOT NULL
);
CREATE INDEX registration_nonces_issued_ts_idx ON registration_nonces (issued_ts);
