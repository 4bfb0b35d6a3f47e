-- Indicators, flags and team assignment in proportion to what changed.
--
-- An indicator refresh measures again the records linked to, moved between or unlinked from
-- children (noted from child_records) and new expectant parents' records (noted from source_records),
-- instead of comparing every record with what it measured last time.
--
-- A family's flag evaluation depends only on its members, their indicators, the as-of date (through
-- the rules' windows and the cool-off), whether it is known to statutory services, and its own flags
-- and suppressions. A family's team depends only on its home and its children's latest school
-- records. Triggers note every change to those inputs in `flag_changes`; the next run evaluates the
-- families noted there, plus those whose indicators or closed flags cross a date boundary between the
-- last as-of date and this one (derived from the rules), and nothing else. Without state (the first
-- run, changed rules, a TRUNCATE) everything is evaluated. The outputs are those a run over every
-- family would write (FlagsTests.IncrementalFlagTests compares the two).

-- One row: a fingerprint of everything the evaluation reads besides the data (rules, indicator
-- definitions, lifecycle and suppression settings, the statutory list's content) and the as-of date.
CREATE TABLE flag_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint text NOT NULL,
    as_of date NOT NULL
);

-- What each family that met a rule came to at the last evaluation, so a run that evaluates only
-- some families still reports the same totals as one over every family (counts only, no data).
CREATE TABLE flag_family_outcomes (
    family_id text PRIMARY KEY,
    firings integer NOT NULL,
    suppressed integer NOT NULL,       -- firings suppressed (statutory services know the family)
    held boolean NOT NULL              -- held by the cool-off after a closed flag
);

-- Reading who is known to statutory services in proportion to the records that say so.
CREATE INDEX source_records_statutory_fact ON source_records (id) WHERE facts ? 'known_to_statutory_services';

-- Inputs changed since the last indicator refresh, flag run or team assignment: a family, a child,
-- or a record. `reader` says which of the three reads (and deletes) the row.
CREATE TABLE flag_changes (
    reader text NOT NULL CHECK (reader IN ('indicators', 'flags', 'teams')),
    family_id text,
    child_id text,
    record_id bigint
);

-- The team assignment's state: the directory it assigned by (a fingerprint).
CREATE TABLE team_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint text NOT NULL
);

-- Indicators entering or leaving a rule's window as the as-of date moves.
CREATE INDEX indicators_starts_on ON indicators (starts_on) WHERE withdrawn_at IS NULL;
CREATE INDEX indicators_ends_on ON indicators (ends_on) WHERE withdrawn_at IS NULL;

