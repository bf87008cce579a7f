-- Saved views: a user's named incident list filters.

-- +goose Up
CREATE TABLE saved_views (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	query      TEXT NOT NULL,
	created_at TEXT NOT NULL,
	UNIQUE (user_id, name)
);

-- +goose Down
DROP TABLE saved_views;
