-- TAXII feeds: external collections Vigil polls into its own.

-- +goose Up
CREATE TABLE taxii_feeds (
	id              INTEGER PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	url             TEXT NOT NULL,
	username        TEXT NOT NULL DEFAULT '',
	password        TEXT NOT NULL DEFAULT '',
	collection_id   TEXT NOT NULL REFERENCES taxii_collections (id) ON DELETE CASCADE,
	poll_interval   INTEGER NOT NULL,
	enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	added_after     TEXT,
	next_token      TEXT NOT NULL DEFAULT '',
	last_poll_at    TEXT,
	last_success_at TEXT,
	last_error      TEXT NOT NULL DEFAULT '',
	failures        INTEGER NOT NULL DEFAULT 0,
	next_poll_at    TEXT,
	objects_fetched INTEGER NOT NULL DEFAULT 0,
	created_at      TEXT NOT NULL
);

-- +goose Down
DROP TABLE taxii_feeds;
