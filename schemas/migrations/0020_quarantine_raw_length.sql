-- Quarantined rows say whether their raw text is whole. `raw_line` keeps at most the first
-- 4 MiB of a row (the CSV reader's maxRecordBytes: a single line can be gigabytes, and PostgreSQL
-- text holds at most 1 GB); `raw_bytes` is the row's length in the file, without its line ending,
-- and `raw_truncated` is true when `raw_line` holds only the start of it. Rows quarantined before
-- this migration have raw_bytes NULL.
ALTER TABLE quarantined_rows
    ADD COLUMN raw_bytes bigint CHECK (raw_bytes >= 0),
    ADD COLUMN raw_truncated boolean NOT NULL DEFAULT false;
