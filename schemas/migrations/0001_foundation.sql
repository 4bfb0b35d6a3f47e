-- Foundation: a schema for everything familyconnect owns, and the settings the rest relies on.
-- Later migrations add the feed ledger, source records, resolution, families and flags.

COMMENT ON TABLE schema_migrations IS 'One row per applied file of schemas/migrations, with its SHA-256.';

CREATE TABLE service_events (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL,
    -- Ids and counts only: never names, dates of birth or addresses.
    details jsonb NOT NULL DEFAULT '{}'::jsonb
);
COMMENT ON TABLE service_events IS 'Operational events (migrations, runs) as ids and counts; no personal data.';
