-- Post-incident reviews, one per incident, and their action items: tasks
-- on the incident (so they have owners, due dates and reminders) with the
-- plan change they propose.

-- +goose Up
CREATE TABLE reviews (
	incident_id  INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
	status       TEXT NOT NULL,
	timeline     TEXT NOT NULL, -- JSON array of vigil.ReviewEvent
	root_cause   TEXT NOT NULL DEFAULT '',
	contributing TEXT NOT NULL DEFAULT '',
	went_well    TEXT NOT NULL DEFAULT '',
	to_improve   TEXT NOT NULL DEFAULT '',
	created_by   INTEGER REFERENCES users (id),
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	closed_at    TEXT,
	closed_by    TEXT NOT NULL DEFAULT '',
	version      INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE review_actions (
	task_id         INTEGER PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
	incident_id     INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	plan_id         INTEGER REFERENCES plans (id),
	plan_change     TEXT NOT NULL DEFAULT '',
	adopted_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX review_actions_incident ON review_actions (incident_id);
CREATE INDEX review_actions_plan ON review_actions (plan_id) WHERE plan_id IS NOT NULL;

-- +goose Down
DROP TABLE review_actions;
DROP TABLE reviews;
