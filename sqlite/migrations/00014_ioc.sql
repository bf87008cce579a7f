-- IOC matching: the values of the indicators received in collections, the
-- hits of observables and alerts on them, and how far matching has read.

-- +goose Up
CREATE INDEX stix_objects_indicators ON stix_objects (seq) WHERE type = 'indicator';

CREATE TABLE ioc_entries (
	id            INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: retro-hunting reads past a cursor
	object_seq    INTEGER NOT NULL REFERENCES stix_objects (seq) ON DELETE CASCADE,
	collection_id TEXT NOT NULL,
	stix_id       TEXT NOT NULL,
	type          TEXT NOT NULL,
	value         TEXT NOT NULL, -- normalised as observables are; an address block as network/bits
	name          TEXT NOT NULL DEFAULT '',
	confidence    INTEGER,
	tlp           TEXT NOT NULL DEFAULT '',
	tlp_rank      INTEGER NOT NULL,
	valid_until   TEXT,
	created_at    TEXT NOT NULL
);
CREATE INDEX ioc_entries_value ON ioc_entries (type, value);
CREATE INDEX ioc_entries_object ON ioc_entries (collection_id, stix_id);
CREATE INDEX ioc_entries_seq ON ioc_entries (object_seq);

CREATE TABLE ioc_hits (
	id              INTEGER PRIMARY KEY,
	target          TEXT NOT NULL, -- o:<observable id> or a:<alert id>
	incident_id     INTEGER REFERENCES incidents (id) ON DELETE CASCADE,
	observable_id   INTEGER REFERENCES observables (id) ON DELETE CASCADE,
	alert_id        INTEGER REFERENCES alerts (id) ON DELETE CASCADE,
	type            TEXT NOT NULL,
	value           TEXT NOT NULL,
	seen_at         TEXT NOT NULL,
	match           TEXT NOT NULL,
	indicator_type  TEXT NOT NULL,
	indicator_value TEXT NOT NULL,
	indicator_id    TEXT NOT NULL,
	indicator_name  TEXT NOT NULL DEFAULT '',
	confidence      INTEGER,
	tlp             TEXT NOT NULL DEFAULT '',
	tlp_rank        INTEGER NOT NULL,
	collection_id   TEXT NOT NULL,
	retro           INTEGER NOT NULL DEFAULT 0 CHECK (retro IN (0, 1)),
	created_at      TEXT NOT NULL,
	shared_at       TEXT, -- a sighting of it was shared
	UNIQUE (target, indicator_id, indicator_value)
);
CREATE INDEX ioc_hits_incident ON ioc_hits (incident_id, id) WHERE incident_id IS NOT NULL;
CREATE INDEX ioc_hits_alert ON ioc_hits (alert_id, id) WHERE alert_id IS NOT NULL;

CREATE TABLE ioc_state (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	stix_seq      INTEGER NOT NULL DEFAULT 0,
	entry_id      INTEGER NOT NULL DEFAULT 0,
	observable_id INTEGER NOT NULL DEFAULT 0,
	alert_id      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO ioc_state (id) VALUES (1);

-- +goose Down
DROP TABLE ioc_state;
DROP TABLE ioc_hits;
DROP TABLE ioc_entries;
DROP INDEX stix_objects_indicators;
