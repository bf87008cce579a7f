-- Exercises of response plans, their injects, and participants.

-- +goose Up
CREATE TABLE exercises (
	id           INTEGER PRIMARY KEY,
	title        TEXT NOT NULL,
	kind         TEXT NOT NULL,
	plan_id      INTEGER NOT NULL REFERENCES plans (id),
	scenario     TEXT NOT NULL,
	scheduled_at TEXT NOT NULL,
	status       TEXT NOT NULL,
	started_at   TEXT,
	ended_at     TEXT,
	incident_id  INTEGER REFERENCES incidents (id),
	participants TEXT NOT NULL, -- JSON array of user IDs
	created_by   INTEGER REFERENCES users (id),
	created_at   TEXT NOT NULL,
	version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX exercises_plan ON exercises (plan_id, ended_at);

CREATE TABLE exercise_injects (
	id          INTEGER PRIMARY KEY,
	exercise_id INTEGER NOT NULL REFERENCES exercises (id) ON DELETE CASCADE,
	after_ns    INTEGER NOT NULL, -- nanoseconds after the start
	title       TEXT NOT NULL,
	detail      TEXT NOT NULL DEFAULT '',
	released_at TEXT
);
CREATE INDEX exercise_injects_exercise ON exercise_injects (exercise_id, after_ns);

-- +goose Down
DROP TABLE exercise_injects;
DROP TABLE exercises;
