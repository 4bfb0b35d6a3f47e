-- Families in proportion to what changed.
--
-- A family is a connected group of links, and every link (and every guard that stops one) is decided
-- from the records of members that share a grouping key: an address (by postcode or UPRN, or by
-- premises and town), a carer key (NHS number, NI number, name and date of birth, phone), or a police
-- incident. Members that share no key, directly or through other members, cannot affect each other's
-- grouping. So a run regroups only the members connected by keys to a member whose records changed,
-- and gets exactly the families a run over every record would (FamiliesTests.IncrementalGroupingTests).
--
-- `family_keys` holds each member's keys as 64-bit hashes (a collision can only make a run read
-- more members, never fewer). Triggers note in `family_changes` every member whose records, child id
-- or standing changed. Without state (the first run, changed settings or grouping code, a TRUNCATE)
-- a run reads every record and rebuilds the keys.

-- The three tables are UNLOGGED: no WAL for the key rows a first run writes (one per key of each
-- member). Crash recovery empties every unlogged table together, and a standby or a base
-- backup has them empty: then there is no state, and the next run reads every record, as a first run
-- does. They can never be out of step with one another (all kept, or all emptied).

-- One row: what the stored families and keys were computed with (settings and grouping version).
-- With the totals after that run, so a run that reads only some members reports them without counting.
CREATE UNLOGGED TABLE family_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint text NOT NULL,
    families integer NOT NULL,
    children integer NOT NULL,
    expectant_parents integer NOT NULL
);

-- Each member's grouping keys (hashes, no text): a child id, or 'E' || record id for an expectant parent.
CREATE UNLOGGED TABLE family_keys (
    member text NOT NULL,
    key bigint NOT NULL,
    PRIMARY KEY (member, key)
);
-- A row per key under a btree: who holds any of a few thousand keys is that many index probes. (One
-- row per member with a GIN-indexed array had fewer rows to write, but a GIN search for 5,000 keys
-- over 90,000 rows took 2 s: its consistent check compares every item with every key asked.)
CREATE INDEX family_keys_key ON family_keys (key);

-- Members whose evidence changed since the last families run (a member key), or records changed in
-- place whose child is looked up when the run reads the note.
CREATE UNLOGGED TABLE family_changes (
    member text,
    record_id bigint
);

CREATE FUNCTION family_changes_wanted() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM family_state)
$$;

-- A record: an expectant parent's is its own member; a child's is noted through child_records (a new
-- record has no child yet: resolution's insert into child_records notes it).
CREATE FUNCTION family_changes_records() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT family_changes_wanted() THEN RETURN NULL; END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO family_changes (member, record_id)
        SELECT CASE WHEN subject = 'expectant_parent' THEN 'E' || id END,
               CASE WHEN subject = 'expectant_parent' THEN NULL ELSE id END
        FROM new_rows WHERE TG_OP = 'UPDATE' OR subject = 'expectant_parent';
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO family_changes (member) SELECT 'E' || id FROM old_rows WHERE subject = 'expectant_parent';
        -- The child, while its link to the record is still there.
        INSERT INTO family_changes (member)
        SELECT DISTINCT cr.child_id FROM old_rows o JOIN child_records cr ON cr.record_id = o.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER family_changes_records_insert AFTER INSERT ON source_records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_records();
CREATE TRIGGER family_changes_records_update AFTER UPDATE ON source_records
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_records();
CREATE TRIGGER family_changes_records_delete AFTER DELETE ON source_records
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_records();

-- A record linked to a child, moved to another or unlinked: the children on both sides.
CREATE FUNCTION family_changes_child_records() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT family_changes_wanted() THEN RETURN NULL; END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO family_changes (member) SELECT DISTINCT child_id FROM new_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Grouped by record rather than a join of the two transition tables (no index on them).
        INSERT INTO family_changes (member)
        SELECT DISTINCT unnest(children) FROM (
            SELECT array_agg(DISTINCT child_id) AS children FROM (
                SELECT record_id, child_id FROM old_rows UNION ALL SELECT record_id, child_id FROM new_rows) sides
            GROUP BY record_id HAVING count(DISTINCT child_id) > 1) moved;
    ELSE
        INSERT INTO family_changes (member) SELECT DISTINCT child_id FROM old_rows;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER family_changes_child_records_insert AFTER INSERT ON child_records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_child_records();
CREATE TRIGGER family_changes_child_records_update AFTER UPDATE ON child_records
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_child_records();
CREATE TRIGGER family_changes_child_records_delete AFTER DELETE ON child_records
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_child_records();

-- A child id merged into another or retired stops being a member.
CREATE FUNCTION family_changes_children() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT family_changes_wanted() THEN RETURN NULL; END IF;
    INSERT INTO family_changes (member)
    SELECT child_id FROM (
        SELECT child_id, coalesce(merged_into, '') || '|' || (retired_at IS NULL)::text AS standing FROM old_rows
        UNION ALL
        SELECT child_id, coalesce(merged_into, '') || '|' || (retired_at IS NULL)::text FROM new_rows) sides
    GROUP BY child_id HAVING count(DISTINCT standing) > 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER family_changes_children_update AFTER UPDATE ON children
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_children();

-- A batch's load date is the evidence date of records that carry none of their own.
CREATE FUNCTION family_changes_batches() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT family_changes_wanted() THEN RETURN NULL; END IF;
    INSERT INTO family_changes (member, record_id)
    SELECT CASE WHEN sr.subject = 'expectant_parent' THEN 'E' || sr.id END,
           CASE WHEN sr.subject = 'expectant_parent' THEN NULL ELSE sr.id END
    FROM (SELECT id FROM new_rows EXCEPT SELECT n.id FROM new_rows n JOIN old_rows o USING (id, committed_at)) b
    JOIN source_records sr ON sr.batch_id = b.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER family_changes_batches_update AFTER UPDATE ON feed_batches
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_batches();

-- What a run wrote, changed or deleted by anyone else (an erasure, a hand edit): the members
-- concerned are regrouped, so the next run writes their rows again as a run over every record would.
-- A families run sets familyconnect.family_run for its transaction: its own writes are not changes.
-- No INSERT triggers: a transition table would capture every row a first run writes (rows added by
-- hand are removed by `families --everyone`).
CREATE FUNCTION family_changes_outputs_wanted() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('familyconnect.family_run', true), '') <> 'on' AND family_changes_wanted()
$$;

