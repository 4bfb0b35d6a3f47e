-- A first full resolution (or one after the keys were dropped) writes every row of three tables
-- at once into empty tables: at 100,000 children (harsh noise, 266,229 records) 2,085,705 blocking
-- keys, 266,229 assignments and 179,602 links. Their secondary btrees grew row by row: the keys'
-- index on `key` (written in key order, yet each row an index insertion), `child_records_child`
-- on a random text id, `record_links_b` on the second record. Built once afterwards from the
-- filled table, each costs one sort. Measured with psql on that run's rows (load 14, so the
-- times are inflated, the ratios less so): keys 8.7 s with the index against 2.8 + 1.5 s without
-- it and built after; assignments 4.3 s against 1.1 + 1.0 s (rows in record order, so the primary
-- key grows at its end); links 2.8 s against 1.4 + 0.3 s (issue 14).
--
-- `resolution_first_fill_begin(target)` drops the secondary indexes of one of these tables if it
-- is empty, and `resolution_first_fill_end(target)` builds any that are missing again with the
-- definitions of migration 0003, in the same transaction: a failed run rolls both back,
-- and no one sees a table without them (DROP INDEX holds the table's exclusive lock until the
-- commit; only a first fill, when there is nothing to read yet, waits on it). The service's role
-- does not own the tables, hence SECURITY DEFINER; no one else may call them. The same pattern as
-- migration 0105 for the family tables.

-- The secondary indexes concerned, each with its table and the definition migration 0003
-- gave it (one list, read by both functions). A migration that changes one of these indexes
-- replaces this function too.
CREATE FUNCTION resolution_tables_secondary_indexes() RETURNS TABLE (table_name text, index_name text, definition text)
LANGUAGE sql IMMUTABLE AS $$
    VALUES
        ('record_blocking_keys', 'record_blocking_keys_key',
         'CREATE INDEX record_blocking_keys_key ON record_blocking_keys (key)'),
        ('child_records', 'child_records_child', 'CREATE INDEX child_records_child ON child_records (child_id)'),
        ('record_links', 'record_links_b', 'CREATE INDEX record_links_b ON record_links (record_b)')
$$;

CREATE FUNCTION resolution_first_fill_begin(target text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    doomed record;
    empty boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM resolution_tables_secondary_indexes() i WHERE i.table_name = target) THEN
        RAISE EXCEPTION 'resolution_first_fill_begin: not a table it fills' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', target);
    EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I)', target) INTO empty;
    IF NOT empty THEN
        RETURN false;
    END IF;
    FOR doomed IN SELECT i.index_name FROM resolution_tables_secondary_indexes() i WHERE i.table_name = target LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I', doomed.index_name);
    END LOOP;
    RETURN true;
END
$$;

CREATE FUNCTION resolution_first_fill_end(target text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    missing record;
BEGIN
    FOR missing IN
        SELECT i.definition FROM resolution_tables_secondary_indexes() i
        WHERE i.table_name = target AND to_regclass(i.index_name) IS NULL
    LOOP
        EXECUTE missing.definition;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION resolution_first_fill_begin(text), resolution_first_fill_end(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION resolution_first_fill_begin(text), resolution_first_fill_end(text) TO familyconnect_service;
