-- A first families run (or one after a TRUNCATE) writes every family row at once into empty tables
-- (at 100,000 children: 272,022 grouping keys, 92,540 address spans, 89,235 membership events,
-- 67,460 links). Their primary keys are written in key order (the grouper sorts each COPY), so those
-- btrees grow at their right edge; but the secondary btrees, on a random family id or key hash, grew
-- row by row at random pages: at 1M records the `family_keys` COPY alone was 3.2 s of server time
-- (issue 14). Built once afterwards from the filled table, each costs one sort.
--
-- `family_tables_first_fill_begin()` drops the secondary indexes of each of these tables that is
-- empty, and `family_tables_first_fill_end()` builds any that are missing again with the definitions
-- of migrations 0004, 0030 and 0080, in the same transaction: a failed run rolls both back, and no
-- one sees a table without them (DROP INDEX holds the table's exclusive lock until the commit). The
-- service's role does not own the tables, hence SECURITY DEFINER; no one else may call them. The
-- same pattern as migration 0085 for `indicators`.

-- The secondary indexes concerned, each with its table and the definition migrations 0004, 0030 and
-- 0080 gave it (one list, read by both functions).
CREATE FUNCTION family_tables_secondary_indexes() RETURNS TABLE (table_name text, index_name text, definition text)
LANGUAGE sql IMMUTABLE AS $$
    VALUES
        ('family_keys', 'family_keys_key', 'CREATE INDEX family_keys_key ON family_keys (key)'),
        ('family_members', 'family_members_family', 'CREATE INDEX family_members_family ON family_members (family_id)'),
        ('family_membership_events', 'family_membership_events_child',
         'CREATE INDEX family_membership_events_child ON family_membership_events (child_id)'),
        ('family_membership_events', 'family_membership_events_to',
         'CREATE INDEX family_membership_events_to ON family_membership_events (to_family)'),
        ('family_membership_events', 'family_membership_events_from',
         'CREATE INDEX family_membership_events_from ON family_membership_events (from_family)'),
        ('family_id_events', 'family_id_events_family', 'CREATE INDEX family_id_events_family ON family_id_events (family_id)'),
        ('family_links', 'family_links_family', 'CREATE INDEX family_links_family ON family_links (family_id)'),
        ('family_member_addresses', 'family_member_addresses_family',
         'CREATE INDEX family_member_addresses_family ON family_member_addresses (family_id)'),
        ('family_member_addresses', 'family_member_addresses_record',
         'CREATE INDEX family_member_addresses_record ON family_member_addresses (record_id)')
$$;

CREATE FUNCTION family_tables_first_fill_begin() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    target record;
    doomed record;
    empty boolean;
    dropped boolean := false;
BEGIN
    LOCK TABLE family_keys, family_members, family_membership_events, family_id_events, family_links,
        family_member_addresses IN SHARE ROW EXCLUSIVE MODE;
    FOR target IN SELECT DISTINCT table_name FROM family_tables_secondary_indexes() LOOP
        EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I)', target.table_name) INTO empty;
        CONTINUE WHEN NOT empty;
        FOR doomed IN SELECT index_name FROM family_tables_secondary_indexes() WHERE table_name = target.table_name LOOP
            EXECUTE format('DROP INDEX IF EXISTS %I', doomed.index_name);
            dropped := true;
        END LOOP;
    END LOOP;
    RETURN dropped;
END
$$;

CREATE FUNCTION family_tables_first_fill_end() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    missing record;
BEGIN
    FOR missing IN
        SELECT definition FROM family_tables_secondary_indexes()
        WHERE to_regclass(index_name) IS NULL
    LOOP
        EXECUTE missing.definition;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION family_tables_first_fill_begin(), family_tables_first_fill_end() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION family_tables_first_fill_begin(), family_tables_first_fill_end() TO familyconnect_service;
