-- 0005: PCT filings built from submissions, their artefacts, the court
-- registry imported with `ponte registry import`, and leases on work-queue
-- rows so that a crash mid-build leaves the work to be done again.

ALTER TABLE work_queue ADD COLUMN lease_until TEXT;      -- set while a worker builds it
ALTER TABLE work_queue ADD COLUMN last_error  TEXT;      -- bounded code of the last transient failure
ALTER TABLE work_queue ADD COLUMN court_override TEXT;   -- codice ufficio chosen by the office

-- One filing per Task. Written only when a build has finished (ready) or
-- stopped (failed, on-hold): never half-built.
CREATE TABLE filing (
    id              TEXT    PRIMARY KEY,               -- UUIDv7
    task_id         TEXT    NOT NULL UNIQUE REFERENCES task (id),
    submission_id   TEXT    NOT NULL REFERENCES submission (id),
    agency          TEXT    NOT NULL,                  -- the sender
    act             TEXT    NOT NULL,                  -- requested act code
    status          TEXT    NOT NULL,                  -- ready | failed | on-hold
    court           TEXT,                              -- codice ufficio
    court_name      TEXT,
    court_pec       TEXT,
    mapping_file    TEXT,
    deposit_description TEXT,
    problem         TEXT,                              -- JSON: code, message, message_it, file, rule, element
    envelope_sha256 BLOB,
    envelope_size   INTEGER,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
) STRICT;

CREATE INDEX filing_status ON filing (status, updated_at);

-- Every file of a built filing (DatiAtto.xml, the PDFs, the .p7m, Atto.msg, Atto.enc).
CREATE TABLE filing_artefact (
    id           INTEGER PRIMARY KEY,
    filing_id    TEXT    NOT NULL REFERENCES filing (id),
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    sha256       BLOB    NOT NULL,
    size         INTEGER NOT NULL,
    body         BLOB    NOT NULL,
    UNIQUE (filing_id, name)
) STRICT;

-- Court registry snapshots; the newest one is in force.
CREATE TABLE registry_import (
    id           INTEGER PRIMARY KEY,
    imported_at  TEXT    NOT NULL,
    source       TEXT    NOT NULL,                     -- the file it came from
    sha256       BLOB    NOT NULL,                     -- of the data file
    document     TEXT    NOT NULL                      -- the data file's text
) STRICT;

-- The courts' encryption certificates as imported (PEM), so that a later
-- change on disk cannot change what a filing is encrypted for.
CREATE TABLE registry_certificate (
    import_id    INTEGER NOT NULL REFERENCES registry_import (id),
    court        TEXT    NOT NULL,
    pem          TEXT    NOT NULL,
    PRIMARY KEY (import_id, court)
) STRICT, WITHOUT ROWID;
