-- Vigil schema, SQLite. Times are UTC text in vigil.TimeFormat
-- (2006-01-02T15:04:05.000000Z): fixed width, so text order is time order.
-- Booleans are 0/1. The PostgreSQL schema has the same tables and columns
-- with native types; keep the two in step (a test compares them).

-- +goose Up
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL DEFAULT '',
	email         TEXT NOT NULL DEFAULT '',
	role          TEXT NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	password_hash TEXT NOT NULL,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until  TEXT,
	last_login_at TEXT,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	version       INTEGER NOT NULL DEFAULT 1
);

-- Sessions and tokens keep only a SHA-256 of their secrets.
CREATE TABLE sessions (
	id           INTEGER PRIMARY KEY,
	token_hash   TEXT NOT NULL UNIQUE,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf_token   TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL,
	last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	scopes       TEXT NOT NULL,
	expires_at   TEXT,
	last_used_at TEXT,
	revoked_at   TEXT,
	created_at   TEXT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Named counters, such as the per-year incident number behind INC-2026-000123.
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);

CREATE TABLE incidents (
	id                INTEGER PRIMARY KEY,
	reference         TEXT NOT NULL UNIQUE,
	title             TEXT NOT NULL,
	summary           TEXT NOT NULL DEFAULT '',
	type              TEXT NOT NULL,
	status            TEXT NOT NULL,
	severity          INTEGER NOT NULL, -- vigil.Severity.Rank: 1 low .. 4 critical, so it sorts
	category          INTEGER NOT NULL DEFAULT 0,
	significant       INTEGER NOT NULL DEFAULT 0 CHECK (significant IN (0, 1)),
	tlp               TEXT NOT NULL,
	personal_data     INTEGER NOT NULL DEFAULT 0 CHECK (personal_data IN (0, 1)),
	essential_service INTEGER NOT NULL DEFAULT 0 CHECK (essential_service IN (0, 1)),
	crime_suspected   INTEGER NOT NULL DEFAULT 0 CHECK (crime_suspected IN (0, 1)),
	affected_services TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	source            TEXT NOT NULL,
	exercise          INTEGER NOT NULL DEFAULT 0 CHECK (exercise IN (0, 1)),
	lead_id           INTEGER REFERENCES users (id),
	created_by        INTEGER REFERENCES users (id),
	duplicate_of      INTEGER REFERENCES incidents (id),
	occurred_at       TEXT,
	detected_at       TEXT,
	reported_at       TEXT,
	aware_at          TEXT,
	contained_at      TEXT,
	recovered_at      TEXT,
	closed_at         TEXT,
	created_at        TEXT NOT NULL,
	updated_at        TEXT NOT NULL,
	version           INTEGER NOT NULL DEFAULT 1
);
-- One index per list order, each ending in id for keyset pagination; the
-- filtered ones lead with the filter column.
CREATE INDEX incidents_created ON incidents (created_at, id);
CREATE INDEX incidents_updated ON incidents (updated_at, id);
CREATE INDEX incidents_severity ON incidents (severity, id);
CREATE INDEX incidents_status_created ON incidents (status, created_at, id);
CREATE INDEX incidents_lead_created ON incidents (lead_id, created_at, id);
CREATE INDEX incidents_lead_updated ON incidents (lead_id, updated_at, id);
CREATE INDEX incidents_created_by ON incidents (created_by, created_at, id);
-- TLP:RED visibility (sqlstore.Tx.visible) is driven from the actor's own
-- RED incidents: those they lead, created, or hold a role on.
CREATE INDEX incidents_red ON incidents (id) WHERE tlp = 'RED';
CREATE INDEX incidents_red_lead ON incidents (lead_id) WHERE tlp = 'RED';
CREATE INDEX incidents_red_creator ON incidents (created_by) WHERE tlp = 'RED';

-- Incidents counted by the fields dashboards count by, kept by triggers so
-- that "how many open, how many critical" never scans the incidents. A
-- count with other filters scans, through the indexes above.
CREATE TABLE incident_counts (
	status   TEXT NOT NULL,
	severity INTEGER NOT NULL,
	tlp      TEXT NOT NULL,
	exercise INTEGER NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (status, severity, tlp, exercise)
);
-- +goose StatementBegin
CREATE TRIGGER incidents_count_ai AFTER INSERT ON incidents BEGIN
	INSERT INTO incident_counts (status, severity, tlp, exercise, n) VALUES (new.status, new.severity, new.tlp, new.exercise, 1)
		ON CONFLICT (status, severity, tlp, exercise) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER incidents_count_au AFTER UPDATE OF status, severity, tlp, exercise ON incidents
	WHEN old.status <> new.status OR old.severity <> new.severity OR old.tlp <> new.tlp OR old.exercise <> new.exercise
BEGIN
	UPDATE incident_counts SET n = n - 1
		WHERE status = old.status AND severity = old.severity AND tlp = old.tlp AND exercise = old.exercise;
	INSERT INTO incident_counts (status, severity, tlp, exercise, n) VALUES (new.status, new.severity, new.tlp, new.exercise, 1)
		ON CONFLICT (status, severity, tlp, exercise) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER incidents_count_ad AFTER DELETE ON incidents BEGIN
	UPDATE incident_counts SET n = n - 1
		WHERE status = old.status AND severity = old.severity AND tlp = old.tlp AND exercise = old.exercise;
END;
-- +goose StatementEnd

