-- Early-help indicators, flags with their evidence, the flag lifecycle, suppressions, outreach
-- teams and the export ledger, with views for data officers.
--
-- Nothing here is a score: an indicator is one partner record measured against one readable
-- definition (schemas/rules/indicators.conf); a flag is one named, versioned rule
-- (schemas/rules/flags.conf) met by a family's indicators, and it keeps exactly which ones.

CREATE TABLE supporting_families_outcomes (
    outcome smallint PRIMARY KEY CHECK (outcome BETWEEN 1 AND 10),
    name text NOT NULL
);
INSERT INTO supporting_families_outcomes (outcome, name) VALUES
    (1, 'Getting a good education'),
    (2, 'Good early years development'),
    (3, 'Improved mental and physical health'),
    (4, 'Better managed substance use'),
    (5, 'Improved family relationships'),
    (6, 'Children safe from abuse and exploitation'),
    (7, 'Families diverted from crime'),
    (8, 'Safe from domestic abuse'),
    (9, 'Secure housing'),
    (10, 'Financial stability');
COMMENT ON TABLE supporting_families_outcomes IS 'The ten headline outcomes of the Supporting Families Outcomes Framework (2022-25).';

CREATE TABLE indicator_runs (
    id bigserial PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    as_of date NOT NULL,
    definitions jsonb NOT NULL DEFAULT '{}'::jsonb,   -- indicator name → version, as used
    records_read integer NOT NULL DEFAULT 0,
    added integer NOT NULL DEFAULT 0,
    withdrawn integer NOT NULL DEFAULT 0,
    restored integer NOT NULL DEFAULT 0,
    updated integer NOT NULL DEFAULT 0
);

-- One partner record meeting one indicator definition. Rows are never deleted, so a flag's evidence
-- always resolves: an indicator that no longer holds (its record was corrected, its definition
-- changed) is withdrawn, with the run that withdrew it.
CREATE TABLE indicators (
    id bigserial PRIMARY KEY,
    record_id bigint NOT NULL REFERENCES source_records (id),
    indicator text NOT NULL,                  -- the definition's name in indicators.conf
    version integer NOT NULL,                 -- the definition's version
    outcome smallint NOT NULL REFERENCES supporting_families_outcomes (outcome),
    child_id text REFERENCES children (child_id),  -- whose record it is now (NULL: an expectant parent)
    starts_on date NOT NULL,                  -- the period it is about (a term, an eligibility)
    ends_on date NOT NULL,                    -- or one day (an incident, a review)
    description text NOT NULL,                -- plain English, from the definition's template; no names
    measures jsonb NOT NULL DEFAULT '{}'::jsonb,    -- the numbers behind it (sessions, threshold, days overdue)
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by_run bigint REFERENCES indicator_runs (id),
    withdrawn_at timestamptz,
    withdrawn_by_run bigint REFERENCES indicator_runs (id),
    UNIQUE (record_id, indicator, version),
    CHECK (starts_on <= ends_on)
);
CREATE INDEX indicators_child ON indicators (child_id) WHERE withdrawn_at IS NULL;

CREATE TABLE flag_runs (
    id bigserial PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    as_of date NOT NULL,
    rules jsonb NOT NULL DEFAULT '{}'::jsonb,        -- rule name → version, as used
    families integer NOT NULL DEFAULT 0,
    firings integer NOT NULL DEFAULT 0,
    raised integer NOT NULL DEFAULT 0,
    evidence_attached integer NOT NULL DEFAULT 0,
    suppressed integer NOT NULL DEFAULT 0,
    held_by_cool_off integer NOT NULL DEFAULT 0
);

-- A flag: one family, raised by a rule, open until a person closes it with an outcome.
-- new → exported → acknowledged → closed. A family has at most one open flag: a rule firing
-- for a family with an open flag adds its evidence to that flag instead of raising another.
CREATE TABLE flags (
    flag_id text PRIMARY KEY CHECK (flag_id ~ '^G[0-9A-HJKMNP-TV-Z]{9}$'),
    family_id text NOT NULL REFERENCES families (family_id),
    rule_name text NOT NULL,                   -- the rule that raised it
    rule_version integer NOT NULL,
    status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'exported', 'acknowledged', 'closed')),
    first_flagged_on date NOT NULL,            -- the as-of date of the run that raised it
    raised_at timestamptz NOT NULL DEFAULT now(),
    raised_by_run bigint REFERENCES flag_runs (id),
    reason text NOT NULL,                      -- plain English, ids only (names are added on export)
    exported_at timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by text,
    closed_on date,
    closed_at timestamptz,
    closed_by text,
    close_outcome text,
    CHECK ((status = 'closed') = (closed_on IS NOT NULL AND close_outcome IS NOT NULL))
);
CREATE UNIQUE INDEX flags_one_open_per_family ON flags (family_id) WHERE status <> 'closed';

