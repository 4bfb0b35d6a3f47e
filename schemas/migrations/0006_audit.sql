-- Audited access: every command that shows personal data records who, what, when and why.
-- Append-only: an UPDATE or DELETE is refused by trigger, whoever asks (roles come in a later migration).

CREATE TABLE access_audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    database_role text NOT NULL DEFAULT current_user,
    os_user text,
    action text NOT NULL,                 -- e.g. explain, review_show, review_decide, export, sar, erase
    subject_ids text[] NOT NULL,          -- child, family, record or pair ids: never names
    reason text NOT NULL CHECK (length(btrim(reason)) >= 3)
);
CREATE INDEX access_audit_at ON access_audit (at);

CREATE FUNCTION access_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_audit is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER access_audit_no_change BEFORE UPDATE OR DELETE ON access_audit
    FOR EACH ROW EXECUTE FUNCTION access_audit_append_only();
CREATE TRIGGER access_audit_no_truncate BEFORE TRUNCATE ON access_audit
    FOR EACH STATEMENT EXECUTE FUNCTION access_audit_append_only();
