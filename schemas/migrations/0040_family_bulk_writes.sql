-- Family grouping writes its results in bulk: a first run over 1M records stores about 385k members
-- and as many membership events, 240k families and their id events, and links and address spans by
-- the hundred thousand. A foreign-key check per row is an SPI query each, and those pointing at
-- source_records and children take a row lock on the record or child, dirtying pages of the two
-- largest tables: at 100k children the checks cost more than the rows they guarded.
-- Only the grouper writes these rows. Every record id, child id and family id it writes it read (or
-- minted) in the same transaction under the families lock (FamilyGrouper.lockKey); erasure
-- (RecordRemoval) takes that lock too and deletes these rows before the records and children they
-- name, so the two never interleave. The run ids are provenance, checked hundreds of thousands of
-- times against the one run row inserted moments before; runs are never deleted.
-- Kept: families.merged_into (an id's alias chain; few rows), and every key pointing at families
-- from the flag tables.
ALTER TABLE families DROP CONSTRAINT IF EXISTS families_address_record_id_fkey;
ALTER TABLE families DROP CONSTRAINT IF EXISTS families_minted_by_run_fkey;
ALTER TABLE families DROP CONSTRAINT IF EXISTS families_updated_by_run_fkey;
ALTER TABLE family_members DROP CONSTRAINT IF EXISTS family_members_child_id_fkey;
ALTER TABLE family_members DROP CONSTRAINT IF EXISTS family_members_expectant_record_id_fkey;
ALTER TABLE family_members DROP CONSTRAINT IF EXISTS family_members_family_id_fkey;
ALTER TABLE family_members DROP CONSTRAINT IF EXISTS family_members_joined_by_run_fkey;
ALTER TABLE family_membership_events DROP CONSTRAINT IF EXISTS family_membership_events_child_id_fkey;
ALTER TABLE family_membership_events DROP CONSTRAINT IF EXISTS family_membership_events_expectant_record_id_fkey;
ALTER TABLE family_membership_events DROP CONSTRAINT IF EXISTS family_membership_events_from_family_fkey;
ALTER TABLE family_membership_events DROP CONSTRAINT IF EXISTS family_membership_events_to_family_fkey;
ALTER TABLE family_membership_events DROP CONSTRAINT IF EXISTS family_membership_events_run_id_fkey;
ALTER TABLE family_id_events DROP CONSTRAINT IF EXISTS family_id_events_family_id_fkey;
ALTER TABLE family_id_events DROP CONSTRAINT IF EXISTS family_id_events_other_family_id_fkey;
ALTER TABLE family_id_events DROP CONSTRAINT IF EXISTS family_id_events_run_id_fkey;
ALTER TABLE family_links DROP CONSTRAINT IF EXISTS family_links_family_id_fkey;
ALTER TABLE family_links DROP CONSTRAINT IF EXISTS family_links_record_a_fkey;
ALTER TABLE family_links DROP CONSTRAINT IF EXISTS family_links_record_b_fkey;
ALTER TABLE family_links DROP CONSTRAINT IF EXISTS family_links_run_id_fkey;
ALTER TABLE family_member_addresses DROP CONSTRAINT IF EXISTS family_member_addresses_family_id_fkey;
ALTER TABLE family_member_addresses DROP CONSTRAINT IF EXISTS family_member_addresses_record_id_fkey;
ALTER TABLE family_member_addresses DROP CONSTRAINT IF EXISTS family_member_addresses_run_id_fkey;
