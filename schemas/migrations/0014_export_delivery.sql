-- Export delivery over HTTPS or SFTP (issue 5).

-- Export delivery. A file written for a team with a delivery target is marked with that target
-- (scheme://host[:port]/path: no user, no secret) and delivered after the export commits; a failed
-- delivery is recorded and retried on the next run, the same file from the outbox (the flags are in
-- the ledger already: nothing is exported again). Errors name the target and a fixed reason only.
ALTER TABLE export_files
    ADD COLUMN delivery_target text,
    ADD COLUMN delivered_at timestamptz,
    ADD COLUMN delivery_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN delivery_attempted_at timestamptz,
    ADD COLUMN delivery_error text;
CREATE INDEX export_files_undelivered ON export_files (id) WHERE delivery_target IS NOT NULL AND delivered_at IS NULL;
COMMENT ON COLUMN export_files.delivery_target IS 'Where the file is to be delivered (no user or secret); NULL: collected from the outbox.';
COMMENT ON COLUMN export_files.delivery_error IS 'The last failed delivery: target, error code and a fixed reason (no secrets, no personal data).';
