-- A resolution run ends after it starts. Runs recorded before this release took started_at from
-- the client after the resolution lock and finished_at from now(), the start of the transaction,
-- so a run that waited for the lock could finish "before" it started. The resolver now records
-- both from the server's clock_timestamp(), started_at once it holds the lock.
--
-- NOT VALID: the check holds for every run recorded from now on; rows written by earlier releases
-- keep the times they were given (nothing here rewrites history), and
-- `ALTER TABLE resolution_runs VALIDATE CONSTRAINT resolution_runs_finished_after_start` reports any.
ALTER TABLE resolution_runs ADD CONSTRAINT resolution_runs_finished_after_start
    CHECK (finished_at IS NULL OR finished_at >= started_at) NOT VALID;
