-- What the last indicator refresh measured, so the next one reads again only the records whose
-- indicators can have changed: new records, records moved to another child (or unlinked), records
-- whose extract date now counts differently, and the health visiting records of a child whose
-- reviews changed. A change of definitions, or no state at all, measures everything again.
CREATE TABLE indicator_measured (
    record_id bigint PRIMARY KEY REFERENCES source_records (id) ON DELETE CASCADE,
    -- The child the record belonged to when it was measured; NULL for an expectant parent's record.
    child_id text
);

-- One row: the definitions (a fingerprint, no personal data) and the as-of date of that state.
CREATE TABLE indicator_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    definitions text NOT NULL,
    as_of date NOT NULL
);

-- An indicator deleted outside the refresh (an erasure, a record removal): its record is measured
-- again at the next refresh, as a refresh of everything would.
CREATE FUNCTION indicators_forget_measured() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM indicator_measured m USING gone g WHERE m.record_id = g.record_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER indicators_forget_measured AFTER DELETE ON indicators
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION indicators_forget_measured();
