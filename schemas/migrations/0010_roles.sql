-- Least-privilege database roles, the outreach teams' own view of their flags (row-level security
-- by team), and a tamper-proof "who" in the access audit.
--
-- Four group roles (NOLOGIN: people and the daemon log in as their own users, members of one group):
--
--   familyconnect_service   the daemon (and whoever runs ingest, resolve, purge, erase, sar): reads
--                           and writes every table; the only role that writes the raw partner tables.
--                           May add to access_audit, never change or delete it.
--   familyconnect_officer   a data officer: reads records and match results, families and flags;
--                           works the review queue (inserts review_decisions, sets review_pairs.status)
--                           and adds to access_audit. No DDL, no other writes, cannot read the audit.
--   familyconnect_outreach  an outreach worker: reads outreach_flags (its own team's exported flags:
--                           row-level security by team through outreach_team_members) and nothing else.
--   familyconnect_auditor   read-only: every table and view, including access_audit (not the
--                           erasure key, which would let anyone who holds it test guesses against tombstones).
--
-- Roles are cluster-wide: they are created only if missing, so every database of a cluster (and
-- every test database) shares them. Grants are per database and are (re)applied by
-- familyconnect_apply_grants(), which later migrations call after creating tables.
--
-- Database-level privileges (who may connect, who may create temporary tables) are set by
-- familyconnect_secure_database(), called below for the database being migrated. CREATE DATABASE
-- … TEMPLATE does not copy them: call it again in a database made from a migrated template.
-- People then get their own logins: CREATE ROLE alice LOGIN IN ROLE familyconnect_officer; …

DO $$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['familyconnect_service', 'familyconnect_officer', 'familyconnect_outreach', 'familyconnect_auditor']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = wanted) THEN
            BEGIN
                -- The name comes from the list above, never from input.
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database of the cluster created it at the same moment
            END;
        END IF;
    END LOOP;
END $$;

-- ---------------------------------------------------------------------------------------------
-- Access audit: the database, not the client, says who inserted an entry and when.

CREATE FUNCTION access_audit_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.at := now();
    NEW.database_role := CASE WHEN session_user = current_user THEN session_user::text
                              ELSE session_user::text || ' as ' || current_user::text END;
    RETURN NEW;
END $$;

CREATE TRIGGER access_audit_stamp BEFORE INSERT ON access_audit
    FOR EACH ROW EXECUTE FUNCTION access_audit_stamp();
CREATE INDEX access_audit_subjects ON access_audit USING gin (subject_ids);

-- A generic append-only guard for the privacy ledgers added by later migrations.
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

-- ---------------------------------------------------------------------------------------------
-- Review decisions made by a data officer are applied by the service (the officer may not write
-- the match results): a decision is pending until a resolution run has re-clustered its records.

ALTER TABLE review_decisions ADD COLUMN applied_at timestamptz;
UPDATE review_decisions SET applied_at = decided_at;
COMMENT ON COLUMN review_decisions.applied_at IS
    'When a resolution run re-clustered the two records with this decision; NULL while pending.';
CREATE INDEX review_decisions_pending ON review_decisions (decided_at) WHERE applied_at IS NULL;

-- ---------------------------------------------------------------------------------------------
-- Outreach: which database roles (a login, or a group of logins) belong to which team.

CREATE TABLE outreach_team_members (
    db_role text NOT NULL,
    team text NOT NULL CHECK (team ~ '^[a-z0-9_]+$'),
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (db_role, team)
);
COMMENT ON TABLE outreach_team_members IS
    'Database role (login or group) → outreach team: whose rows of outreach_flags a role may read.';

-- The teams of a role, including through membership of a group role. SECURITY DEFINER so that
-- outreach workers need no access to the mapping itself; the policy passes current_user.
CREATE FUNCTION familyconnect_member_teams(who text) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT coalesce(array_agg(DISTINCT m.team), '{}'::text[])
    FROM outreach_team_members m
    JOIN pg_catalog.pg_roles r ON r.rolname = m.db_role
    JOIN pg_catalog.pg_roles me ON me.rolname = who
    WHERE pg_catalog.pg_has_role(me.oid, r.oid, 'MEMBER')
