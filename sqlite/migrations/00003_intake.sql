-- Detection intake: integrations (monitoring tools with a token), alerts
-- deduplicated by fingerprint, their occurrences and observables, and the
-- alert groups that are triaged together. Severity is stored as its rank
-- (1 low … 4 critical), as for incidents.

-- +goose Up
CREATE TABLE integrations (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	kind       TEXT NOT NULL,
	config     TEXT NOT NULL, -- JSON: defaults, mapping, dedup keys, grouping, promotion
	token_hash TEXT NOT NULL UNIQUE,
	token_hint TEXT NOT NULL,
	disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_by INTEGER REFERENCES users (id),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version    INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE alert_groups (
	id             INTEGER PRIMARY KEY,
	group_key      TEXT NOT NULL,
	integration_id INTEGER NOT NULL REFERENCES integrations (id),
	title          TEXT NOT NULL,
	state          TEXT NOT NULL,
	severity       INTEGER NOT NULL,
	tlp            TEXT NOT NULL,
	incident_id    INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
	merged_into    INTEGER REFERENCES alert_groups (id),
	reason         TEXT NOT NULL DEFAULT '',
	alert_count    INTEGER NOT NULL DEFAULT 0,
	first_seen     TEXT NOT NULL,
	last_seen      TEXT NOT NULL,
	updated_at     TEXT NOT NULL
);
-- Joining: the open group with a key, newest first.
CREATE INDEX alert_groups_open_key ON alert_groups (group_key, last_seen) WHERE state IN ('new', 'acknowledged', 'promoted');
-- The triage queue.
CREATE INDEX alert_groups_queue ON alert_groups (state, severity, last_seen);
CREATE INDEX alert_groups_incident ON alert_groups (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE alerts (
	id             INTEGER PRIMARY KEY,
	integration_id INTEGER NOT NULL REFERENCES integrations (id),
	group_id       INTEGER NOT NULL REFERENCES alert_groups (id),
	fingerprint    TEXT NOT NULL,
	status         TEXT NOT NULL,
	title          TEXT NOT NULL,
	description    TEXT NOT NULL DEFAULT '',
	severity       INTEGER NOT NULL,
	tlp            TEXT NOT NULL,
	source_ref     TEXT NOT NULL DEFAULT '',
	url            TEXT NOT NULL DEFAULT '',
	labels         TEXT NOT NULL DEFAULT '{}',
	raw            TEXT,
	count          INTEGER NOT NULL DEFAULT 1,
	occurrence     INTEGER NOT NULL DEFAULT 1,
	started_at     TEXT NOT NULL,
	first_seen     TEXT NOT NULL,
	last_seen      TEXT NOT NULL,
	resolved_at    TEXT,
	UNIQUE (integration_id, fingerprint)
);
-- Not on last_seen or count: repeats then update the row in place (HOT on PostgreSQL).
CREATE INDEX alerts_group ON alerts (group_id, id);

CREATE TABLE alert_occurrences (
	alert_id    INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
	n           INTEGER NOT NULL,
	group_id    INTEGER NOT NULL REFERENCES alert_groups (id),
	started_at  TEXT NOT NULL,
	first_seen  TEXT NOT NULL,
	resolved_at TEXT,
	PRIMARY KEY (alert_id, n)
);

CREATE TABLE alert_observables (
	alert_id INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
	type     TEXT NOT NULL,
	value    TEXT NOT NULL,
	PRIMARY KEY (alert_id, type, value)
);
CREATE INDEX alert_observables_value ON alert_observables (type, value);

-- +goose Down
DROP TABLE alert_observables;
DROP TABLE alert_occurrences;
DROP TABLE alerts;
DROP TABLE alert_groups;
DROP TABLE integrations;