-- Every rule that fired for a flag, the first time it did.
CREATE TABLE flag_rules (
    flag_id text NOT NULL REFERENCES flags (flag_id),
    rule_name text NOT NULL,
    rule_version integer NOT NULL,
    reason text NOT NULL,                      -- plain English, ids only, as when it first fired
    first_fired_at timestamptz NOT NULL DEFAULT now(),
    run_id bigint REFERENCES flag_runs (id),
    PRIMARY KEY (flag_id, rule_name, rule_version)
);

-- The exact indicators behind a flag, per rule, with the wording at the time they were attached.
CREATE TABLE flag_evidence (
    flag_id text NOT NULL REFERENCES flags (flag_id),
    indicator_id bigint NOT NULL REFERENCES indicators (id),
    rule_name text NOT NULL,
    rule_version integer NOT NULL,
    child_id text REFERENCES children (child_id),
    description text NOT NULL,
    attached_at timestamptz NOT NULL DEFAULT now(),
    run_id bigint REFERENCES flag_runs (id),
    at_raise boolean NOT NULL,                 -- part of the firing that raised the flag, or attached later
    PRIMARY KEY (flag_id, indicator_id, rule_name, rule_version)
);
CREATE INDEX flag_evidence_indicator ON flag_evidence (indicator_id);

CREATE TABLE flag_events (
    id bigserial PRIMARY KEY,
    flag_id text NOT NULL REFERENCES flags (flag_id),
    event text NOT NULL CHECK (event IN ('raised', 'evidence_attached', 'exported', 'acknowledged', 'closed', 'family_merged')),
    at timestamptz NOT NULL DEFAULT now(),
    run_id bigint REFERENCES flag_runs (id),
    by_role text NOT NULL DEFAULT current_user,
    by_name text,                              -- the person, when a person did it
    details jsonb NOT NULL DEFAULT '{}'::jsonb -- ids and counts only
);
CREATE INDEX flag_events_flag ON flag_events (flag_id);

