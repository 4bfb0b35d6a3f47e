-- Which partner batches resolution has examined. A batch commits whole (its records and its ledger
-- entry together), so "records of batches not listed here and held by no child" is exactly the new
-- work, found through source_records_batch instead of an anti-join over every record. Ingests can
-- commit out of id order, so a run lists the batches it will examine before it reads any record,
-- and marks exactly those.
CREATE TABLE resolution_batches (
    batch_id bigint PRIMARY KEY REFERENCES feed_batches (id) ON DELETE CASCADE,
    -- NULL: examined and nothing was left to link (e.g. a batch of mothers only).
    run_id bigint REFERENCES resolution_runs (id)
);
