-- Statistics after a flag stage that wrote every row (issue 14). A first indicator refresh writes
-- about 300,000 indicators, a first flag run every family's outcome, flag and evidence: until
-- autovacuum gets round to them, the planner sees the empty tables of the day before, and the next
-- day's scoped reads (a few thousand families, through the indexes) were planned as joins of whole
-- tables (next-day flags 4.5 s; 2.8 s with fresh statistics, at 1M records, session 7's profile).
-- The service's role does not own these tables and may not ANALYZE them, hence SECURITY DEFINER, as
-- the first-fill functions of migration 0085; no one else may call them. Statistics written in the
-- caller's transaction go with it should it roll back.

CREATE FUNCTION indicator_tables_analyze() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    -- `indicator_measured` is read by primary key only: not analysed (no next-day difference was
    -- measured at 100,000 children with and without it).
    ANALYZE indicators;
END
$$;

CREATE FUNCTION flag_tables_analyze() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    -- The tables the next run reads by family (team look-ups go by primary key: not analysed).
    ANALYZE flag_family_outcomes;
    ANALYZE flags;
    ANALYZE flag_rules;
    ANALYZE flag_evidence;
END
$$;

REVOKE ALL ON FUNCTION indicator_tables_analyze(), flag_tables_analyze() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION indicator_tables_analyze(), flag_tables_analyze() TO familyconnect_service;
