-- 0008: why a deposit failed (whether a late receipt may revive it), and
-- IDBUSTA correlation within the court that assigned the IDBUSTA.

-- Why a deposit is `failed`, NULL in every other state:
--   exhausted        transient errors until max_attempts ran out
--   outcome-unknown  a permanent sending error after an attempt whose
--                    outcome was unknown (it may have reached the provider)
--   permanent        a permanent sending error, nothing ever sent
--   not-accepted     the provider's avviso di non accettazione
--   not-delivered    the provider's avviso di mancata consegna
-- Only exhausted and outcome-unknown may be revived by a late receipt.
ALTER TABLE deposit ADD COLUMN failure TEXT;

-- 1 once an attempt's outcome was unknown: that attempt may have reached
-- the provider, whatever the later attempts do.
ALTER TABLE deposit ADD COLUMN outcome_unknown INTEGER NOT NULL DEFAULT 0;

-- The court that assigned id_busta (its PEC address as the deposit was sent
-- to it, lowercase): an IDBUSTA is unique only per court.
ALTER TABLE deposit ADD COLUMN id_busta_court TEXT;

UPDATE deposit SET outcome_unknown = 1 WHERE state IN ('unknown', 'sending');

-- Failed deposits from before: a provider's failure notice applied to the
-- deposit says why; otherwise the reason is not known and the deposit stays
-- revivable, as it was.
UPDATE deposit SET failure = CASE
    WHEN EXISTS (SELECT 1 FROM inbound_message m WHERE m.filing_id = deposit.filing_id
                 AND m.state = 'applied' AND m.kind = 'non-accettazione') THEN 'not-accepted'
    WHEN EXISTS (SELECT 1 FROM inbound_message m WHERE m.filing_id = deposit.filing_id
                 AND m.state = 'applied' AND m.kind = 'errore-consegna') THEN 'not-delivered'
    ELSE 'exhausted'
END
WHERE state = 'failed';

UPDATE deposit SET id_busta_court =
    (SELECT lower(trim(f.court_pec)) FROM filing f WHERE f.id = deposit.filing_id)
WHERE id_busta IS NOT NULL;

-- The correlation keys of court messages that do not cite the deposit's
-- Message-ID (which is UNIQUE, hence indexed).
CREATE INDEX deposit_busta ON deposit (id_busta_court, id_busta) WHERE id_busta IS NOT NULL;
CREATE INDEX deposit_provider_id ON deposit (provider_id) WHERE provider_id IS NOT NULL;
