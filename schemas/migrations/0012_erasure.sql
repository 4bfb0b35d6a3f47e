-- Erasure: after a child's personal data is erased, a tombstone remembers enough to recognise the
-- child if a partner sends them again, and nothing more: keyed hashes (HMAC-SHA-256) of the NHS
-- numbers, UPNs and normalised name + date of birth combinations the child's records held. No
-- plain personal data. The loader checks every incoming row against the active tombstones; a row
-- that matches is quarantined as "erased subject: needs a decision", its content withheld, until
-- a person lifts the tombstone (`familyconnect erase lift`).
--
-- The hashes are keyed with a random secret held in this database, readable by the service role
-- only: without it, a copy of the tombstones cannot be tested against guessed NHS numbers (there
-- are only about a billion valid ones).

CREATE TABLE erasure_secret (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    secret text NOT NULL CHECK (length(secret) >= 32)
);
-- gen_random_uuid() draws from the server's strong random source (PostgreSQL 13+): 244 random bits.
INSERT INTO erasure_secret (secret) VALUES (replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
COMMENT ON TABLE erasure_secret IS 'The key of the tombstone hashes; the service role only.';

CREATE TABLE erasure_tombstones (
    id bigserial PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now(),
    child_id text NOT NULL REFERENCES children (child_id),   -- the id stays, retired; it is not personal data on its own
    records integer NOT NULL,                 -- source records erased
    database_role text NOT NULL DEFAULT session_user,
    os_user text,
    reason text NOT NULL CHECK (length(btrim(reason)) >= 3),
    lifted_at timestamptz,                    -- a person decided the child may come back
    lifted_by text,
    lift_reason text,
    CHECK ((lifted_at IS NULL) = (lift_reason IS NULL))
);
COMMENT ON TABLE erasure_tombstones IS 'One row per erasure: who, when, why, how many records; no personal data.';

CREATE TABLE erasure_tombstone_keys (
    tombstone_id bigint NOT NULL REFERENCES erasure_tombstones (id),
    kind text NOT NULL CHECK (kind IN ('nhs_number', 'upn', 'name_dob')),
    digest text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (kind, digest, tombstone_id)
);
COMMENT ON TABLE erasure_tombstone_keys IS 'HMAC-SHA-256 of an erased child''s identifiers; deleted when the tombstone is lifted.';

SELECT familyconnect_apply_grants();
