-- Links made by the claim rule (README, matching step 5): a free-school-meals claim row queued between
-- the bands, with no child of its own yet, is linked when another child named in the same claim is, or
-- could be, a child sharing a home with the pair's child. The incident rule's test, for a claim; its own
-- method so that `explain` names the report that vouched. `vouched_by` is that claim's other record.
ALTER TABLE record_links DROP CONSTRAINT record_links_method_check;
ALTER TABLE record_links ADD CONSTRAINT record_links_method_check
    CHECK (method IN ('nhs_number', 'upn', 'probabilistic', 'review', 'vouched_by_incident', 'vouched_by_claim'));
ALTER TABLE record_links DROP CONSTRAINT record_links_vouched_by_named;
ALTER TABLE record_links ADD CONSTRAINT record_links_vouched_by_named
    CHECK ((method IN ('vouched_by_incident', 'vouched_by_claim')) = (vouched_by IS NOT NULL));

-- How many links of a run the claim rule made (not counted in links_probabilistic).
ALTER TABLE resolution_runs ADD COLUMN links_vouched_by_claim integer NOT NULL DEFAULT 0;
