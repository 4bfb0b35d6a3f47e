-- Links made by the incident rule (README, matching step 5): a police record with only an approximate
-- age, queued against a child, is linked when another child named in the same incident is, or could
-- be, a child sharing a home with that child. Runs before this release stored these as
-- 'probabilistic', so `explain` showed them as if the model's weight alone had linked them.
-- `vouched_by` is the record of the same incident that vouched (an id only, as every link column).
ALTER TABLE record_links DROP CONSTRAINT record_links_method_check;
ALTER TABLE record_links ADD CONSTRAINT record_links_method_check
    CHECK (method IN ('nhs_number', 'upn', 'probabilistic', 'review', 'vouched_by_incident'));
ALTER TABLE record_links ADD COLUMN vouched_by bigint;
ALTER TABLE record_links ADD CONSTRAINT record_links_vouched_by_named
    CHECK ((method = 'vouched_by_incident') = (vouched_by IS NOT NULL));

-- How many links of a run the incident rule made (no longer counted in links_probabilistic).
ALTER TABLE resolution_runs ADD COLUMN links_vouched_by_incident integer NOT NULL DEFAULT 0;
