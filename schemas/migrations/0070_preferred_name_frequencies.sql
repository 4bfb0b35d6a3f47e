-- Counts of names given as a preferred first name beside a different legal one (README, matching
-- step 6): the typo test counts a name as in use whether it is registered or preferred, so a slip
-- of a familiar form (Tobws for Tobes) is recognised. Stored with the model, as the other counts are,
-- so an incremental run decides as the full run that estimated the model did.
ALTER TABLE name_frequencies DROP CONSTRAINT name_frequencies_name_kind_check;
ALTER TABLE name_frequencies ADD CONSTRAINT name_frequencies_name_kind_check
    CHECK (name_kind IN ('given', 'family', 'preferred_given'));
