-- A first flag run writes every indicator and every family's team at once (about 300,000
-- indicators and 370,000 teams for 1M records). Two costs of that bulk write are per row where
-- they need not be (issue 14, measured at 100,000 children, 80,000 indicators, 55,000 teams):
--
-- 1. Three secondary indexes of `indicators` (child, starts_on, ends_on) grown row by row: 1.38 s of
--    server CPU for the COPY against 0.91 s without them. Building them once afterwards takes a
--    fraction of that. `indicators_first_fill_begin()` drops them, only while the table is empty,
--    and `indicators_first_fill_end()` builds them again with the same definitions, in the same
--    transaction: a failed run rolls both back, and readers never see the table without them
--    (DROP INDEX holds the table's exclusive lock until the commit). The service's role does not own
--    the table, hence SECURITY DEFINER; no one else may call them.
-- 2. `family_teams.family_id` checked by a foreign key, row by row, locking each family it names:
--    0.46 s against 0.17 s for the same COPY without it. The reference is checked here once per
--    statement, set-based, as migration 0061 does for indicators and flag evidence; a family still
--    assigned to a team cannot be deleted.

CREATE FUNCTION indicators_first_fill_begin() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    LOCK TABLE indicators IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM indicators) THEN
        RETURN false;
    END IF;
    DROP INDEX IF EXISTS indicators_child;
    DROP INDEX IF EXISTS indicators_starts_on;
    DROP INDEX IF EXISTS indicators_ends_on;
    RETURN true;
END
$$;

CREATE FUNCTION indicators_first_fill_end() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    -- The definitions of migrations 0005 and 0060.
    CREATE INDEX IF NOT EXISTS indicators_child ON indicators (child_id) WHERE withdrawn_at IS NULL;
    CREATE INDEX IF NOT EXISTS indicators_starts_on ON indicators (starts_on) WHERE withdrawn_at IS NULL;
    CREATE INDEX IF NOT EXISTS indicators_ends_on ON indicators (ends_on) WHERE withdrawn_at IS NULL;
END
$$;

REVOKE ALL ON FUNCTION indicators_first_fill_begin(), indicators_first_fill_end() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION indicators_first_fill_begin(), indicators_first_fill_end() TO familyconnect_service;

ALTER TABLE family_teams DROP CONSTRAINT IF EXISTS family_teams_family_id_fkey;

CREATE FUNCTION family_teams_check_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed n WHERE NOT EXISTS (SELECT 1 FROM families f WHERE f.family_id = n.family_id)) THEN
        RAISE EXCEPTION 'family_teams.family_id names a family that does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER family_teams_inserted AFTER INSERT ON family_teams
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION family_teams_check_references();
CREATE TRIGGER family_teams_updated AFTER UPDATE ON family_teams
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION family_teams_check_references();

CREATE FUNCTION families_keep_teams() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM family_teams t JOIN gone g ON g.family_id = t.family_id) THEN
        RAISE EXCEPTION 'a family is still assigned to a team: delete its team first' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER families_keep_teams AFTER DELETE ON families
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION families_keep_teams();
