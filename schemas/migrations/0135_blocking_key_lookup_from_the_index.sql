-- An incremental run finds its candidates by key: at 1M records, the 47,909 keys of a next day's
-- 9,958 new records are held by 354,995 rows of `record_blocking_keys`. Through an index on `key`
-- alone, each row is then fetched from the heap: in EXPLAIN ANALYZE (BUFFERS) of the same look-up
-- on a copy whose table also held the new records' own keys (428,934 rows), 25,545 of the table's
-- 39,605 pages, most not in shared buffers, about 0.3 s of a 0.47 s statement. With `record_id`
-- carried in the index, the look-up is an index-only scan and reads no heap page at all (0.26-0.32
-- s, "Heap Fetches: 0"), provided the pages are marked all-visible: a first fill writes the table
-- with COPY FREEZE, in the transaction that emptied it, so they are from the start (issue 14).
--
-- Same name as migration 0003's index, so that `resolution_first_fill_begin` (migration 0140)
-- still drops it before a first fill. Migration 0140's list still gives 0003's definition, and it
-- runs after this one on a new database, so it cannot be replaced here: the blocking keys' first
-- fill ends with `resolution_blocking_keys_fill_end()` below instead of
-- `resolution_first_fill_end('record_blocking_keys')`, which would build the narrower index.
DROP INDEX IF EXISTS record_blocking_keys_key;
CREATE INDEX record_blocking_keys_key ON record_blocking_keys (key) INCLUDE (record_id);

CREATE FUNCTION resolution_blocking_keys_fill_end() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF to_regclass('record_blocking_keys_key') IS NULL THEN
        CREATE INDEX record_blocking_keys_key ON record_blocking_keys (key) INCLUDE (record_id);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION resolution_blocking_keys_fill_end() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION resolution_blocking_keys_fill_end() TO familyconnect_service;
