-- Reporting duties: the organisation's profile (in settings) and the
-- obligations the duty packs impose on incidents.

-- +goose Up
CREATE TABLE settings (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL, -- JSON
	updated_at TEXT NOT NULL,
	version    INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE obligations (
	id               INTEGER PRIMARY KEY,
	incident_id      INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	pack             TEXT NOT NULL,
	duty             TEXT NOT NULL,
	stage            TEXT NOT NULL,
	detail           TEXT NOT NULL, -- JSON: title, stage name, authority, basis, why, content, hints
	clock_start      TEXT NOT NULL,
	due_at           TEXT,
	asap             INTEGER NOT NULL DEFAULT 0 CHECK (asap IN (0, 1)),
	register         INTEGER NOT NULL DEFAULT 0 CHECK (register IN (0, 1)),
	status           TEXT NOT NULL,
	submitted_at     TEXT,
	submitted_by     INTEGER REFERENCES users (id),
	submitted_name   TEXT NOT NULL DEFAULT '',
	reference        TEXT NOT NULL DEFAULT '',
	submitted_text   TEXT NOT NULL DEFAULT '',
	late_reason      TEXT NOT NULL DEFAULT '',
	justification    TEXT NOT NULL DEFAULT '',
	withdrawn_reason TEXT NOT NULL DEFAULT '',
	created_at       TEXT NOT NULL,
	updated_at       TEXT NOT NULL,
	version          INTEGER NOT NULL DEFAULT 1,
	UNIQUE (incident_id, pack, duty, stage)
);
-- Duties due soon, across incidents.
CREATE INDEX obligations_due ON obligations (due_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE obligations;
DROP TABLE settings;
