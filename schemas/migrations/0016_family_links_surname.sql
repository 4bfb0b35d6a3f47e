-- Family links: `same_address_same_surname`, two members seen at one address at different times
-- who share a surname (a family that moved while a partner kept sending the old address for one
-- child; schemas/rules/README.md, families.conf `same_surname_at_address_within_days`).
ALTER TABLE family_links DROP CONSTRAINT family_links_basis_check;
ALTER TABLE family_links ADD CONSTRAINT family_links_basis_check CHECK (basis IN (
    'carer_nhs_number', 'carer_ni_number', 'carer_name_dob', 'same_uprn', 'same_address', 'same_address_no_postcode',
    'same_address_same_surname', 'same_incident'));
