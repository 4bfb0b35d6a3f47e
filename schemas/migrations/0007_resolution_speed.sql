-- Blocking keys are a derived index rebuilt by every full run (millions of rows): a foreign key
-- check per row made that the slowest step. Whoever deletes a source record (retention, erasure)
-- deletes its keys explicitly.
ALTER TABLE record_blocking_keys DROP CONSTRAINT record_blocking_keys_record_id_fkey;
