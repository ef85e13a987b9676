-- 0002: the evidence log (RFC 6962 Merkle tree over canonical entries).
-- Entries are the tree's leaves, in order: idx is the leaf index and has
-- no gaps. evidence_node keeps every complete interior subtree so that
-- proofs cost O(log n) lookups. Entries hold identifiers and digests only.

CREATE TABLE evidence_entry (
    idx          INTEGER PRIMARY KEY,          -- leaf index, from 0, no gaps
    exchange_id  BLOB,                         -- the exchange it records, if any
    at           TEXT    NOT NULL,             -- RFC 3339, never decreasing
    agency       TEXT,
    filing_id    TEXT,
    entry        BLOB    NOT NULL,             -- canonical bytes (docs/evidence-log.md)
    leaf_hash    BLOB    NOT NULL              -- SHA-256(0x00 || entry)
) STRICT;

CREATE INDEX evidence_entry_agency ON evidence_entry (agency, idx);
CREATE INDEX evidence_entry_filing ON evidence_entry (filing_id, idx) WHERE filing_id IS NOT NULL;
CREATE INDEX evidence_entry_exchange ON evidence_entry (exchange_id) WHERE exchange_id IS NOT NULL;

-- Complete subtree of height level >= 1 covering leaves
-- [idx * 2^level, (idx + 1) * 2^level).
CREATE TABLE evidence_node (
    level        INTEGER NOT NULL,
    idx          INTEGER NOT NULL,
    hash         BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

-- Signed checkpoints (C2SP signed notes), sizes never decreasing.
CREATE TABLE evidence_checkpoint (
    id           INTEGER PRIMARY KEY,
    size         INTEGER NOT NULL,
    root         BLOB    NOT NULL,
    at           TEXT    NOT NULL,
    note         TEXT    NOT NULL
) STRICT;
