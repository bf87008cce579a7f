-- Repeats of firing alerts, logged by intake and folded into alerts.count
-- and alerts.last_seen about once a second (sqlstore's foldRepeats). A
-- repeat appends one narrow row here, where rewriting its alert's row
-- wrote a page of the alerts table for each alert repeated; reads add what
-- is not folded yet. No index: rows are appended, and folded all at once.

-- +goose Up
CREATE TABLE alert_repeats (
	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	alert_id  bigint NOT NULL,
	n         bigint NOT NULL,
	last_seen timestamptz NOT NULL
);

-- +goose Down
-- Repeats not folded yet are added to their alerts first.
UPDATE alerts SET count = alerts.count + r.n, last_seen = GREATEST(alerts.last_seen, r.last_seen)
	FROM (SELECT alert_id, SUM(n) AS n, MAX(last_seen) AS last_seen FROM alert_repeats GROUP BY alert_id) AS r
	WHERE alerts.id = r.alert_id;
DROP TABLE alert_repeats;
