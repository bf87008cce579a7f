-- Notifications: channels, subscriptions, the delivery log, and the job
-- queue that fans events out and sends them (several instances share it:
-- a job is leased to one worker at a time, and keyed jobs are queued once).

-- +goose Up
CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY,
	kind         TEXT NOT NULL,
	unique_key   TEXT UNIQUE,
	payload      TEXT NOT NULL,
	state        TEXT NOT NULL DEFAULT 'available', -- available, running, done, dead
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL DEFAULT 10,
	run_at       TEXT NOT NULL,
	locked_by    TEXT,
	locked_until TEXT,
	last_error   TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL,
	finished_at  TEXT
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'available';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state = 'done';

CREATE TABLE channels (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	kind       TEXT NOT NULL,
	url        TEXT NOT NULL DEFAULT '',
	smtp       TEXT, -- JSON, with the password
	secret     TEXT NOT NULL DEFAULT '',
	tlp        TEXT NOT NULL,
	escalation INTEGER NOT NULL DEFAULT 0 CHECK (escalation IN (0, 1)),
	enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version    INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE subscriptions (
	id           INTEGER PRIMARY KEY,
	channel_id   INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	user_id      INTEGER NOT NULL REFERENCES users (id),
	events       TEXT NOT NULL, -- JSON array
	min_severity INTEGER NOT NULL DEFAULT 0,
	types        TEXT NOT NULL DEFAULT '[]',
	mine         INTEGER NOT NULL DEFAULT 0 CHECK (mine IN (0, 1)),
	recipients   TEXT NOT NULL DEFAULT '[]',
	created_at   TEXT NOT NULL
);

CREATE TABLE deliveries (
	id          INTEGER PRIMARY KEY,
	key         TEXT NOT NULL UNIQUE,
	channel_id  INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	event       TEXT NOT NULL,
	incident_id INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
	recipients  TEXT NOT NULL DEFAULT '[]',
	message     TEXT NOT NULL, -- JSON vigil.Message
	status      TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	next_at     TEXT,
	sent_at     TEXT,
	created_at  TEXT NOT NULL
);
CREATE INDEX deliveries_incident ON deliveries (incident_id, id);
CREATE INDEX deliveries_channel ON deliveries (channel_id, id);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE subscriptions;
DROP TABLE channels;
DROP TABLE jobs;
