-- Staff reports from the public report page. The receipt code is the
-- reporter's only key; the store keeps its SHA-256 (vigil.HashReceiptCode).

-- +goose Up
CREATE TABLE reports (
	id            INTEGER PRIMARY KEY,
	incident_id   INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	receipt_hash  TEXT NOT NULL UNIQUE,
	system        TEXT NOT NULL DEFAULT '',
	personal_data TEXT NOT NULL DEFAULT 'unsure',
	contact_name  TEXT NOT NULL DEFAULT '',
	contact_email TEXT NOT NULL DEFAULT '',
	contact_phone TEXT NOT NULL DEFAULT '',
	created_at    TEXT NOT NULL
);
CREATE INDEX reports_incident ON reports (incident_id);

CREATE TABLE report_additions (
	id         INTEGER PRIMARY KEY,
	report_id  INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	body       TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX report_additions_report ON report_additions (report_id, id);

-- +goose Down
DROP TABLE report_additions;
DROP TABLE reports;