CREATE TABLE incident_members (
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	user_id     INTEGER NOT NULL REFERENCES users (id),
	role        TEXT NOT NULL,
	added_by    INTEGER REFERENCES users (id),
	added_at    TEXT NOT NULL,
	PRIMARY KEY (incident_id, user_id, role)
);
CREATE INDEX incident_members_user ON incident_members (user_id, incident_id);

CREATE TABLE incident_links (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	target_id   INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	kind        TEXT NOT NULL,
	note        TEXT NOT NULL DEFAULT '',
	created_by  INTEGER REFERENCES users (id),
	created_at  TEXT NOT NULL,
	UNIQUE (incident_id, target_id, kind)
);
CREATE INDEX incident_links_target ON incident_links (target_id);

CREATE TABLE timeline (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	kind        TEXT NOT NULL,
	at          TEXT NOT NULL,
	actor_id    INTEGER REFERENCES users (id),
	actor_name  TEXT NOT NULL,
	message     TEXT NOT NULL,
	changes     TEXT, -- JSON array of vigil.Change
	created_at  TEXT NOT NULL
);
CREATE INDEX timeline_incident_at ON timeline (incident_id, at, id);

CREATE TABLE tasks (
	id           INTEGER PRIMARY KEY,
	incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	title        TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	phase        TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,
	assignee_id  INTEGER REFERENCES users (id),
	due_at       TEXT,
	position     INTEGER NOT NULL,
	completed_at TEXT,
	created_by   INTEGER REFERENCES users (id),
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tasks_incident ON tasks (incident_id, position);
CREATE INDEX tasks_assignee ON tasks (assignee_id, status);
CREATE INDEX tasks_due ON tasks (status, due_at);

CREATE TABLE comments (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	task_id     INTEGER REFERENCES tasks (id) ON DELETE CASCADE,
	author_id   INTEGER REFERENCES users (id),
	author_name TEXT NOT NULL,
	body        TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX comments_incident ON comments (incident_id, created_at);

CREATE TABLE observables (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	type        TEXT NOT NULL,
	value       TEXT NOT NULL, -- normalised by vigil.NormalizeObservable
	ioc         INTEGER NOT NULL DEFAULT 0 CHECK (ioc IN (0, 1)),
	tlp         TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	created_by  INTEGER REFERENCES users (id),
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	version     INTEGER NOT NULL DEFAULT 1,
	UNIQUE (incident_id, type, value)
);
-- "Seen before in INC-…": every incident holding a value.
CREATE INDEX observables_value ON observables (type, value);

-- One row per searchable text (incident, note, observable), so a single
-- full-text index covers them all and each hit knows its incident.
CREATE TABLE search_docs (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	kind        TEXT NOT NULL,
	object_id   INTEGER NOT NULL,
	body        TEXT NOT NULL,
	UNIQUE (kind, object_id)
);
CREATE INDEX search_docs_incident ON search_docs (incident_id);

-- FTS5 over search_docs.body without a second copy of the text. Changes
-- reach it through search_queue: FTS5 writes a new index segment at every
-- savepoint release, and group commit runs each operation in a savepoint,
-- so the triggers only queue the change and the group committer applies
-- the queue to FTS5 once per group, just before COMMIT, in the same
-- transaction (sqlite.Dialect.BeforeGroupCommit). Inserts and deletes are
-- replayed in order with the text they had, as external-content FTS5
-- needs the old text to delete.
CREATE VIRTUAL TABLE search_fts USING fts5 (
	body, content = 'search_docs', content_rowid = 'id',
	tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE search_queue (
	seq    INTEGER PRIMARY KEY,
	doc_id INTEGER NOT NULL,
	op     TEXT NOT NULL CHECK (op IN ('i', 'd')),
	body   TEXT NOT NULL
);
-- +goose StatementBegin
CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
	INSERT INTO search_queue (doc_id, op, body) VALUES (new.id, 'i', new.body);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
	INSERT INTO search_queue (doc_id, op, body) VALUES (old.id, 'd', old.body);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
	INSERT INTO search_queue (doc_id, op, body) VALUES (old.id, 'd', old.body);
	INSERT INTO search_queue (doc_id, op, body) VALUES (new.id, 'i', new.body);
END;
-- +goose StatementEnd

-- The audit log: append-only and hash-chained (see vigil.AuditEvent).
-- before/after are kept as the exact JSON text that was hashed.
CREATE TABLE audit_events (
	seq         INTEGER PRIMARY KEY,
	at          TEXT NOT NULL,
	actor_id    INTEGER,
	actor_name  TEXT NOT NULL,
	action      TEXT NOT NULL,
	object_type TEXT NOT NULL,
	object_id   TEXT NOT NULL,
	before      TEXT NOT NULL,
	after       TEXT NOT NULL,
	request_id  TEXT NOT NULL DEFAULT '',
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL
);
CREATE INDEX audit_events_object ON audit_events (object_type, object_id, seq);
CREATE INDEX audit_events_actor ON audit_events (actor_id, seq);

-- The chain's head: one row, locked by each appending transaction.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Vigil never updates or deletes audit rows; these triggers make anyone
-- else who tries through SQL stop and think. Someone who drops them is
-- still caught by vigil audit verify.
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_events;
DROP TABLE search_queue;
DROP TABLE search_fts;
DROP TABLE search_docs;
DROP TABLE observables;
DROP TABLE comments;
DROP TABLE tasks;
DROP TABLE timeline;
DROP TABLE incident_links;
DROP TABLE incident_members;
DROP TABLE incident_counts;
DROP TABLE incidents;
DROP TABLE counters;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