-- Whether a reader wants changes noted: only once it has state (without state everything is read
-- anyway). The flag run sets familyconnect.flag_run for its transaction: its own writes are the
-- outcome of an evaluation, not a change to evaluate again.
CREATE FUNCTION flag_changes_wanted(reader text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE reader
        WHEN 'flags' THEN coalesce(current_setting('familyconnect.flag_run', true), '') <> 'on' AND EXISTS (SELECT FROM flag_state)
        WHEN 'teams' THEN EXISTS (SELECT FROM team_state)
        WHEN 'indicators' THEN EXISTS (SELECT FROM indicator_state)
    END
$$;

-- The readers among `readers` that want changes noted now.
CREATE FUNCTION flag_changes_readers(readers text[]) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT r FROM unnest(readers) r WHERE flag_changes_wanted(r)
$$;

-- Indicators: the flag run reads them through the child, or the record of an expectant parent.
CREATE FUNCTION flag_changes_indicators() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT flag_changes_wanted('flags') THEN RETURN NULL; END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO flag_changes (reader, child_id, record_id) SELECT DISTINCT 'flags', child_id, record_id FROM new_rows;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO flag_changes (reader, child_id, record_id) SELECT DISTINCT 'flags', child_id, record_id FROM old_rows;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER flag_changes_indicators_insert AFTER INSERT ON indicators
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_indicators();
CREATE TRIGGER flag_changes_indicators_update AFTER UPDATE ON indicators
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_indicators();
CREATE TRIGGER flag_changes_indicators_delete AFTER DELETE ON indicators
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_indicators();

-- Members and families: both the flag run and the team assignment read them.
CREATE FUNCTION flag_changes_families() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO flag_changes (reader, family_id)
        SELECT r.reader, n.family_id FROM (SELECT DISTINCT family_id FROM new_rows) n
        CROSS JOIN flag_changes_readers(ARRAY['flags', 'teams']) r(reader);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO flag_changes (reader, family_id)
        SELECT r.reader, o.family_id FROM (SELECT DISTINCT family_id FROM old_rows) o
        CROSS JOIN flag_changes_readers(ARRAY['flags', 'teams']) r(reader);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER flag_changes_members_insert AFTER INSERT ON family_members
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_families();
CREATE TRIGGER flag_changes_members_update AFTER UPDATE ON family_members
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_families();
CREATE TRIGGER flag_changes_members_delete AFTER DELETE ON family_members
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_families();
CREATE TRIGGER flag_changes_families_insert AFTER INSERT ON families
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_families();
CREATE TRIGGER flag_changes_families_update AFTER UPDATE ON families
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_families();
CREATE TRIGGER flag_changes_families_delete AFTER DELETE ON families
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_families();

-- A family's own flags, evidence, rules and suppressions changed by anyone but the flag run (a
-- worker closing a flag, an erasure). An export moving a flag from new to exported changes nothing
-- the evaluation reads, so only a change of family, of closed or not, or of the closing date counts.
CREATE FUNCTION flag_changes_flags() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT flag_changes_wanted('flags') THEN RETURN NULL; END IF;
    IF TG_OP = 'UPDATE' THEN
        -- Grouped by flag, not a join of the two transition tables (they have no index or statistics:
        -- a nested loop over them was quadratic, 35 s for an export of 10,000 flags).
        INSERT INTO flag_changes (reader, family_id)
        SELECT DISTINCT 'flags', family FROM (
            SELECT array_agg(DISTINCT family_id) AS families FROM (
                SELECT flag_id, family_id, status = 'closed' AS closed, closed_on FROM old_rows
                UNION ALL
                SELECT flag_id, family_id, status = 'closed', closed_on FROM new_rows) sides
            GROUP BY flag_id
            HAVING count(DISTINCT family_id || '|' || closed::text || '|' || coalesce(closed_on::text, '')) > 1) changed,
            unnest(changed.families) family;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO flag_changes (reader, family_id) SELECT DISTINCT 'flags', family_id FROM new_rows;
    ELSE
        INSERT INTO flag_changes (reader, family_id) SELECT DISTINCT 'flags', family_id FROM old_rows;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER flag_changes_flags_insert AFTER INSERT ON flags
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_flags();
CREATE TRIGGER flag_changes_flags_update AFTER UPDATE ON flags
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_flags();
CREATE TRIGGER flag_changes_flags_delete AFTER DELETE ON flags
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_flags();

CREATE FUNCTION flag_changes_flag_parts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT flag_changes_wanted('flags') THEN RETURN NULL; END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO flag_changes (reader, family_id)
        SELECT DISTINCT 'flags', f.family_id FROM (SELECT DISTINCT flag_id FROM new_rows) n JOIN flags f ON f.flag_id = n.flag_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO flag_changes (reader, family_id)
        SELECT DISTINCT 'flags', f.family_id FROM (SELECT DISTINCT flag_id FROM old_rows) o JOIN flags f ON f.flag_id = o.flag_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER flag_changes_evidence_insert AFTER INSERT ON flag_evidence
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_flag_parts();
CREATE TRIGGER flag_changes_evidence_update AFTER UPDATE ON flag_evidence
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_flag_parts();
CREATE TRIGGER flag_changes_evidence_delete AFTER DELETE ON flag_evidence
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_flag_parts();
CREATE TRIGGER flag_changes_rules_insert AFTER INSERT ON flag_rules
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_flag_parts();
CREATE TRIGGER flag_changes_rules_update AFTER UPDATE ON flag_rules
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_flag_parts();
CREATE TRIGGER flag_changes_rules_delete AFTER DELETE ON flag_rules
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_flag_parts();

