-- Advisories (docs/advisories.md, issue 20): the coordinator's alerts and
-- advisories to its member organisations, their publications, and the
-- members' answers. 00029 and 00030 are other work's.
--
-- An advisory is never deleted: withdrawn, it stays readable as
-- withdrawn. Its lists (affected, IOCs, references) are JSON: they are
-- read and written whole with the advisory, never queried. Who it is
-- addressed to by name is a table, because the visibility clause asks
-- "is this member in it" in SQL; tlp_rank lets it compare clearances.

-- +goose Up
CREATE TABLE advisories (
	id                 INTEGER PRIMARY KEY,
	uuid               TEXT NOT NULL UNIQUE,
	reference          TEXT NOT NULL UNIQUE,
	title              TEXT NOT NULL,
	kind               TEXT NOT NULL CHECK (kind IN ('alert', 'advisory')),
	severity           TEXT NOT NULL,
	tlp                TEXT NOT NULL,
	tlp_rank           INTEGER NOT NULL,
	summary            TEXT NOT NULL DEFAULT '',
	affected           TEXT NOT NULL DEFAULT '{}',
	actions            TEXT NOT NULL DEFAULT '',
	detection          TEXT NOT NULL DEFAULT '',
	iocs               TEXT NOT NULL DEFAULT '[]',
	refs               TEXT NOT NULL DEFAULT '[]',
	audience_kind      TEXT NOT NULL CHECK (audience_kind IN ('all', 'sector', 'members')),
	-- vigil.NormalizeSector of the sector named, for kind sector.
	audience_sector    TEXT NOT NULL DEFAULT '',
	audience_label     TEXT NOT NULL DEFAULT '', -- the sector as written
	status             TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'published', 'updated', 'withdrawn')),
	revision           INTEGER NOT NULL DEFAULT 0,
	source_incident_id INTEGER REFERENCES incidents (id),
	created_by         INTEGER REFERENCES users (id),
	created_by_name    TEXT NOT NULL DEFAULT '',
	created_at         TEXT NOT NULL,
	updated_at         TEXT NOT NULL,
	published_at       TEXT,
	withdrawn_at       TEXT,
	version            INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX advisories_updated ON advisories (updated_at DESC, id DESC);

-- The members an advisory of audience kind 'members' is for.
CREATE TABLE advisory_audience (
	advisory_id     INTEGER NOT NULL REFERENCES advisories (id),
	organisation_id INTEGER NOT NULL REFERENCES organisations (id),
	PRIMARY KEY (advisory_id, organisation_id)
);
CREATE INDEX advisory_audience_org ON advisory_audience (organisation_id, advisory_id);

-- Each publication: the first, every update, the withdrawal, with the
-- advisory as it was then (JSON) and the note that says what changed.
CREATE TABLE advisory_revisions (
	advisory_id  INTEGER NOT NULL REFERENCES advisories (id),
	revision     INTEGER NOT NULL,
	status       TEXT NOT NULL,
	change_note  TEXT NOT NULL,
	snapshot     TEXT NOT NULL,
	published_by TEXT NOT NULL,
	published_at TEXT NOT NULL,
	PRIMARY KEY (advisory_id, revision)
);

-- The members' answers; the latest of each member counts.
CREATE TABLE advisory_responses (
	id              INTEGER PRIMARY KEY,
	advisory_id     INTEGER NOT NULL REFERENCES advisories (id),
	organisation_id INTEGER NOT NULL REFERENCES organisations (id),
	status          TEXT NOT NULL CHECK (status IN ('affected', 'not_affected', 'investigating', 'mitigated')),
	note            TEXT NOT NULL DEFAULT '',
	responded_by    INTEGER REFERENCES users (id),
	responded_name  TEXT NOT NULL,
	responded_at    TEXT NOT NULL
);
CREATE INDEX advisory_responses_latest ON advisory_responses (advisory_id, organisation_id, id);

-- +goose Down
DROP TABLE advisory_responses;
DROP TABLE advisory_revisions;
DROP TABLE advisory_audience;
DROP TABLE advisories;
DELETE FROM counters WHERE name LIKE 'advisory:%';
