-- Each stored version carries the highest TLP rank of any version of its
-- object in the collection. A reader not cleared for one version of an
-- object sees none of them; with the rank on every row that is a filter
-- on the row itself, where it was an anti-join over the collection (which
-- PostgreSQL planned as a scan of the whole table on every page).

-- +goose Up
ALTER TABLE stix_objects ADD COLUMN max_tlp_rank INTEGER NOT NULL DEFAULT 0;
UPDATE stix_objects SET max_tlp_rank = (SELECT max(h.tlp_rank) FROM stix_objects h
	WHERE h.collection_id = stix_objects.collection_id AND h.stix_id = stix_objects.stix_id);

-- +goose Down
ALTER TABLE stix_objects DROP COLUMN max_tlp_rank;
