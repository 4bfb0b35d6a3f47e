-- Statistics for the tables a full resolution has just filled, written by the stage that filled
-- them (issue 14). A full run writes every assignment, child, id event, link and blocking key at
-- once; until autovacuum's next pass the planner has no column statistics for them. That pass
-- came about 40 s after resolve ended (the 60 s naptime), so it analysed them during families,
-- flags or export depending on when the cycle started: the statements planned before it and the
-- ones planned after it saw different tables, which fits the spread of those stages' day-one
-- times between runs (session 11: flags 13.3-21.2 s). Analysed here, once, right after the full
-- run commits, every later stage plans against the same statistics, and autovacuum finds nothing
-- left to analyse (its insert-triggered vacuum still runs: the service's role may not VACUUM).
-- Incremental runs add a few thousand rows to a million: autovacuum's thresholds (10% changed)
-- cover them as before, so the stage calls this after full runs only. The service's role does not
-- own these tables, hence SECURITY DEFINER, as the first-fill functions of migration 0140; no one
-- else may call it.
CREATE FUNCTION resolution_tables_analyze() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    ANALYZE child_records;
    ANALYZE children;
    ANALYZE child_id_events;
    ANALYZE record_links;
    ANALYZE record_blocking_keys;
    ANALYZE record_blocking_digests;
END
$$;

REVOKE ALL ON FUNCTION resolution_tables_analyze() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION resolution_tables_analyze() TO familyconnect_service;
