-- A link no longer stores its evidence as JSON (about 430 bytes a link, 77 MB at 100k children,
-- and the largest server cost of a full run). It stores the compact comparison instead: `levels`,
-- the comparison vector packed one byte a field (field order of `MatchField`, level numbers of
-- `MatchField.levels`). The evidence is rebuilt when someone reads it (`explain`, a subject access
-- request) from those levels, the link's weight and the model of the run that wrote the link.
-- The text rebuilt is the text the run used to store (`EvidenceWriter`): the digest a full run
-- compares includes the model, so a link is only kept across runs under the same model.
ALTER TABLE record_links ADD COLUMN levels bigint;
-- Links written from now on leave `comparison` NULL (no bytes); links stored before keep theirs.
ALTER TABLE record_links ALTER COLUMN comparison DROP NOT NULL, ALTER COLUMN comparison DROP DEFAULT;

-- Each field's levels under the model, in field order: the name and weight (bits, as the evidence
-- shows it, three decimals) of every level, and the unrounded weight, from which the part of a
-- link's weight the fields do not explain (the name-frequency adjustment) follows.
-- [{"field": "given_name", "levels": [{"level": "exact", "weight": 5.200, "raw": 5.19970…}, …]}, …]
-- Written by the run that stores the model, or by the first run that uses a model stored before.
ALTER TABLE match_models ADD COLUMN level_weights jsonb;

-- A link's evidence, as `comparison` held it: for a link with levels, rebuilt from them; otherwise
-- what was stored (links from before this migration; identifier links, which have none).
CREATE FUNCTION record_link_comparison(link record_links) RETURNS jsonb
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT CASE WHEN link.levels IS NULL THEN coalesce(link.comparison, '{}'::jsonb) ELSE (
        SELECT jsonb_object_agg(f.field, f.entry)
               || CASE WHEN abs(link.weight - sum(f.raw ORDER BY f.position)) > 0.0005
                       THEN jsonb_build_object('name_frequency', jsonb_build_object(
                                'level', 'adjustment',
                                'weight', round((link.weight - sum(f.raw ORDER BY f.position))::numeric, 3)))
                       ELSE '{}'::jsonb END
        FROM resolution_runs r
        JOIN match_models m ON m.id = r.model_id
        CROSS JOIN LATERAL (
            SELECT field ->> 'field' AS field, position,
                   jsonb_build_object('level', lv ->> 'level', 'weight', lv -> 'weight') AS entry,
                   (lv ->> 'raw')::float8 AS raw
            FROM jsonb_array_elements(m.level_weights) WITH ORDINALITY AS fields (field, position),
                 LATERAL (SELECT field -> 'levels' -> (((link.levels >> (8 * (position::int - 1))) & 255)::int)) AS l (lv)
        ) f
        WHERE r.id = link.run_id
    ) END
$$;
