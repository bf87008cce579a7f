-- Recovery readiness: the platform's own backups and tested restores, and
-- when each key contact was last confirmed to be right.

-- +goose Up
CREATE TABLE recovery_checks (
	id     INTEGER PRIMARY KEY,
	kind   TEXT NOT NULL, -- backup or restore_test
	at     TEXT NOT NULL,
	ok     INTEGER NOT NULL CHECK (ok IN (0, 1)),
	file   TEXT NOT NULL DEFAULT '',
	size   INTEGER NOT NULL DEFAULT 0,
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX recovery_checks_kind ON recovery_checks (kind, at);
ALTER TABLE contacts ADD COLUMN verified_at TEXT;

-- +goose Down
ALTER TABLE contacts DROP COLUMN verified_at;
DROP TABLE recovery_checks;
