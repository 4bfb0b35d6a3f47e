-- Identity resolution: stable child identifiers, the links that made them, the model behind the
-- links, and the clerical review queue with its decisions.

CREATE TABLE resolution_runs (
    id bigserial PRIMARY KEY,
    mode text NOT NULL CHECK (mode IN ('full', 'incremental')),
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    records integer NOT NULL DEFAULT 0,
    pairs_compared bigint NOT NULL DEFAULT 0,
    links_deterministic integer NOT NULL DEFAULT 0,
    links_probabilistic integer NOT NULL DEFAULT 0,
    links_review integer NOT NULL DEFAULT 0,
    review_pairs integer NOT NULL DEFAULT 0,
    children integer NOT NULL DEFAULT 0,
    ids_minted integer NOT NULL DEFAULT 0,
    ids_merged integer NOT NULL DEFAULT 0,
    ids_split integer NOT NULL DEFAULT 0,
    model_id bigint
);

-- The Fellegi–Sunter model used by a run: m and u for every comparison level, the thresholds,
-- and how they were estimated. Stored whole so any past decision can be explained with the
-- exact numbers that made it.
CREATE TABLE match_models (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    upper_threshold double precision NOT NULL,
    lower_threshold double precision NOT NULL,
    parameters jsonb NOT NULL,
    em_iterations integer NOT NULL,
    pairs_used bigint NOT NULL
);
ALTER TABLE resolution_runs ADD FOREIGN KEY (model_id) REFERENCES match_models (id);

-- Every child identifier ever minted. An id is never reused or deleted: a merged id becomes an
-- alias that still resolves to the surviving child.
CREATE TABLE children (
    child_id text PRIMARY KEY CHECK (child_id ~ '^C[0-9A-HJKMNP-TV-Z]{9}$'),
    minted_at timestamptz NOT NULL DEFAULT now(),
    minted_by_run bigint REFERENCES resolution_runs (id),
    merged_into text REFERENCES children (child_id),
    retired_at timestamptz
);
CREATE INDEX children_merged_into ON children (merged_into) WHERE merged_into IS NOT NULL;

-- Which child each source record belongs to now.
CREATE TABLE child_records (
    record_id bigint PRIMARY KEY REFERENCES source_records (id),
    child_id text NOT NULL REFERENCES children (child_id),
    assigned_by_run bigint REFERENCES resolution_runs (id)
);
CREATE INDEX child_records_child ON child_records (child_id);

-- The history of every id: minted, merged into another, absorbed another, split, record moves.
CREATE TABLE child_id_events (
    id bigserial PRIMARY KEY,
    child_id text NOT NULL REFERENCES children (child_id),
    event text NOT NULL CHECK (event IN ('minted', 'merged_into', 'absorbed', 'split_from', 'split_off', 'retired')),
    other_child_id text REFERENCES children (child_id),
    run_id bigint REFERENCES resolution_runs (id),
    at timestamptz NOT NULL DEFAULT now(),
    records integer
);
CREATE INDEX child_id_events_child ON child_id_events (child_id);

-- The links that hold each child together (record_a < record_b), with the evidence.
CREATE TABLE record_links (
    record_a bigint NOT NULL REFERENCES source_records (id),
    record_b bigint NOT NULL REFERENCES source_records (id),
    method text NOT NULL CHECK (method IN ('nhs_number', 'upn', 'probabilistic', 'review')),
    weight double precision,
    comparison jsonb NOT NULL DEFAULT '{}'::jsonb,
    run_id bigint REFERENCES resolution_runs (id),
    PRIMARY KEY (record_a, record_b),
    CHECK (record_a < record_b)
);
CREATE INDEX record_links_b ON record_links (record_b);

-- Pairs the model could not decide: a data officer decides them.
CREATE TABLE review_pairs (
    id bigserial PRIMARY KEY,
    record_a bigint NOT NULL REFERENCES source_records (id),
    record_b bigint NOT NULL REFERENCES source_records (id),
    weight double precision NOT NULL,
    reason text NOT NULL,
    comparison jsonb NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected', 'superseded')),
    created_at timestamptz NOT NULL DEFAULT now(),
    run_id bigint REFERENCES resolution_runs (id),
    UNIQUE (record_a, record_b),
    CHECK (record_a < record_b)
);
CREATE INDEX review_pairs_open ON review_pairs (status) WHERE status = 'open';

-- A person's decision on a pair overrides the model in every later run.
CREATE TABLE review_decisions (
    record_a bigint NOT NULL REFERENCES source_records (id),
    record_b bigint NOT NULL REFERENCES source_records (id),
    decision text NOT NULL CHECK (decision IN ('same_child', 'different_children')),
    decided_by text NOT NULL,          -- database role
    os_user text,
    decided_at timestamptz NOT NULL DEFAULT now(),
    reason text NOT NULL,
    PRIMARY KEY (record_a, record_b),
    CHECK (record_a < record_b)
);

-- Blocking keys of every child record, so a new batch finds its candidates without loading
-- everything: a key is a 64-bit hash of one blocking rule's values.
CREATE TABLE record_blocking_keys (
    key bigint NOT NULL,
    record_id bigint NOT NULL REFERENCES source_records (id)
);
CREATE INDEX record_blocking_keys_key ON record_blocking_keys (key);
CREATE INDEX record_blocking_keys_record ON record_blocking_keys (record_id);

-- Resolves any id ever issued, merged or not, to the child it now means.
CREATE VIEW child_id_resolution AS
WITH RECURSIVE chain (asked, current, depth) AS (
    SELECT child_id, child_id, 0 FROM children
    UNION ALL
    SELECT chain.asked, c.merged_into, chain.depth + 1
    FROM chain JOIN children c ON c.child_id = chain.current
    WHERE c.merged_into IS NOT NULL AND chain.depth < 100
)
SELECT DISTINCT ON (asked) asked AS child_id, current AS resolves_to
FROM chain ORDER BY asked, depth DESC;

-- For data officers: each child's records by partner.
CREATE VIEW child_summary AS
SELECT cr.child_id,
       count(*) AS records,
       count(DISTINCT sr.kind) AS partners,
       array_agg(DISTINCT sr.kind ORDER BY sr.kind) AS partner_kinds,
       min(sr.dob) AS dob
FROM child_records cr JOIN source_records sr ON sr.id = cr.record_id
GROUP BY cr.child_id;

-- Name frequencies from the last full run, for term-frequency adjustment in incremental runs.
CREATE TABLE name_frequencies (
    model_id bigint NOT NULL REFERENCES match_models (id),
    name_kind text NOT NULL CHECK (name_kind IN ('given', 'family')),
    fingerprint bigint NOT NULL,
    records integer NOT NULL,
    PRIMARY KEY (model_id, name_kind, fingerprint)
);
ALTER TABLE match_models ADD COLUMN records integer NOT NULL DEFAULT 0;
