-- Each stored version carries the highest TLP rank of any version of its
-- object in the collection. A reader not cleared for one version of an
-- object sees none of them; with the rank on every row that is a filter
-- on the row itself, where it was an anti-join over the collection (which
-- PostgreSQL planned as a scan of the whole table on every page).

-- Object and collection IDs are ASCII and only ever compared for
-- equality: the "C" collation compares them as bytes, which made the
-- unique (collection, object, version) index about twice as cheap to keep
-- up in a bulk import.

-- +goose Up
ALTER TABLE stix_objects ALTER COLUMN collection_id TYPE text COLLATE "C", ALTER COLUMN stix_id TYPE text COLLATE "C";
ALTER TABLE stix_objects ADD COLUMN max_tlp_rank bigint NOT NULL DEFAULT 0;
UPDATE stix_objects SET max_tlp_rank = (SELECT max(h.tlp_rank) FROM stix_objects h
	WHERE h.collection_id = stix_objects.collection_id AND h.stix_id = stix_objects.stix_id);

-- +goose Down
ALTER TABLE stix_objects DROP COLUMN max_tlp_rank;
ALTER TABLE stix_objects ALTER COLUMN collection_id TYPE text COLLATE "default", ALTER COLUMN stix_id TYPE text COLLATE "default";
