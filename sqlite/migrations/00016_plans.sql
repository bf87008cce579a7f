-- Response plans: the current version in plans, every version in
-- plan_versions (the change history), the versions applied to each
-- incident, and on tasks the plan step they came from.

-- +goose Up
CREATE TABLE plans (
	id               INTEGER PRIMARY KEY,
	key              TEXT NOT NULL UNIQUE,
	title            TEXT NOT NULL,
	version          INTEGER NOT NULL,
	source           TEXT NOT NULL,
	definition       TEXT NOT NULL, -- JSON of vigil.PlanDefinition, parsed from source
	owner_id         INTEGER REFERENCES users (id),
	approved_version INTEGER NOT NULL DEFAULT 0,
	approved_by      INTEGER REFERENCES users (id),
	approved_by_name TEXT NOT NULL DEFAULT '',
	approved_at      TEXT,
	review_due       TEXT NOT NULL,
	reminded_at      TEXT, -- the last review reminder
	built_in         INTEGER NOT NULL DEFAULT 0 CHECK (built_in IN (0, 1)),
	created_at       TEXT NOT NULL,
	updated_at       TEXT NOT NULL
);

CREATE TABLE plan_versions (
	plan_id         INTEGER NOT NULL REFERENCES plans (id),
	version         INTEGER NOT NULL,
	source          TEXT NOT NULL,
	note            TEXT NOT NULL DEFAULT '',
	created_by      INTEGER REFERENCES users (id),
	created_by_name TEXT NOT NULL,
	created_at      TEXT NOT NULL,
	PRIMARY KEY (plan_id, version)
);

CREATE TABLE incident_plans (
	incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	plan_id     INTEGER NOT NULL REFERENCES plans (id),
	version     INTEGER NOT NULL,
	applied_by  INTEGER REFERENCES users (id),
	applied_at  TEXT NOT NULL,
	PRIMARY KEY (incident_id, plan_id)
);

ALTER TABLE tasks ADD COLUMN plan_id INTEGER; -- plans (id), kept by Vigil (SQLite cannot drop a column with a foreign key)
ALTER TABLE tasks ADD COLUMN step_key TEXT NOT NULL DEFAULT '';
CREATE INDEX tasks_plan ON tasks (incident_id, plan_id) WHERE plan_id IS NOT NULL;

-- +goose Down
DROP INDEX tasks_plan;
ALTER TABLE tasks DROP COLUMN step_key;
ALTER TABLE tasks DROP COLUMN plan_id;
DROP TABLE incident_plans;
DROP TABLE plan_versions;
DROP TABLE plans;
