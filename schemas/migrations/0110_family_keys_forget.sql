-- Grouping keys leave with the records they were made from.
--
-- `family_keys` holds hashes of an address, a carer's name and birth date, an NHS or NI number:
-- derived from personal data. Erasure and the retention purge remove records in one transaction;
-- the keys of every member those records belonged to go in that transaction too, not at the next
-- families run. The members' keys are all removed (which of a member's keys came from the removed
-- records is known only to a run that reads the rest of its records): the next run writes the keys
-- of their remaining records again.
--
-- Before the keys go, every member that shared one of them is noted in `family_changes`. The next
-- incremental run finds what was connected through the removed keys from those notes, since it can
-- no longer find it from the keys themselves; it then regroups what a run over every record would.
-- Without family state there is nothing to note: the next run reads every record anyway.
CREATE FUNCTION family_keys_forget(forgotten text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    removed integer;
BEGIN
    IF family_changes_wanted() THEN
        INSERT INTO family_changes (member)
        SELECT DISTINCT sharing.member
        FROM family_keys held JOIN family_keys sharing ON sharing.key = held.key
        WHERE held.member = ANY(forgotten);
    END IF;
    DELETE FROM family_keys WHERE member = ANY(forgotten);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION family_keys_forget(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION family_keys_forget(text[]) TO familyconnect_service;
