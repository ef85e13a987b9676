-- 0009: the office reviews the quarantine. A quarantined message the office
-- has looked at and dismissed leaves the quarantine (state 'dismissed'); its
-- raw bytes are purged under the retention policy like a finished case's
-- content (docs/retention.md). The row, its digest and the evidence stay.
ALTER TABLE inbound_message ADD COLUMN dismissed_at TEXT;
ALTER TABLE inbound_message ADD COLUMN dismissed_by TEXT;   -- the office agency
ALTER TABLE inbound_message ADD COLUMN purged_at    TEXT;
CREATE INDEX inbound_message_dismissed ON inbound_message (dismissed_at)
    WHERE state = 'dismissed' AND purged_at IS NULL;
