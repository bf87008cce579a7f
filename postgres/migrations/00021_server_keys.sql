-- Keys the servers share: made once, by whichever instance needs one
-- first, and never sent to anyone (TAXII cursors are sealed with one).

-- +goose Up
CREATE TABLE server_keys (
	name text PRIMARY KEY,
	key  text NOT NULL -- hex
);

-- +goose Down
DROP TABLE server_keys;
