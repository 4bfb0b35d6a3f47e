-- Families: children grouped by a shared carer or a shared home at the same time, with stable
-- family ids (minted once, merged ids kept as aliases), the links that hold each family together,
-- and the membership history (a child moving between families is recorded, never overwritten).
-- The grouping rules are in schemas/rules/families.conf; the method is explained in schemas/rules/README.md.

-- The period a source record is evidence for: the dates the partner's facts give (a term, an
-- eligibility, a review, an incident), else the day its batch was loaded. Used by grouping,
-- indicators and the views, so that every stage dates a record the same way.
CREATE FUNCTION record_evidence_period(kind text, facts jsonb, committed_at timestamptz, OUT starts_on date, OUT ends_on date)
LANGUAGE sql STABLE AS $$
    SELECT s, greatest(s, e)
    FROM (
        SELECT
            CASE kind
                WHEN 'school_attendance' THEN coalesce((facts->>'period_start')::date, (facts->>'period_end')::date, committed_at::date)
                WHEN 'fsm' THEN coalesce((facts->>'eligible_from')::date, committed_at::date)
                WHEN 'health_visiting' THEN coalesce((facts->>'review_date')::date,
                                                     least((facts->>'review_due')::date, committed_at::date), committed_at::date)
                WHEN 'police' THEN coalesce(left(facts->>'incident_at', 10)::date, committed_at::date)
                ELSE committed_at::date
            END AS s,
            CASE kind
                WHEN 'school_attendance' THEN coalesce((facts->>'period_end')::date, committed_at::date)
                -- An eligibility is evidence up to its end, or up to the extract if it is still open.
                WHEN 'fsm' THEN least(coalesce((facts->>'eligible_to')::date, committed_at::date), committed_at::date)
                WHEN 'health_visiting' THEN coalesce((facts->>'review_date')::date,
                                                     least((facts->>'review_due')::date, committed_at::date), committed_at::date)
                WHEN 'police' THEN coalesce(left(facts->>'incident_at', 10)::date, committed_at::date)
                ELSE committed_at::date
            END AS e
    ) d
$$;
COMMENT ON FUNCTION record_evidence_period(text, jsonb, timestamptz) IS
    'The dates a source record is evidence for: its facts'' dates, else the day its batch was loaded.';

CREATE TABLE family_runs (
    id bigserial PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    members integer NOT NULL DEFAULT 0,        -- live children and expectant-parent records grouped
    families integer NOT NULL DEFAULT 0,
    ids_minted integer NOT NULL DEFAULT 0,
    ids_merged integer NOT NULL DEFAULT 0,
    ids_split integer NOT NULL DEFAULT 0,
    ids_retired integer NOT NULL DEFAULT 0,
    members_joined integer NOT NULL DEFAULT 0,
    members_moved integer NOT NULL DEFAULT 0,
    members_left integer NOT NULL DEFAULT 0,
    links jsonb NOT NULL DEFAULT '{}'::jsonb,  -- links kept, by basis
    settings jsonb NOT NULL DEFAULT '{}'::jsonb -- the grouping settings used (no personal data)
);

-- Every family id ever minted. Never reused or deleted: a merged id stays as an alias.
CREATE TABLE families (
    family_id text PRIMARY KEY CHECK (family_id ~ '^F[0-9A-HJKMNP-TV-Z]{9}$'),
    minted_at timestamptz NOT NULL DEFAULT now(),
    minted_by_run bigint REFERENCES family_runs (id),
    merged_into text REFERENCES families (family_id),
    retired_at timestamptz,                     -- no members left (all moved away or erased)
    -- The family's current home: the address on this record, the most recent evidence of a home.
    address_record_id bigint REFERENCES source_records (id),
    address_as_of date,
    updated_by_run bigint REFERENCES family_runs (id)
);
CREATE INDEX families_merged_into ON families (merged_into) WHERE merged_into IS NOT NULL;

