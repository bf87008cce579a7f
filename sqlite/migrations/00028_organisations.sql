-- Organisations (docs/organisations.md): one Vigil for a CERT and the
-- organisations it serves. Every install so far becomes organisation 1,
-- "default", the coordinator: the organisation that runs the install.
-- Its users keep their roles as memberships of it (memberships replace
-- users.role), and every incident and its counts belong to it.

-- +goose Up
CREATE TABLE organisations (
	id            INTEGER PRIMARY KEY,
	slug          TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	kind          TEXT NOT NULL CHECK (kind IN ('coordinator', 'member')),
	sector        TEXT NOT NULL DEFAULT '',
	contact_email TEXT NOT NULL DEFAULT '',
	contact_phone TEXT NOT NULL DEFAULT '',
	-- What a member lets the coordinator's staff see (vigil.Grant).
	coordinator_grant TEXT NOT NULL DEFAULT 'none' CHECK (coordinator_grant IN ('none', 'summary', 'full')),
	suspended_at  TEXT,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	version       INTEGER NOT NULL DEFAULT 1
);
INSERT INTO organisations (id, slug, name, kind, created_at, updated_at)
	VALUES (1, 'default', 'Default organisation', 'coordinator',
		strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'), strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'));

-- A user's role in each organisation they belong to.
CREATE TABLE memberships (
	organisation_id INTEGER NOT NULL REFERENCES organisations (id),
	user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role            TEXT NOT NULL,
	created_at      TEXT NOT NULL,
	PRIMARY KEY (organisation_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
INSERT INTO memberships (organisation_id, user_id, role, created_at) SELECT 1, id, role, created_at FROM users;
ALTER TABLE users DROP COLUMN role;

-- An API token may be bound to one of its user's organisations.
ALTER TABLE api_tokens ADD COLUMN organisation_id INTEGER;

-- SQLite refuses a REFERENCES clause on an added column with a default;
-- sqlstore checks the organisation exists before it writes one.
ALTER TABLE incidents ADD COLUMN organisation_id INTEGER NOT NULL DEFAULT 1;

-- Audit events say whose incidents they were about ('' for the
-- install's own), so that each organisation's admins read theirs.
ALTER TABLE audit_events ADD COLUMN organisation TEXT NOT NULL DEFAULT '';

-- A member's incident reported to the coordinator, and the coordinator's
-- incident made from it (vigil.UpwardReport); one row per report.
CREATE TABLE upward_reports (
	id                      INTEGER PRIMARY KEY,
	incident_id             INTEGER NOT NULL REFERENCES incidents (id),
	coordinator_incident_id INTEGER NOT NULL REFERENCES incidents (id),
	shared                  TEXT NOT NULL, -- JSON array
	message                 TEXT NOT NULL DEFAULT '',
	reported_by             TEXT NOT NULL,
	reported_at             TEXT NOT NULL,
	is_update               INTEGER NOT NULL DEFAULT 0 CHECK (is_update IN (0, 1))
);
CREATE INDEX upward_reports_incident ON upward_reports (incident_id, id);
CREATE INDEX upward_reports_coordinator ON upward_reports (coordinator_incident_id, id);

-- The dashboard counts, now by organisation too.
DROP TRIGGER incidents_count_ai;
DROP TRIGGER incidents_count_au;
DROP TRIGGER incidents_count_ad;
DROP TABLE incident_counts;
CREATE TABLE incident_counts (
	organisation_id INTEGER NOT NULL,
	status          TEXT NOT NULL,
	severity        INTEGER NOT NULL,
	tlp             TEXT NOT NULL,
	exercise        INTEGER NOT NULL,
	n               INTEGER NOT NULL,
	PRIMARY KEY (organisation_id, status, severity, tlp, exercise)
);
INSERT INTO incident_counts (organisation_id, status, severity, tlp, exercise, n)
	SELECT organisation_id, status, severity, tlp, exercise, count(*) FROM incidents
	GROUP BY organisation_id, status, severity, tlp, exercise;
-- +goose StatementBegin
CREATE TRIGGER incidents_count_ai AFTER INSERT ON incidents BEGIN
	INSERT INTO incident_counts (organisation_id, status, severity, tlp, exercise, n)
		VALUES (new.organisation_id, new.status, new.severity, new.tlp, new.exercise, 1)
		ON CONFLICT (organisation_id, status, severity, tlp, exercise) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER incidents_count_au AFTER UPDATE OF organisation_id, status, severity, tlp, exercise ON incidents
	WHEN old.organisation_id <> new.organisation_id OR old.status <> new.status OR old.severity <> new.severity
		OR old.tlp <> new.tlp OR old.exercise <> new.exercise
BEGIN
	UPDATE incident_counts SET n = n - 1
		WHERE organisation_id = old.organisation_id AND status = old.status AND severity = old.severity
			AND tlp = old.tlp AND exercise = old.exercise;
	INSERT INTO incident_counts (organisation_id, status, severity, tlp, exercise, n)
		VALUES (new.organisation_id, new.status, new.severity, new.tlp, new.exercise, 1)
		ON CONFLICT (organisation_id, status, severity, tlp, exercise) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER incidents_count_ad AFTER DELETE ON incidents BEGIN
	UPDATE incident_counts SET n = n - 1
		WHERE organisation_id = old.organisation_id AND status = old.status AND severity = old.severity
			AND tlp = old.tlp AND exercise = old.exercise;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER incidents_count_ai;
DROP TRIGGER incidents_count_au;
DROP TRIGGER incidents_count_ad;
DROP TABLE incident_counts;
CREATE TABLE incident_counts (
	status   TEXT NOT NULL,
	severity INTEGER NOT NULL,
	tlp      TEXT NOT NULL,
	exercise INTEGER NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (status, severity, tlp, exercise)
);
INSERT INTO incident_counts (status, severity, tlp, exercise, n)
	SELECT status, severity, tlp, exercise, count(*) FROM incidents GROUP BY status, severity, tlp, exercise;
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
ALTER TABLE incidents DROP COLUMN organisation_id;
ALTER TABLE audit_events DROP COLUMN organisation;
ALTER TABLE api_tokens DROP COLUMN organisation_id;
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'reporter';
UPDATE users SET role = coalesce((SELECT m.role FROM memberships m WHERE m.user_id = users.id AND m.organisation_id = 1), 'reporter');
DROP TABLE upward_reports;
DROP TABLE memberships;
DROP TABLE organisations;