-- A family that met a rule but was not flagged because statutory services already know it.
-- One row per family and rule while the suppression holds; last_seen_run moves on each run.
CREATE TABLE flag_suppressions (
    id bigserial PRIMARY KEY,
    family_id text NOT NULL REFERENCES families (family_id),
    rule_name text NOT NULL,
    rule_version integer NOT NULL,
    basis text NOT NULL CHECK (basis IN ('feed_fact', 'statutory_list')),
    basis_child_id text REFERENCES children (child_id),
    basis_record_id bigint REFERENCES source_records (id),
    basis_detail text,                          -- e.g. the list file and line; never personal data
    indicator_ids bigint[] NOT NULL,
    first_run bigint REFERENCES flag_runs (id),
    last_seen_run bigint REFERENCES flag_runs (id),
    first_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX flag_suppressions_once ON flag_suppressions (family_id, rule_name, rule_version);

-- Outreach teams and their areas, copied from schemas/rules/teams.conf on every run that uses them.
CREATE TABLE outreach_teams (
    team text PRIMARY KEY CHECK (team ~ '^[a-z0-9_]+$'),
    name text NOT NULL,
    is_fallback boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE outreach_team_areas (
    team text NOT NULL REFERENCES outreach_teams (team) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('postcode_district', 'school')),
    value text NOT NULL,
    PRIMARY KEY (kind, value)
);

-- Which team each family belongs to now, and why.
CREATE TABLE family_teams (
    family_id text PRIMARY KEY REFERENCES families (family_id),
    team text NOT NULL,
    basis text NOT NULL CHECK (basis IN ('postcode_district', 'school', 'fallback')),
    detail text,                               -- the district or the school
    assigned_at timestamptz NOT NULL DEFAULT now()
);

-- Every export file written (or that a dry run would have written).
CREATE TABLE export_files (
    id bigserial PRIMARY KEY,
    team text NOT NULL,
    file_name text NOT NULL,
    sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    rows integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    as_of date NOT NULL
);

-- The export ledger: a flag goes to a team once.
CREATE TABLE export_ledger (
    flag_id text NOT NULL REFERENCES flags (flag_id),
    team text NOT NULL,
    export_file_id bigint NOT NULL REFERENCES export_files (id),
    exported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (flag_id, team)
);

-- ---------------------------------------------------------------------------------------------
-- Views for data officers.

-- Families with their members and their current (open) flag.
CREATE VIEW family_overview AS
SELECT f.family_id,
       t.team,
       split_part(home.postcode, ' ', 1) AS postcode_district,
       f.address_as_of,
       (SELECT count(*) FROM family_members m WHERE m.family_id = f.family_id AND m.child_id IS NOT NULL) AS children,
       (SELECT array_agg(m.child_id ORDER BY m.child_id) FROM family_members m
         WHERE m.family_id = f.family_id AND m.child_id IS NOT NULL) AS child_ids,
       EXISTS (SELECT 1 FROM family_members m WHERE m.family_id = f.family_id AND m.expectant_record_id IS NOT NULL) AS expecting,
       (SELECT count(*) FROM indicators i JOIN family_members m ON m.child_id = i.child_id
         WHERE m.family_id = f.family_id AND i.withdrawn_at IS NULL) AS indicators,
       fl.flag_id AS open_flag_id,
       fl.status AS open_flag_status,
       fl.rule_name AS open_flag_rule,
       fl.first_flagged_on,
       (SELECT count(*) FROM flags c WHERE c.family_id = f.family_id AND c.status = 'closed') AS closed_flags
FROM families f
LEFT JOIN source_records home ON home.id = f.address_record_id
LEFT JOIN family_teams t ON t.family_id = f.family_id
LEFT JOIN flags fl ON fl.family_id = f.family_id AND fl.status <> 'closed'
WHERE f.merged_into IS NULL AND f.retired_at IS NULL;

-- Every flag with its rules, reasons and evidence, down to the partner record and file.
CREATE VIEW flag_evidence_detail AS
SELECT fl.flag_id, fl.family_id, fl.status, fl.first_flagged_on, fl.reason,
       e.rule_name, e.rule_version, e.at_raise, e.attached_at,
       i.id AS indicator_id, i.indicator, i.version AS indicator_version, i.outcome, o.name AS outcome_name,
       e.child_id, i.starts_on, i.ends_on, e.description,
       i.withdrawn_at AS indicator_withdrawn_at,
       sr.id AS record_id, sr.feed, sr.record_number, sr.line_number, sr.partner_ref,
       b.id AS batch_id, b.source_name, b.committed_at AS batch_loaded_at
FROM flags fl
JOIN flag_evidence e ON e.flag_id = fl.flag_id
JOIN indicators i ON i.id = e.indicator_id
JOIN supporting_families_outcomes o ON o.outcome = i.outcome
JOIN source_records sr ON sr.id = i.record_id
JOIN feed_batches b ON b.id = sr.batch_id;

-- Indicator counts by outcome area, team and month (of the indicator's date).
CREATE VIEW indicator_counts AS
SELECT i.outcome, o.name AS outcome_name,
       coalesce(t.team, '(no team)') AS team,
       date_trunc('month', i.ends_on)::date AS month,
       count(*) AS indicators,
       count(DISTINCT coalesce(mc.family_id, me.family_id)) AS families,
       count(DISTINCT i.child_id) AS children
FROM indicators i
JOIN supporting_families_outcomes o ON o.outcome = i.outcome
LEFT JOIN family_members mc ON mc.child_id = i.child_id
LEFT JOIN family_members me ON me.expectant_record_id = i.record_id
LEFT JOIN family_teams t ON t.family_id = coalesce(mc.family_id, me.family_id)
WHERE i.withdrawn_at IS NULL
GROUP BY i.outcome, o.name, coalesce(t.team, '(no team)'), date_trunc('month', i.ends_on);