-- Who is in each family now: a live child, or an expectant parent's antenatal record (a family
-- with a baby on the way and no child record yet).
CREATE TABLE family_members (
    family_id text NOT NULL REFERENCES families (family_id),
    child_id text UNIQUE REFERENCES children (child_id),
    expectant_record_id bigint UNIQUE REFERENCES source_records (id),
    joined_at timestamptz NOT NULL DEFAULT now(),
    joined_by_run bigint REFERENCES family_runs (id),
    -- The latest evidence about the member when it joined (the date the grouping acted on).
    evidence_date date,
    CHECK ((child_id IS NULL) <> (expectant_record_id IS NULL))
);
CREATE INDEX family_members_family ON family_members (family_id);

-- Membership history: every join, move and departure, with both families and when.
CREATE TABLE family_membership_events (
    id bigserial PRIMARY KEY,
    child_id text REFERENCES children (child_id),
    expectant_record_id bigint REFERENCES source_records (id),
    from_family text REFERENCES families (family_id),
    to_family text REFERENCES families (family_id),
    event text NOT NULL CHECK (event IN ('joined', 'moved', 'family_merged', 'left')),
    -- Why a member left: 'child_id_merged' (resolution found it is another child), 'no_records'.
    reason text,
    evidence_date date,
    run_id bigint REFERENCES family_runs (id),
    at timestamptz NOT NULL DEFAULT now(),
    CHECK ((child_id IS NULL) <> (expectant_record_id IS NULL))
);
CREATE INDEX family_membership_events_child ON family_membership_events (child_id);
CREATE INDEX family_membership_events_to ON family_membership_events (to_family);
CREATE INDEX family_membership_events_from ON family_membership_events (from_family);

-- The history of every family id.
CREATE TABLE family_id_events (
    id bigserial PRIMARY KEY,
    family_id text NOT NULL REFERENCES families (family_id),
    event text NOT NULL CHECK (event IN ('minted', 'merged_into', 'absorbed', 'split_from', 'split_off', 'retired')),
    other_family_id text REFERENCES families (family_id),
    run_id bigint REFERENCES family_runs (id),
    at timestamptz NOT NULL DEFAULT now(),
    members integer
);
CREATE INDEX family_id_events_family ON family_id_events (family_id);

-- The links that hold each family together in the latest run, with the records behind them.
-- member_a/member_b: a child id, or 'E' || record id for an expectant parent.
CREATE TABLE family_links (
    family_id text NOT NULL REFERENCES families (family_id),
    member_a text NOT NULL,
    member_b text NOT NULL,
    basis text NOT NULL CHECK (basis IN ('carer_nhs_number', 'carer_ni_number', 'carer_name_dob', 'same_uprn', 'same_address', 'same_address_no_postcode', 'same_incident')),
    record_a bigint NOT NULL REFERENCES source_records (id),
    record_b bigint NOT NULL REFERENCES source_records (id),
    -- For an address: from the later of their first evidence there to the earlier of their last
    -- (one day when their stays overlap only through the assumed continuation of a stay).
    overlap_from date,
    overlap_to date,
    run_id bigint REFERENCES family_runs (id),
    PRIMARY KEY (member_a, member_b, basis),
    CHECK (member_a < member_b)
);
CREATE INDEX family_links_family ON family_links (family_id);

-- Resolves any family id ever issued to the family it now means.
CREATE VIEW family_id_resolution AS
WITH RECURSIVE chain (asked, current, depth) AS (
    SELECT family_id, family_id, 0 FROM families
    UNION ALL
    SELECT chain.asked, f.merged_into, chain.depth + 1
    FROM chain JOIN families f ON f.family_id = chain.current
    WHERE f.merged_into IS NOT NULL AND chain.depth < 100
)
SELECT DISTINCT ON (asked) asked AS family_id, current AS resolves_to
FROM chain ORDER BY asked, depth DESC;
