-- Key contacts: people and outside parties to call during an incident.

-- +goose Up
CREATE TABLE contacts (
	id           INTEGER PRIMARY KEY,
	name         TEXT NOT NULL DEFAULT '',
	organisation TEXT NOT NULL DEFAULT '',
	roles        TEXT NOT NULL, -- JSON array of vigil.ContactRole
	phone        TEXT NOT NULL DEFAULT '',
	email        TEXT NOT NULL DEFAULT '',
	out_of_hours TEXT NOT NULL DEFAULT '',
	notes        TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	version      INTEGER NOT NULL DEFAULT 1
);

-- +goose Down
DROP TABLE contacts;
