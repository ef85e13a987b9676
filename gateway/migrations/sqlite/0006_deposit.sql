-- 0006: PEC deposits of ready filings, the messages read back from the
-- office's PEC box, and when the box was last read.

-- One deposit per filing. The Message-ID is fixed here, when the filing
-- becomes ready, before any attempt: every attempt and every receipt
-- refers to it.
CREATE TABLE deposit (
    filing_id        TEXT    PRIMARY KEY REFERENCES filing (id),
    message_id       TEXT    NOT NULL UNIQUE,
    state            TEXT    NOT NULL,          -- queued | sending | unknown | sent | accepted-by-provider | delivered | checks-passed | checks-anomalies | checks-failed | accepted-by-clerk | refused | failed | cancelled
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    lease_until      TEXT,                      -- while an attempt is in flight
    reconcile_until  TEXT,                      -- an unknown outcome waits for the RdA until then
    last_error       TEXT,                      -- bounded code
    sent_at          TEXT,
    accepted_at      TEXT,                      -- RdA
    provider_id      TEXT,                      -- the provider's identificativo (from the RdA): court messages may cite it
    id_busta         TEXT,                      -- the court's IDBUSTA (from its first message): later messages may cite only it
    delivered_at     TEXT,                      -- RdAC: the deposit counts as made
    delivery_receipt TEXT,                      -- the RdAC's identificativo
    esito_code       TEXT,                      -- CodiceEsito of the automatic checks
    case_number      TEXT,                      -- NumeroRuolo from the clerk
    updated_at       TEXT    NOT NULL
) STRICT;

CREATE INDEX deposit_due ON deposit (state, next_attempt_at);

-- Every message read from the PEC box, raw, with what was made of it.
CREATE TABLE inbound_message (
    id            INTEGER PRIMARY KEY,
    mailbox       TEXT    NOT NULL,
    uid_validity  INTEGER NOT NULL,
    uid           INTEGER NOT NULL,
    sha256        BLOB    NOT NULL UNIQUE,     -- the same message is applied once, even if the box is rebuilt
    received_at   TEXT    NOT NULL,
    kind          TEXT    NOT NULL,            -- accettazione, avvenuta-consegna, esito-controlli, esito-cancelleria, …, unparseable
    refers_to     TEXT,                        -- the Message-ID it is about
    filing_id     TEXT    REFERENCES filing (id),
    state         TEXT    NOT NULL,            -- applied | quarantined
    reason        TEXT,                        -- why quarantined
    raw           BLOB    NOT NULL,
    UNIQUE (mailbox, uid_validity, uid)
) STRICT;

CREATE INDEX inbound_message_filing ON inbound_message (filing_id);
CREATE INDEX inbound_message_state ON inbound_message (state);

-- When each box was last read completely (reconciliation waits for a read
-- after its window).
CREATE TABLE mailbox_poll (
    mailbox    TEXT PRIMARY KEY,
    polled_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
