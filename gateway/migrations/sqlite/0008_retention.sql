-- 0008: retention. The content in clear that Ponte keeps for a case (the
-- submission's original bytes and parsed Bundle, the filing's artefacts other
-- than the court's encrypted envelope) is purged once the case has been
-- finished for the configured period. Rows, digests and sizes stay; these
-- columns say when the content went.
ALTER TABLE submission ADD COLUMN content_purged_at TEXT;
ALTER TABLE filing_artefact ADD COLUMN purged_at TEXT;
-- The purge looks only at submissions whose content is still there.
CREATE INDEX submission_unpurged ON submission (received_at) WHERE content_purged_at IS NULL;