CREATE FUNCTION flag_changes_suppressions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT flag_changes_wanted('flags') THEN RETURN NULL; END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO flag_changes (reader, family_id) SELECT DISTINCT 'flags', family_id FROM new_rows;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO flag_changes (reader, family_id) SELECT DISTINCT 'flags', family_id FROM old_rows;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER flag_changes_suppressions_insert AFTER INSERT ON flag_suppressions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_suppressions();
CREATE TRIGGER flag_changes_suppressions_update AFTER UPDATE ON flag_suppressions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_suppressions();
CREATE TRIGGER flag_changes_suppressions_delete AFTER DELETE ON flag_suppressions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_suppressions();

-- A record linked to a child, moved to another or unlinked: its indicators are measured again; who
-- is known to statutory services (a record carrying the feed fact) and which school a child attends
-- (its latest school record) may change, for the child it left and the one it joined.
CREATE FUNCTION flag_changes_child_records() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT (flag_changes_wanted('indicators') OR flag_changes_wanted('flags') OR flag_changes_wanted('teams')) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO flag_changes (reader, record_id)
        SELECT r.reader, n.record_id FROM new_rows n CROSS JOIN flag_changes_readers(ARRAY['indicators']) r(reader);
        INSERT INTO flag_changes (reader, child_id)
        SELECT DISTINCT r.reader, n.child_id FROM new_rows n JOIN source_records sr ON sr.id = n.record_id
        CROSS JOIN flag_changes_readers(ARRAY['flags', 'teams']) r(reader)
        WHERE sr.facts ? (CASE r.reader WHEN 'teams' THEN 'school_name' ELSE 'known_to_statutory_services' END);
    ELSIF TG_OP = 'UPDATE' THEN
        -- The records whose child changed, grouped by record rather than joining the two transition
        -- tables (no index or statistics on them: a nested loop would be quadratic).
        WITH moved AS (
            SELECT record_id, array_agg(DISTINCT child_id) AS children FROM (
                SELECT record_id, child_id FROM old_rows UNION ALL SELECT record_id, child_id FROM new_rows) sides
            GROUP BY record_id HAVING count(DISTINCT child_id) > 1),
        remeasured AS (
            INSERT INTO flag_changes (reader, record_id)
            SELECT r.reader, m.record_id FROM moved m CROSS JOIN flag_changes_readers(ARRAY['indicators']) r(reader))
        INSERT INTO flag_changes (reader, child_id)
        SELECT DISTINCT r.reader, c.child_id FROM moved m JOIN source_records sr ON sr.id = m.record_id
        CROSS JOIN unnest(m.children) c(child_id)
        CROSS JOIN flag_changes_readers(ARRAY['flags', 'teams']) r(reader)
        WHERE sr.facts ? (CASE r.reader WHEN 'teams' THEN 'school_name' ELSE 'known_to_statutory_services' END);
    ELSE
        INSERT INTO flag_changes (reader, record_id)
        SELECT r.reader, o.record_id FROM old_rows o CROSS JOIN flag_changes_readers(ARRAY['indicators']) r(reader);
        -- An erasure may remove the record itself in the same transaction: note the child either way.
        INSERT INTO flag_changes (reader, child_id)
        SELECT r.reader, o.child_id FROM (SELECT DISTINCT child_id FROM old_rows) o
        CROSS JOIN flag_changes_readers(ARRAY['flags', 'teams']) r(reader);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER flag_changes_child_records_insert AFTER INSERT ON child_records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_child_records();
CREATE TRIGGER flag_changes_child_records_update AFTER UPDATE ON child_records
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_child_records();
CREATE TRIGGER flag_changes_child_records_delete AFTER DELETE ON child_records
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_child_records();

-- An expectant parent's record is measured without being linked to a child: note it when loaded.
CREATE FUNCTION flag_changes_expectant_records() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT flag_changes_wanted('indicators') THEN RETURN NULL; END IF;
    INSERT INTO flag_changes (reader, record_id) SELECT 'indicators', id FROM new_rows WHERE subject = 'expectant_parent';
    RETURN NULL;
