-- A first families run writes every member's grouping keys while the graph groups on the other core
-- (`FamilyGrouper.groupBesideKeys`, issue 14): the keys depend on the records alone. Their secondary
-- index (`family_keys_key`, about 1M hashes at 1M records) is then built at once, still beside the
-- grouping, instead of in `family_tables_first_fill_end()` after every other table's writes; that
-- function builds only the indexes still missing, so it skips this one. Same transaction, same
-- definitions (`family_tables_secondary_indexes()`, migration 0105), owner-run for the same reason.
CREATE FUNCTION family_table_first_fill_end(target text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    missing record;
BEGIN
    FOR missing IN
        SELECT definition FROM family_tables_secondary_indexes()
        WHERE table_name = target AND to_regclass(index_name) IS NULL
    LOOP
        EXECUTE missing.definition;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION family_table_first_fill_end(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION family_table_first_fill_end(text) TO familyconnect_service;
