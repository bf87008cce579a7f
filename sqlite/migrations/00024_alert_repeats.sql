-- Repeats of firing alerts, logged by intake and folded into alerts.count
-- and alerts.last_seen about once a second (sqlstore's foldRepeats). A
-- repeat appends one narrow row here, where rewriting its alert's row
-- wrote a page of the alerts table for each alert repeated; reads add what
-- is not folded yet. No index: rows are appended, and folded all at once.

-- +goose Up
CREATE TABLE alert_repeats (
	seq       INTEGER PRIMARY KEY,
	alert_id  INTEGER NOT NULL,
	n         INTEGER NOT NULL,
	last_seen TEXT NOT NULL
);

-- +goose Down
DROP TABLE alert_repeats;
