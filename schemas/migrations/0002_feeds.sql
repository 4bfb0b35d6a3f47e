-- Feed ingestion: the batch ledger, canonical source records, quarantine and data quality.

CREATE TABLE feed_batches (
    id bigserial PRIMARY KEY,
    feed text NOT NULL,
    kind text NOT NULL,
    -- The file's name when it arrived (for the officer), and the SHA-256 of its bytes (for us):
    -- the same content is never loaded twice, even renamed.
    source_name text NOT NULL,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bytes bigint NOT NULL,
    rows_read integer NOT NULL,
    rows_loaded integer NOT NULL,
    rows_quarantined integer NOT NULL,
    started_at timestamptz NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    definition_sha256 text NOT NULL,
    CONSTRAINT feed_batches_accounted CHECK (rows_read = rows_loaded + rows_quarantined),
    CONSTRAINT feed_batches_once UNIQUE (feed, sha256)
);
COMMENT ON TABLE feed_batches IS 'One row per file loaded; it commits together with all the file''s rows or not at all.';

-- A file that failed as a whole (unreadable, wrong header). Written outside the batch transaction
-- so the failure is remembered even though nothing of the file was loaded.
CREATE TABLE feed_batch_failures (
    id bigserial PRIMARY KEY,
    feed text NOT NULL,
    source_name text NOT NULL,
    sha256 text,
    failed_at timestamptz NOT NULL DEFAULT now(),
    reason text NOT NULL
);

CREATE TABLE source_records (
    id bigserial PRIMARY KEY,
    batch_id bigint NOT NULL REFERENCES feed_batches (id),
    feed text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('health_visiting', 'school_attendance', 'fsm', 'police')),
    record_number integer NOT NULL,      -- 1-based data record in the file (header not counted)
    line_number integer NOT NULL,        -- physical line where the record starts
    partner_ref text,                    -- the partner's own row id, when the feed has one
    subject text NOT NULL CHECK (subject IN ('child', 'expectant_parent')),

    -- Identifiers: the *_raw column keeps what the partner sent; the clean column is set only
    -- when the value passed its check, so an invalid identifier is evidence, never an identifier.
    nhs_number text CHECK (nhs_number ~ '^[0-9]{10}$'),
    nhs_number_raw text,
    upn text CHECK (upn ~ '^[A-Z][0-9]{11}[0-9A-Z]$'),
    upn_raw text,
    upn_temporary boolean NOT NULL DEFAULT false,

    given_name text,
    family_name text,
    preferred_given_name text,
    preferred_family_name text,
    dob date,
    approximate_age integer,
    sex text CHECK (sex IN ('F', 'M', 'U')),

    address_line1 text,
    address_line2 text,
    town text,
    postcode text,                       -- normalised 'OUTWARD INWARD', only when valid
    postcode_raw text,
    uprn text,

    carer_nhs_number text CHECK (carer_nhs_number ~ '^[0-9]{10}$'),
    carer_nhs_number_raw text,
    carer_given_name text,
    carer_family_name text,
    carer_dob date,
    carer_ni_number text,
    carer_ni_number_raw text,

    facts jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX source_records_batch ON source_records (batch_id);
COMMENT ON TABLE source_records IS 'Every usable partner row, normalised into one canonical shape.';

CREATE TABLE quarantined_rows (
    id bigserial PRIMARY KEY,
    batch_id bigint NOT NULL REFERENCES feed_batches (id),
    record_number integer NOT NULL,
    line_number integer NOT NULL,
    field text,                          -- the canonical field (or column) at fault, if one
    reason text NOT NULL,                -- what is wrong; never the value itself
    raw_line text NOT NULL               -- the row as received, so nothing is lost
);
CREATE INDEX quarantined_rows_batch ON quarantined_rows (batch_id);

CREATE TABLE feed_batch_quality (
    batch_id bigint NOT NULL REFERENCES feed_batches (id),
    field text NOT NULL,
    rows integer NOT NULL,               -- rows the field applies to
    present integer NOT NULL,            -- rows where it was not blank
    valid integer NOT NULL,              -- rows where it passed validation
    PRIMARY KEY (batch_id, field),
    CHECK (valid <= present AND present <= rows)
);

-- Conditional-GET state for remote feeds, so an unchanged file is not downloaded again.
CREATE TABLE feed_fetch_state (
    feed text PRIMARY KEY,
    etag text,
    last_modified text,
    checked_at timestamptz NOT NULL DEFAULT now()
);

CREATE VIEW feed_status AS
SELECT b.feed,
       count(*) AS batches,
       sum(b.rows_read) AS rows_read,
       sum(b.rows_loaded) AS rows_loaded,
       sum(b.rows_quarantined) AS rows_quarantined,
       max(b.committed_at) AS last_loaded_at
FROM feed_batches b
GROUP BY b.feed;
