-- The audit trail can be neither bypassed nor forged (issue 11, finding 4).
--
-- 1. Direct SQL reads of personal data are audited by pgaudit's object auditing. The server
--    loads pgaudit and names `familyconnect_pgaudit` as its audit role (postgresql.conf:
--    shared_preload_libraries = 'pgaudit', pgaudit.role = 'familyconnect_pgaudit'; deploy/PRIVACY.md).
--    Every statement that reads a relation this role may SELECT is logged to the server log with
--    the login, whoever runs it, including through a view or COPY. The role is never granted to
--    anyone: its privileges are the list of audited tables, not access. pgaudit.role can be set by
--    a superuser only, so a session cannot switch the auditing off.
--
-- 2. `access_audit` rows are written only by access_audit_record(), a SECURITY DEFINER function:
--    the stamp trigger writes the login (session_user) and the time, whatever the caller passes.
--    No role has INSERT on the table any more (the owner aside); the service and the officer
--    may execute the function.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'familyconnect_pgaudit') THEN
        BEGIN
            CREATE ROLE familyconnect_pgaudit NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database of the cluster created it at the same moment
        END;
    END IF;
END $$;
COMMENT ON ROLE familyconnect_pgaudit IS
    'pgaudit.role: reads of the relations it may SELECT are written to the server log. Grant it to no one.';

-- Through the function, current_user is the function's owner: the entry names the login alone.
-- A direct insert (only the owner may) still says "login as role" after a SET ROLE.
CREATE OR REPLACE FUNCTION access_audit_stamp() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog AS $$
BEGIN
    NEW.at := now();
    NEW.database_role := CASE
        WHEN session_user = current_user
          OR current_user = (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = TG_RELID)
        THEN session_user::text
        ELSE session_user::text || ' as ' || current_user::text END;
    RETURN NEW;
END $$;

-- The one way to add to the audit. `claimed_os_user` is what the client says about its operating-system
-- user (the database cannot check it); the login and the time are the database's own.
CREATE FUNCTION access_audit_record(claimed_os_user text, audited_action text, subjects text[], reason_given text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    entry bigint;
BEGIN
    INSERT INTO access_audit (os_user, action, subject_ids, reason)
    VALUES (claimed_os_user, audited_action, coalesce(subjects, '{}'::text[]), reason_given)
    RETURNING id INTO entry;
    RETURN entry;
END $$;
COMMENT ON FUNCTION access_audit_record(text, text, text[], text) IS
    'Appends one access_audit entry; the login (session_user) and time are stamped by the database.';

-- A SECURITY DEFINER function resolves names in a fixed path: the system catalog first, then this
-- schema, temporary objects never (a caller cannot shadow access_audit or now()).
DO $$
BEGIN
    -- current_schema() is the schema being migrated, never input.
    EXECUTE format('ALTER FUNCTION access_audit_record(text, text, text[], text) SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
END $$;
REVOKE ALL ON FUNCTION access_audit_record(text, text, text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION access_audit_record(text, text, text[], text) TO familyconnect_service, familyconnect_officer;

-- The grants of migration 0010, then this migration's: later migrations keep calling
-- familyconnect_apply_grants(), which now ends with these.
ALTER FUNCTION familyconnect_apply_grants() RENAME TO familyconnect_apply_grants_0010;

CREATE FUNCTION familyconnect_apply_grants() RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM familyconnect_apply_grants_0010();

    -- No one writes the audit directly: access_audit_record() does.
    REVOKE INSERT ON access_audit FROM familyconnect_service, familyconnect_officer, familyconnect_outreach, familyconnect_auditor;
    REVOKE INSERT (os_user, action, subject_ids, reason) ON access_audit FROM familyconnect_officer;
    REVOKE USAGE ON SEQUENCE access_audit_id_seq FROM familyconnect_officer;

    -- pgaudit's audited relations: the ones holding names, dates of birth, addresses and
    -- identifiers (views over them are audited through the tables they read).
    GRANT SELECT ON source_records, quarantined_rows TO familyconnect_pgaudit;
END $$;
REVOKE EXECUTE ON FUNCTION familyconnect_apply_grants() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION familyconnect_apply_grants_0010() FROM PUBLIC;

SELECT familyconnect_apply_grants();
