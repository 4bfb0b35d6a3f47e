-- Resolution writes its results in bulk: a full run over 1M records stores about 1M assignments
-- and 650k links, and a foreign-key check per row (an SPI query each) cost nine times the insert
-- itself. Only the resolver writes these tables: it links records it read in the same transaction
-- and checks the assignments it stages (record and child id exist) in one set-based query. Only
-- RecordRemoval deletes source records, and it deletes these rows first, under PipelineLocks (the
-- resolution lock among them), so the two never interleave.
ALTER TABLE record_links DROP CONSTRAINT IF EXISTS record_links_record_a_fkey;
ALTER TABLE record_links DROP CONSTRAINT IF EXISTS record_links_record_b_fkey;
ALTER TABLE record_links DROP CONSTRAINT IF EXISTS record_links_run_id_fkey;
ALTER TABLE child_records DROP CONSTRAINT IF EXISTS child_records_record_id_fkey;
ALTER TABLE child_records DROP CONSTRAINT IF EXISTS child_records_child_id_fkey;
ALTER TABLE child_records DROP CONSTRAINT IF EXISTS child_records_assigned_by_run_fkey;
-- Which run minted an id or wrote an event: provenance, checked 320k times in a first full run
-- against the one run row the resolver inserted moments before. Runs are never deleted.
ALTER TABLE children DROP CONSTRAINT IF EXISTS children_minted_by_run_fkey;
ALTER TABLE child_id_events DROP CONSTRAINT IF EXISTS child_id_events_run_id_fkey;

-- One digest of each record's blocking keys: a full run rewrites the keys of the records whose
-- keys changed (new records, new rules) instead of all of them (about 8M rows at 1M records).
CREATE TABLE record_blocking_digests (
    record_id bigint PRIMARY KEY,
    digest bigint NOT NULL
);
