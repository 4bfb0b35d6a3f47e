-- Families from carer names and addresses over time (schemas/rules/README.md, families.conf).
--
-- `carer_contact_phone`: a school contact's phone number with the contact's surname.
-- `carer_name_at_address`: two members at one address, within a rule's window of years, whose records
-- name the same carer (a nickname or a typo allowed) with no date of birth needed: the health visitor's
-- mother and the school's primary contact. `rule` names the `[carer_name.NAME]` rule of families.conf
-- that made the link (NULL for the other bases, whose basis is their rule).
ALTER TABLE family_links DROP CONSTRAINT family_links_basis_check;
ALTER TABLE family_links ADD CONSTRAINT family_links_basis_check CHECK (basis IN (
    'carer_nhs_number', 'carer_ni_number', 'carer_name_dob', 'carer_contact_phone', 'carer_name_at_address', 'same_uprn', 'same_address',
    'same_address_no_postcode', 'same_address_same_surname', 'same_incident'));
ALTER TABLE family_links ADD COLUMN rule text;
ALTER TABLE family_links ADD CONSTRAINT family_links_rule_named
    CHECK ((basis = 'carer_name_at_address') = (rule IS NOT NULL));

-- Each member's dated span at each address, as the latest grouping run saw it: from the first to the
-- last evidence there (`record_id` is the latest record at that address, which holds the address: no
-- address is copied here). A family that moved keeps its old spans as long as their records are held;
-- the family's current home (`families.address_record_id`) is the newest evidence.
CREATE TABLE family_member_addresses (
    family_id text NOT NULL REFERENCES families (family_id),
    member text NOT NULL,  -- a child id, or 'E' || record id for an expectant parent
    record_id bigint NOT NULL REFERENCES source_records (id),
    first_seen date NOT NULL,
    last_seen date NOT NULL,
    -- The member's most recent address (the newest evidence wins).
    is_current boolean NOT NULL,
    run_id bigint REFERENCES family_runs (id),
    PRIMARY KEY (member, record_id),
    CHECK (last_seen >= first_seen)
);
CREATE INDEX family_member_addresses_family ON family_member_addresses (family_id);
CREATE INDEX family_member_addresses_record ON family_member_addresses (record_id);

-- The grants so far, then the officer's read of the new table (the auditor and the service get it
-- from the default privileges); later migrations keep calling familyconnect_apply_grants().
ALTER FUNCTION familyconnect_apply_grants() RENAME TO familyconnect_apply_grants_before_0030;
CREATE FUNCTION familyconnect_apply_grants() RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM familyconnect_apply_grants_before_0030();
    GRANT SELECT ON family_member_addresses TO familyconnect_officer;
END $$;
REVOKE EXECUTE ON FUNCTION familyconnect_apply_grants() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION familyconnect_apply_grants_before_0030() FROM PUBLIC;
SELECT familyconnect_apply_grants();