$$;

-- What each team has been sent: one row per flag and team, written when the flag enters the
-- export ledger. Ids, dates and plain-English reasons only (the names and address went in the
-- file itself); nothing of the raw partner records.
CREATE TABLE outreach_flag_export (
    flag_id text NOT NULL REFERENCES flags (flag_id) ON DELETE CASCADE,
    team text NOT NULL,
    family_id text NOT NULL,
    first_flagged_on date NOT NULL,
    status text NOT NULL,
    reasons text NOT NULL,
    child_ids text[] NOT NULL DEFAULT '{}',
    export_file text,
    exported_at timestamptz NOT NULL,
    PRIMARY KEY (flag_id, team)
);
CREATE INDEX outreach_flag_export_team ON outreach_flag_export (team);

CREATE FUNCTION outreach_flag_export_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outreach_flag_export (flag_id, team, family_id, first_flagged_on, status, reasons, child_ids, export_file, exported_at)
    SELECT f.flag_id, NEW.team, f.family_id, f.first_flagged_on, f.status,
           coalesce((SELECT string_agg(r.reason, E'\n' ORDER BY r.first_fired_at, r.rule_name) FROM flag_rules r
                     WHERE r.flag_id = f.flag_id), f.reason),
           coalesce((SELECT array_agg(m.child_id ORDER BY m.child_id) FROM family_members m
                     WHERE m.family_id = f.family_id AND m.child_id IS NOT NULL), '{}'::text[]),
           (SELECT e.file_name FROM export_files e WHERE e.id = NEW.export_file_id),
           NEW.exported_at
    FROM flags f WHERE f.flag_id = NEW.flag_id
    ON CONFLICT (flag_id, team) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER export_ledger_to_outreach AFTER INSERT ON export_ledger
    FOR EACH ROW EXECUTE FUNCTION outreach_flag_export_add();

CREATE FUNCTION outreach_flag_export_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outreach_flag_export SET status = NEW.status WHERE flag_id = NEW.flag_id AND status IS DISTINCT FROM NEW.status;
    RETURN NULL;
END $$;
CREATE TRIGGER flags_status_to_outreach AFTER UPDATE OF status ON flags
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION outreach_flag_export_status();

-- What was exported before this migration.
INSERT INTO outreach_flag_export (flag_id, team, family_id, first_flagged_on, status, reasons, child_ids, export_file, exported_at)
SELECT f.flag_id, l.team, f.family_id, f.first_flagged_on, f.status,
       coalesce((SELECT string_agg(r.reason, E'\n' ORDER BY r.first_fired_at, r.rule_name) FROM flag_rules r
                 WHERE r.flag_id = f.flag_id), f.reason),
       coalesce((SELECT array_agg(m.child_id ORDER BY m.child_id) FROM family_members m
                 WHERE m.family_id = f.family_id AND m.child_id IS NOT NULL), '{}'::text[]),
       e.file_name, l.exported_at
FROM export_ledger l JOIN flags f ON f.flag_id = l.flag_id JOIN export_files e ON e.id = l.export_file_id;

ALTER TABLE outreach_flag_export ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_all ON outreach_flag_export TO familyconnect_service USING (true) WITH CHECK (true);
CREATE POLICY readers_all ON outreach_flag_export FOR SELECT TO familyconnect_officer, familyconnect_auditor USING (true);
CREATE POLICY outreach_own_team ON outreach_flag_export FOR SELECT TO familyconnect_outreach
    USING (team = ANY (familyconnect_member_teams(current_user::text)));

