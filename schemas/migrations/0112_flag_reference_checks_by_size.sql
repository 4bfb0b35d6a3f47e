-- The set-based reference checks of migrations 0061 and 0085, planned for the batch at hand (issue 14).
-- Written as `IF EXISTS (SELECT 1 FROM changed n WHERE NOT EXISTS (...))`, each check was planned
-- for its first row: a nested loop probing the referenced table's index once per row written. That
-- suits a next-day batch of a few thousand rows; on a first fill (about 300,000 indicators and
-- 200,000 family teams at 1M records) it was a probe, and a heap fetch, per row (about 2-3 s over
-- indicators, evidence and teams). Counting the rows that refer to nothing lets the planner cost the
-- whole batch: a hash anti join for a large one, index probes for a small one. The statements are
-- run through EXECUTE so that each batch is planned on its own size (a cached plan would keep the
-- first batch's). Costed whole, a check of a large batch passed the JIT threshold and spent longer
-- compiling (0.88 s for 39,858 indicators at 50,000 children, loaded machine) than checking. Same
-- rules, same errors: only how the check is run changes.

CREATE OR REPLACE FUNCTION indicators_check_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT SET jit = off AS $$
DECLARE
    missing bigint;
BEGIN
    EXECUTE 'SELECT count(*) FROM changed n WHERE NOT EXISTS (SELECT 1 FROM source_records s WHERE s.id = n.record_id)'
        INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION 'indicators.record_id names a source record that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    EXECUTE 'SELECT count(*) FROM changed n WHERE n.child_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM children c WHERE c.child_id = n.child_id)' INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION 'indicators.child_id names a child that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    EXECUTE 'SELECT count(*) FROM changed n
             WHERE NOT EXISTS (SELECT 1 FROM supporting_families_outcomes o WHERE o.outcome = n.outcome)' INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION 'indicators.outcome names an outcome that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    EXECUTE 'SELECT count(*) FROM changed n
             WHERE (n.created_by_run IS NOT NULL AND NOT EXISTS (SELECT 1 FROM indicator_runs r WHERE r.id = n.created_by_run))
                OR (n.withdrawn_by_run IS NOT NULL AND NOT EXISTS (SELECT 1 FROM indicator_runs r WHERE r.id = n.withdrawn_by_run))'
        INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION 'indicators names an indicator run that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION indicator_measured_check_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT SET jit = off AS $$
DECLARE
    missing bigint;
BEGIN
    EXECUTE 'SELECT count(*) FROM changed n WHERE NOT EXISTS (SELECT 1 FROM source_records s WHERE s.id = n.record_id)'
        INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION 'indicator_measured.record_id names a source record that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION flag_evidence_check_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT SET jit = off AS $$
DECLARE
    missing bigint;
BEGIN
    EXECUTE 'SELECT count(*) FROM changed n WHERE NOT EXISTS (SELECT 1 FROM flags f WHERE f.flag_id = n.flag_id)'
        INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION 'flag_evidence.flag_id names a flag that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    EXECUTE 'SELECT count(*) FROM changed n WHERE NOT EXISTS (SELECT 1 FROM indicators i WHERE i.id = n.indicator_id)'
        INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION 'flag_evidence.indicator_id names an indicator that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    EXECUTE 'SELECT count(*) FROM changed n WHERE n.child_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM children c WHERE c.child_id = n.child_id)' INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION 'flag_evidence.child_id names a child that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    EXECUTE 'SELECT count(*) FROM changed n
             WHERE n.run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM flag_runs r WHERE r.id = n.run_id)' INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION 'flag_evidence.run_id names a flag run that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION family_teams_check_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT SET jit = off AS $$
DECLARE
    missing bigint;
BEGIN
    EXECUTE 'SELECT count(*) FROM changed n WHERE NOT EXISTS (SELECT 1 FROM families f WHERE f.family_id = n.family_id)'
        INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION 'family_teams.family_id names a family that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
