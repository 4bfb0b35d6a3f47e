-- Indicators, what the indicator refresh measured, and flag evidence are written in bulk (COPY of
-- every record's indicators on a first run: about 300,000 indicators and 1M measured records for 1M
-- records). A foreign key checks each row on its own and locks the row it refers to, which dirties
-- the referenced table's pages: measured on 40,000 indicators, 2.7 s with the keys against 1.0 s
-- without. The same references are checked here once per statement, set-based, as migration 0013
-- does for source_records.batch_id: a row naming a missing record, child, indicator, flag or run is
-- refused; a record, indicator or flag still referred to cannot be deleted (erasure and purge delete
-- the rows that refer to them first); the measured state of a deleted record goes with it.

ALTER TABLE indicators
    DROP CONSTRAINT IF EXISTS indicators_record_id_fkey,
    DROP CONSTRAINT IF EXISTS indicators_child_id_fkey,
    DROP CONSTRAINT IF EXISTS indicators_outcome_fkey,
    DROP CONSTRAINT IF EXISTS indicators_created_by_run_fkey,
    DROP CONSTRAINT IF EXISTS indicators_withdrawn_by_run_fkey;
ALTER TABLE indicator_measured DROP CONSTRAINT IF EXISTS indicator_measured_record_id_fkey;
ALTER TABLE flag_evidence
    DROP CONSTRAINT IF EXISTS flag_evidence_flag_id_fkey,
    DROP CONSTRAINT IF EXISTS flag_evidence_indicator_id_fkey,
    DROP CONSTRAINT IF EXISTS flag_evidence_child_id_fkey,
    DROP CONSTRAINT IF EXISTS flag_evidence_run_id_fkey;

CREATE FUNCTION indicators_check_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed n WHERE NOT EXISTS (SELECT 1 FROM source_records s WHERE s.id = n.record_id)) THEN
        RAISE EXCEPTION 'indicators.record_id names a source record that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM changed n WHERE n.child_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM children c WHERE c.child_id = n.child_id)) THEN
        RAISE EXCEPTION 'indicators.child_id names a child that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM changed n WHERE NOT EXISTS (SELECT 1 FROM supporting_families_outcomes o WHERE o.outcome = n.outcome)) THEN
        RAISE EXCEPTION 'indicators.outcome names an outcome that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM changed n WHERE (n.created_by_run IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM indicator_runs r WHERE r.id = n.created_by_run))
               OR (n.withdrawn_by_run IS NOT NULL AND NOT EXISTS (SELECT 1 FROM indicator_runs r WHERE r.id = n.withdrawn_by_run))) THEN
        RAISE EXCEPTION 'indicators names an indicator run that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER indicators_inserted AFTER INSERT ON indicators
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION indicators_check_references();
CREATE TRIGGER indicators_updated AFTER UPDATE ON indicators
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION indicators_check_references();

CREATE FUNCTION indicator_measured_check_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed n WHERE NOT EXISTS (SELECT 1 FROM source_records s WHERE s.id = n.record_id)) THEN
        RAISE EXCEPTION 'indicator_measured.record_id names a source record that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER indicator_measured_inserted AFTER INSERT ON indicator_measured
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION indicator_measured_check_references();
CREATE TRIGGER indicator_measured_updated AFTER UPDATE ON indicator_measured
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION indicator_measured_check_references();

CREATE FUNCTION flag_evidence_check_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed n WHERE NOT EXISTS (SELECT 1 FROM flags f WHERE f.flag_id = n.flag_id)) THEN
        RAISE EXCEPTION 'flag_evidence.flag_id names a flag that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM changed n WHERE NOT EXISTS (SELECT 1 FROM indicators i WHERE i.id = n.indicator_id)) THEN
        RAISE EXCEPTION 'flag_evidence.indicator_id names an indicator that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM changed n WHERE n.child_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM children c WHERE c.child_id = n.child_id)) THEN
        RAISE EXCEPTION 'flag_evidence.child_id names a child that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM changed n WHERE n.run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM flag_runs r WHERE r.id = n.run_id)) THEN
        RAISE EXCEPTION 'flag_evidence.run_id names a flag run that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER flag_evidence_inserted AFTER INSERT ON flag_evidence
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION flag_evidence_check_references();
CREATE TRIGGER flag_evidence_updated AFTER UPDATE ON flag_evidence
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION flag_evidence_check_references();

-- The other side: nothing still referred to goes; a deleted record's measured state goes with it.
CREATE FUNCTION source_records_keep_indicated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM indicators i JOIN gone g ON g.id = i.record_id) THEN
        RAISE EXCEPTION 'a source record still has indicators: delete them first' USING ERRCODE = 'foreign_key_violation';
    END IF;
    DELETE FROM indicator_measured m USING gone g WHERE m.record_id = g.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER source_records_keep_indicated AFTER DELETE ON source_records
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION source_records_keep_indicated();

CREATE FUNCTION indicators_keep_evidence() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM flag_evidence e JOIN gone g ON g.id = e.indicator_id) THEN
        RAISE EXCEPTION 'an indicator is still evidence for a flag: delete the evidence first' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER indicators_keep_evidence AFTER DELETE ON indicators
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION indicators_keep_evidence();

CREATE FUNCTION flags_keep_evidence() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM flag_evidence e JOIN gone g ON g.flag_id = e.flag_id) THEN
        RAISE EXCEPTION 'a flag still has evidence: delete the evidence first' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER flags_keep_evidence AFTER DELETE ON flags
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION flags_keep_evidence();