END
$$;
CREATE TRIGGER flag_changes_expectant_records AFTER INSERT ON source_records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_expectant_records();

-- A record changed in place (nothing in the service does; a repair by hand, or a fault, could): it is
-- measured again, and the family of its child (or expectant parent, or home) evaluated and assigned
-- again, as a run over everything would see it.
CREATE FUNCTION flag_changes_updated_records() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO flag_changes (reader, record_id)
    SELECT r.reader, n.id FROM new_rows n CROSS JOIN flag_changes_readers(ARRAY['indicators']) r(reader);
    INSERT INTO flag_changes (reader, child_id, record_id)
    SELECT r.reader, cr.child_id, n.id FROM new_rows n LEFT JOIN child_records cr ON cr.record_id = n.id
    CROSS JOIN flag_changes_readers(ARRAY['flags', 'teams']) r(reader);
    INSERT INTO flag_changes (reader, family_id)
    SELECT DISTINCT r.reader, f.family_id FROM new_rows n JOIN families f ON f.address_record_id = n.id
    CROSS JOIN flag_changes_readers(ARRAY['flags', 'teams']) r(reader);
    RETURN NULL;
END
$$;
CREATE TRIGGER flag_changes_updated_records AFTER UPDATE ON source_records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION flag_changes_updated_records();

-- A table emptied at once tells nothing row by row: everything is evaluated again.
CREATE FUNCTION flag_state_forget() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM flag_state;
    DELETE FROM team_state;
    DELETE FROM indicator_state;
    RETURN NULL;
END
$$;
CREATE TRIGGER flag_state_forget AFTER TRUNCATE ON indicators FOR EACH STATEMENT EXECUTE FUNCTION flag_state_forget();
CREATE TRIGGER flag_state_forget AFTER TRUNCATE ON family_members FOR EACH STATEMENT EXECUTE FUNCTION flag_state_forget();
CREATE TRIGGER flag_state_forget AFTER TRUNCATE ON families FOR EACH STATEMENT EXECUTE FUNCTION flag_state_forget();
CREATE TRIGGER flag_state_forget AFTER TRUNCATE ON flags FOR EACH STATEMENT EXECUTE FUNCTION flag_state_forget();
CREATE TRIGGER flag_state_forget AFTER TRUNCATE ON flag_evidence FOR EACH STATEMENT EXECUTE FUNCTION flag_state_forget();
CREATE TRIGGER flag_state_forget AFTER TRUNCATE ON flag_rules FOR EACH STATEMENT EXECUTE FUNCTION flag_state_forget();
CREATE TRIGGER flag_state_forget AFTER TRUNCATE ON flag_suppressions FOR EACH STATEMENT EXECUTE FUNCTION flag_state_forget();
CREATE TRIGGER flag_state_forget AFTER TRUNCATE ON child_records FOR EACH STATEMENT EXECUTE FUNCTION flag_state_forget();
CREATE TRIGGER flag_state_forget AFTER TRUNCATE ON source_records FOR EACH STATEMENT EXECUTE FUNCTION flag_state_forget();

-- Changes before this migration were not noted: the next refresh measures everything once.
DELETE FROM indicator_state;

-- The indicators in force by definition name after the last refresh (counts only), so the next one
-- reports them without counting the table. Deleting indicators outside the refresh (erasure, purge)
-- clears it: the next refresh counts again.
ALTER TABLE indicator_state ADD COLUMN in_force jsonb;
CREATE FUNCTION indicator_state_recount() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE indicator_state SET in_force = NULL WHERE in_force IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER indicator_state_recount AFTER DELETE ON indicators FOR EACH STATEMENT EXECUTE FUNCTION indicator_state_recount();

-- The expectant mothers whose reviews a refresh reads again, in proportion to them.
CREATE INDEX source_records_expectant_mother ON source_records (carer_nhs_number) WHERE subject = 'expectant_parent';
