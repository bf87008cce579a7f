-- How many kept pieces of evidence hold each stored file. Adding and
-- deleting evidence update the count in their transactions; the row lock
-- orders an upload and a deletion of the same bytes, so a file is removed
-- only when nothing holds it.

-- +goose Up
CREATE TABLE blob_refs (
	sha256 text PRIMARY KEY,
	n      bigint NOT NULL
);
INSERT INTO blob_refs (sha256, n) SELECT sha256, count(*) FROM evidence WHERE deleted_at IS NULL GROUP BY sha256;

-- +goose Down
DROP TABLE blob_refs;