-- The outreach role's one view. security_invoker: the row-level security above applies to the
-- person reading, not to the view's owner.
CREATE VIEW outreach_flags WITH (security_invoker = true) AS
SELECT team, flag_id, family_id, first_flagged_on, status, reasons, child_ids, export_file, exported_at
FROM outreach_flag_export;
COMMENT ON VIEW outreach_flags IS 'Each outreach team''s exported flags; a member of familyconnect_outreach sees its own team''s rows only.';

-- ---------------------------------------------------------------------------------------------
-- Grants. Re-applied by later migrations (SELECT familyconnect_apply_grants();) after they add tables.

CREATE FUNCTION familyconnect_apply_grants() RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    s text := current_schema();
BEGIN
    -- Nothing by default; no one but the owner creates objects.
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC', s);
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', s);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO familyconnect_service, familyconnect_officer, familyconnect_outreach, familyconnect_auditor', s);

    -- The service: every table (TRUNCATE: full resolution runs rebuild derived tables), every sequence.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA %I TO familyconnect_service', s);
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO familyconnect_service', s);
    REVOKE UPDATE, DELETE, TRUNCATE ON access_audit FROM familyconnect_service;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM familyconnect_service;

    -- The auditor: reads everything.
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO familyconnect_auditor', s);

    -- The data officer: records and match results, families and flags, the review queue.
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM familyconnect_officer', s);
    GRANT SELECT ON
        feed_batches, source_records,
        resolution_runs, match_models, name_frequencies, children, child_records, child_id_events, record_links,
        review_pairs, review_decisions, child_id_resolution, child_summary,
        family_runs, families, family_members, family_membership_events, family_id_events, family_links, family_id_resolution,
        supporting_families_outcomes, indicator_runs, indicators, flag_runs, flags, flag_rules, flag_evidence, flag_events,
        flag_suppressions, outreach_teams, outreach_team_areas, family_teams, export_files, export_ledger,
        family_overview, flag_evidence_detail, indicator_counts, outreach_flag_export, outreach_flags
        TO familyconnect_officer;
    GRANT INSERT (record_a, record_b, decision, decided_by, os_user, decided_at, reason) ON review_decisions TO familyconnect_officer;
    GRANT UPDATE (decision, decided_by, os_user, decided_at, reason, applied_at) ON review_decisions TO familyconnect_officer;
    GRANT UPDATE (status) ON review_pairs TO familyconnect_officer;
    GRANT INSERT (os_user, action, subject_ids, reason) ON access_audit TO familyconnect_officer;
    GRANT USAGE ON SEQUENCE access_audit_id_seq TO familyconnect_officer;

    -- Outreach: its own view, nothing else.
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM familyconnect_outreach', s);
    GRANT SELECT ON outreach_flag_export, outreach_flags TO familyconnect_outreach;

    -- The key behind the erasure tombstones is the service's alone (migration 0012).
    IF to_regclass('erasure_secret') IS NOT NULL THEN
        REVOKE ALL ON erasure_secret FROM familyconnect_auditor, familyconnect_officer, familyconnect_outreach;
    END IF;
END $$;
REVOKE EXECUTE ON FUNCTION familyconnect_apply_grants() FROM PUBLIC;

-- Only the four roles (and the owner) may connect; only the service creates temporary tables (the
-- resolver, the grouper and the indicator builder stage rows in them): a data officer has no DDL at all.
CREATE FUNCTION familyconnect_secure_database() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- current_database() is the database being secured, never input.
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO familyconnect_service, familyconnect_officer, familyconnect_outreach, '
                   'familyconnect_auditor', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO familyconnect_service', current_database());
END $$;
REVOKE EXECUTE ON FUNCTION familyconnect_secure_database() FROM PUBLIC;
SELECT familyconnect_secure_database();

-- Tables later migrations create (as the same owner) start with the service's and the auditor's grants.
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO familyconnect_service;
ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO familyconnect_service;
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO familyconnect_auditor;

SELECT familyconnect_apply_grants();
