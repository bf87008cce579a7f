-- TAXII 2.1 sharing: collections, the STIX objects in them (each version a
-- row), status resources of additions, and invited partners.

-- +goose Up
CREATE TABLE taxii_collections (
	id          TEXT PRIMARY KEY, -- a UUID
	title       TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	last_added  TEXT,             -- date_added of the newest object: each new one is later
	created_at  TEXT NOT NULL
);

CREATE TABLE stix_objects (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: a client's cursor stays valid after deletes
	collection_id TEXT NOT NULL REFERENCES taxii_collections (id) ON DELETE CASCADE,
	stix_id       TEXT NOT NULL,
	type          TEXT NOT NULL,
	spec_version  TEXT NOT NULL,
	version       TEXT NOT NULL,
	date_added    TEXT NOT NULL,
	tlp           TEXT NOT NULL DEFAULT '',
	tlp_rank      INTEGER NOT NULL, -- 0 CLEAR … 4 RED; unmarked objects count as AMBER (2)
	is_last       INTEGER NOT NULL DEFAULT 1 CHECK (is_last IN (0, 1)),
	is_first      INTEGER NOT NULL DEFAULT 1 CHECK (is_first IN (0, 1)),
	body          TEXT NOT NULL,
	UNIQUE (collection_id, stix_id, version)
);
CREATE INDEX stix_objects_page ON stix_objects (collection_id, seq);
CREATE INDEX stix_objects_added ON stix_objects (collection_id, date_added);

CREATE TABLE taxii_status (
	id                TEXT PRIMARY KEY,
	collection_id     TEXT NOT NULL,
	partner_id        INTEGER,
	user_id           INTEGER,
	request_timestamp TEXT NOT NULL,
	body              TEXT NOT NULL -- JSON vigil.TAXIIStatus
);

CREATE TABLE partners (
	id           INTEGER PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE,
	contact      TEXT NOT NULL DEFAULT '',
	identity_ref TEXT NOT NULL DEFAULT '',
	max_tlp      TEXT NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	token_hint   TEXT NOT NULL,
	revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
	created_at   TEXT NOT NULL
);

CREATE TABLE partner_access (
	partner_id    INTEGER NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
	collection_id TEXT NOT NULL REFERENCES taxii_collections (id) ON DELETE CASCADE,
	can_read      INTEGER NOT NULL DEFAULT 0 CHECK (can_read IN (0, 1)),
	can_write     INTEGER NOT NULL DEFAULT 0 CHECK (can_write IN (0, 1)),
	PRIMARY KEY (partner_id, collection_id)
);

-- +goose Down
DROP TABLE partner_access;
DROP TABLE partners;
DROP TABLE taxii_status;
DROP TABLE stix_objects;
DROP TABLE taxii_collections;
