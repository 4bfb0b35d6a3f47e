-- Family links: `same_address_one_surname` (schemas/rules/README.md, families.conf): two children at one
-- address at the same time whose records there name two different carers of one role (two mothers),
-- linked because the children share a surname: one home with two mothers, not two households behind
-- one front door (`different_carers_one_surname_one_household`).
ALTER TABLE family_links DROP CONSTRAINT family_links_basis_check;
ALTER TABLE family_links ADD CONSTRAINT family_links_basis_check CHECK (basis IN (
    'carer_nhs_number', 'carer_ni_number', 'carer_name_dob', 'carer_contact_phone', 'carer_name_at_address', 'same_uprn',
    'same_address', 'same_address_no_postcode', 'same_address_same_surname', 'same_address_one_surname', 'same_incident'));
