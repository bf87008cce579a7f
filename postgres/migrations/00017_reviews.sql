-- Post-incident reviews, one per incident, and their action items: tasks
-- on the incident (so they have owners, due dates and reminders) with the
-- plan change they propose.

-- +goose Up
CREATE TABLE reviews (
	incident_id  bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
	status       text NOT NULL,
	timeline     text NOT NULL, -- JSON array of vigil.ReviewEvent
	root_cause   text NOT NULL DEFAULT '',
	contributing text NOT NULL DEFAULT '',
	went_well    text NOT NULL DEFAULT '',
	to_improve   text NOT NULL DEFAULT '',
	created_by   bigint REFERENCES users (id),
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	closed_at    timestamptz,
	closed_by    text NOT NULL DEFAULT '',
	version      bigint NOT NULL DEFAULT 1
);

CREATE TABLE review_actions (
	task_id         bigint PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
	incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	plan_id         bigint REFERENCES plans (id),
	plan_change     text NOT NULL DEFAULT '',
	adopted_version bigint NOT NULL DEFAULT 0
);
CREATE INDEX review_actions_incident ON review_actions (incident_id);
CREATE INDEX review_actions_plan ON review_actions (plan_id) WHERE plan_id IS NOT NULL;

-- +goose Down
DROP TABLE review_actions;
DROP TABLE reviews;
