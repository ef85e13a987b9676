-- 0001: exchanges, every request in and every message out.
-- Metadata and bodies are kept in separate tables: listing and auditing
-- exchanges never touches (possibly clinical) content, and bodies can be
-- purged under a retention policy without losing the record.

CREATE TABLE exchange (
    seq          INTEGER PRIMARY KEY,          -- insertion order
    id           BLOB    NOT NULL UNIQUE,      -- UUIDv7, 16 bytes
    at           TEXT    NOT NULL,             -- RFC 3339, UTC
    direction    TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    agency       TEXT,
    fingerprint  BLOB,                         -- SHA-256 of the peer certificate
    peer_addr    TEXT,
    request_id   TEXT,
    method       TEXT    NOT NULL,
    route        TEXT    NOT NULL,
    body_sha256  BLOB,
    body_size    INTEGER NOT NULL CHECK (body_size >= 0),
    outcome      TEXT    NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
    status       INTEGER,
    reason       TEXT
) STRICT;

CREATE INDEX exchange_agency ON exchange (agency, seq);

CREATE TABLE exchange_body (
    exchange_id  BLOB NOT NULL PRIMARY KEY REFERENCES exchange (id),
    body         BLOB NOT NULL
) STRICT;
