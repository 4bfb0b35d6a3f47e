-- Retention: when each source record's retention period starts, and a log of every purge
-- (counts per table, never content).
--
-- A feed's period is `retention_years` in its definition (schemas/feeds/*.feed); where it starts is
-- `retention_from`:
--   birth  (default) the child's date of birth; for a record with only an approximate age, the day
--          its batch was loaded less that many years; for a record with neither (an antenatal
--          record), the last day the record is evidence for;
--   record the last day the record is evidence for (record_evidence_period: the term, eligibility,
--          review or incident it is about, else the day its batch was loaded).
-- A record expires on the day retention_years after that start.
CREATE FUNCTION record_retention_start(basis text, kind text, facts jsonb, dob date, approximate_age integer, committed_at timestamptz)
RETURNS date LANGUAGE sql STABLE AS $$
    SELECT CASE basis
        WHEN 'birth' THEN coalesce(
            dob,
            (committed_at::date - make_interval(years => approximate_age))::date,
            (record_evidence_period(kind, facts, committed_at)).ends_on)
        ELSE (record_evidence_period(kind, facts, committed_at)).ends_on
    END
$$;
COMMENT ON FUNCTION record_retention_start(text, text, jsonb, date, integer, timestamptz) IS
    'The day a source record''s retention period starts: its date of birth (basis birth) or its evidence date (basis record).';

CREATE TABLE purge_runs (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    as_of date NOT NULL,                       -- the day the periods were measured to
    database_role text NOT NULL DEFAULT session_user,
    os_user text,
    started_by text NOT NULL CHECK (started_by IN ('command', 'schedule')),
    periods jsonb NOT NULL,                    -- feed → {"years": N, "from": "birth"|"record"}, as used
    deleted jsonb NOT NULL,                    -- table → rows deleted (or redacted); counts only
    held jsonb NOT NULL DEFAULT '{}'::jsonb    -- past their period but kept, and why: counts only
);
COMMENT ON TABLE purge_runs IS 'Every retention purge: the periods used and how many rows each table lost. Never content.';

CREATE TRIGGER purge_runs_no_change BEFORE UPDATE OR DELETE ON purge_runs
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER purge_runs_no_truncate BEFORE TRUNCATE ON purge_runs
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

SELECT familyconnect_apply_grants();
