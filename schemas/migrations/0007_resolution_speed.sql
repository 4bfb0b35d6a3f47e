-- Blocking keys are a derived index rebuilt by every full run (millions of rows): a foreign key
-- check per row made that the slowest step. Whoever deletes a source record (retention, erasure)
-- deletes its keys explicitly.
ALTER TABLE record_blocking_keys DROP CONSTRAINT record_blocking_keys_record_id_fkey;

-- Incremental runs look up existing records by identifier.
CREATE INDEX source_records_nhs_number ON source_records (nhs_number) WHERE nhs_number IS NOT NULL;
CREATE INDEX source_records_upn ON source_records (upn) WHERE upn IS NOT NULL;