CREATE FUNCTION family_changes_outputs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT family_changes_outputs_wanted() THEN RETURN NULL; END IF;
    IF TG_TABLE_NAME = 'family_links' THEN
        INSERT INTO family_changes (member)
        SELECT member_a FROM changed_rows UNION SELECT member_b FROM changed_rows;
    ELSIF TG_TABLE_NAME = 'family_member_addresses' THEN
        INSERT INTO family_changes (member) SELECT DISTINCT member FROM changed_rows;
    ELSIF TG_TABLE_NAME = 'family_members' THEN
        INSERT INTO family_changes (member)
        SELECT DISTINCT coalesce(child_id, 'E' || expectant_record_id) FROM changed_rows;
    ELSE
        INSERT INTO family_changes (member)
        SELECT DISTINCT coalesce(m.child_id, 'E' || m.expectant_record_id)
        FROM (SELECT DISTINCT family_id FROM changed_rows) f JOIN family_members m ON m.family_id = f.family_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER family_changes_links_update AFTER UPDATE ON family_links
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_outputs();
CREATE TRIGGER family_changes_links_delete AFTER DELETE ON family_links
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_outputs();
CREATE TRIGGER family_changes_spans_update AFTER UPDATE ON family_member_addresses
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_outputs();
CREATE TRIGGER family_changes_spans_delete AFTER DELETE ON family_member_addresses
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_outputs();
CREATE TRIGGER family_changes_members_update AFTER UPDATE ON family_members
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_outputs();
CREATE TRIGGER family_changes_members_delete AFTER DELETE ON family_members
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_outputs();
CREATE TRIGGER family_changes_families_update AFTER UPDATE ON families
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION family_changes_outputs();

-- A TRUNCATE of anything grouping reads or writes: the next run reads every record.
CREATE FUNCTION family_state_forget() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM family_state;
    RETURN NULL;
END
$$;
CREATE TRIGGER family_state_forget AFTER TRUNCATE ON source_records FOR EACH STATEMENT EXECUTE FUNCTION family_state_forget();
CREATE TRIGGER family_state_forget AFTER TRUNCATE ON child_records FOR EACH STATEMENT EXECUTE FUNCTION family_state_forget();
CREATE TRIGGER family_state_forget AFTER TRUNCATE ON children FOR EACH STATEMENT EXECUTE FUNCTION family_state_forget();
CREATE TRIGGER family_state_forget AFTER TRUNCATE ON feed_batches FOR EACH STATEMENT EXECUTE FUNCTION family_state_forget();
CREATE TRIGGER family_state_forget AFTER TRUNCATE ON families FOR EACH STATEMENT EXECUTE FUNCTION family_state_forget();
CREATE TRIGGER family_state_forget AFTER TRUNCATE ON family_members FOR EACH STATEMENT EXECUTE FUNCTION family_state_forget();
CREATE TRIGGER family_state_forget AFTER TRUNCATE ON family_links FOR EACH STATEMENT EXECUTE FUNCTION family_state_forget();
CREATE TRIGGER family_state_forget AFTER TRUNCATE ON family_member_addresses FOR EACH STATEMENT EXECUTE FUNCTION family_state_forget();
CREATE TRIGGER family_state_forget AFTER TRUNCATE ON family_keys FOR EACH STATEMENT EXECUTE FUNCTION family_state_forget();
