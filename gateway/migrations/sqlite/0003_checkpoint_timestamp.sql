-- 0003: RFC 3161 time-stamps of checkpoints. The TSA's whole DER
-- TimeStampResp over SHA-256 of the signed note, when a TSA is configured.

ALTER TABLE evidence_checkpoint ADD COLUMN tsa_response BLOB;
