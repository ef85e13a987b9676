-- 0004: FHIR submissions, their Tasks, the filing work queue and
-- idempotency records. The original bytes of a submission are the body of
-- its exchange (exchange_body), written in the same transaction.

CREATE TABLE submission (
    id            TEXT    PRIMARY KEY,          -- UUIDv7; the Bundle's id in Task.focus
    exchange_id   BLOB    NOT NULL UNIQUE REFERENCES exchange (id),
    agency        TEXT    NOT NULL,
    received_at   TEXT    NOT NULL,
    kind          TEXT    NOT NULL,             -- capacity-report | tso-proposal
    act           TEXT    NOT NULL,             -- ads-appointment | ads-report | tso-convalida | istanza
    request_sha256 BLOB   NOT NULL,
    content_type  TEXT    NOT NULL,
    parsed        BLOB    NOT NULL              -- the Bundle as parsed (canonical JSON)
) STRICT;

CREATE TABLE task (
    id                TEXT PRIMARY KEY,
    submission_id     TEXT NOT NULL UNIQUE REFERENCES submission (id),
    agency            TEXT NOT NULL,            -- the sender: the only agency that may read it
    status            TEXT NOT NULL,
    business_status   TEXT,
    identifier_system TEXT,
    identifier_value  TEXT,
    authored_on       TEXT NOT NULL,
    last_modified     TEXT NOT NULL,
    outputs           TEXT NOT NULL DEFAULT '[]'
) STRICT;

CREATE INDEX task_agency ON task (agency, identifier_value);

-- Work for the filing pipeline; rows are claimed by the worker, never held in memory.
CREATE TABLE work_queue (
    id            INTEGER PRIMARY KEY,
    task_id       TEXT    NOT NULL REFERENCES task (id),
    job           TEXT    NOT NULL,             -- build-filing
    state         TEXT    NOT NULL DEFAULT 'ready',
    attempts      INTEGER NOT NULL DEFAULT 0,
    available_at  TEXT    NOT NULL
) STRICT;

CREATE INDEX work_queue_ready ON work_queue (state, available_at);

-- The first answer to an Idempotency-Key (or Bundle.identifier), replayed
-- to retries of the same payload.
CREATE TABLE idempotency (
    agency         TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    request_sha256 BLOB    NOT NULL,
    task_id        TEXT    NOT NULL REFERENCES task (id),
    status         INTEGER NOT NULL,
    response       BLOB    NOT NULL,
    receipt        TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    PRIMARY KEY (agency, key)
) STRICT, WITHOUT ROWID;
