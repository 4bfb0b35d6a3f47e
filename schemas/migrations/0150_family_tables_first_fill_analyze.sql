-- A first families run ends with statistics for the two tables the flags stage reads next
-- (`families`, `family_members`: the team assignment, the flag rules and the export join them).
-- Filled in one transaction, they had none until autovacuum's next pass analysed them, which on a
-- quiet machine landed before some flag statements were planned and after others, so day one's
-- flags varied by seconds of server time between runs (issue 14). The service's role may not
-- ANALYZE; this function is owner-run (SECURITY DEFINER, as migration 0105 made it), so the
-- analysis happens here, once, in the transaction that filled them. The other family tables are
-- read by key on later days only; autovacuum analyses them as before.
CREATE OR REPLACE FUNCTION family_tables_first_fill_end() RETURNS void
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
    ANALYZE families;
    ANALYZE family_members;
END
$$;

REVOKE ALL ON FUNCTION family_tables_first_fill_end() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION family_tables_first_fill_end() TO familyconnect_service;
