-- Storing a full run over 1M records without the per-row costs that are not needed.

-- Blocking keys (about 8M rows at 1M records) are looked up by key only. The index on record_id
-- made every insert also land at a random place of a second index: a first run's keys took 19 s
-- against 3.4 s with the key index alone (2M rows, the dev cluster). The rare deletes by record
-- (a full run whose records changed, retention, erasure) scan the table instead, once a statement.
DROP INDEX IF EXISTS record_blocking_keys_record;

-- A 64-bit digest of each link's evidence text (`comparison`): a full run stages the links it made
-- without their evidence and compares digests, so an unchanged link costs no JSON parsing. NULL for
-- links stored before this column (such a link is rewritten by the next full run, once).
ALTER TABLE record_links ADD COLUMN evidence_digest bigint;

-- Child id events name ids the resolver minted in the same run or read from `children` under the
-- resolution lock, and ids are never deleted (erasure retires them): a foreign-key check per event
-- (370k at 1M records, about 16 µs each) protected nothing a run's own set-based check does not.
ALTER TABLE child_id_events DROP CONSTRAINT IF EXISTS child_id_events_child_id_fkey;
ALTER TABLE child_id_events DROP CONSTRAINT IF EXISTS child_id_events_other_child_id_fkey;
