-- Reporting duties, the rest of issue 24.
--
-- significant_cyber_threat: the incident record is (or holds) a
-- significant cyber threat, which a DORA financial entity may notify to
-- its competent authority (DORA Art. 19(2)) and which asks for a word to
-- the clients or recipients potentially affected (DORA Art. 19(3), NIS2
-- Art. 23(2)). Nothing stored before had it.
--
-- obligations.voluntary: the stage may be sent and is not owed (DORA's
-- notification of a significant cyber threat): status 'optional' until it
-- is sent or set aside, and never counted among the duties met or missed.
--
-- obligations.round: a stage owed on request may be asked for again once
-- its report is sent (NIS2's intermediate report, DORA's updated
-- intermediate report); each request is a row of its own, round 2, 3 and
-- so on, and every report is kept. Rows stored before are round 1. The
-- unique key takes the round: SQLite cannot change a table's
-- constraints, so the table is built again (nothing refers to it).

-- +goose Up
ALTER TABLE incidents ADD COLUMN significant_cyber_threat INTEGER NOT NULL DEFAULT 0 CHECK (significant_cyber_threat IN (0, 1));
CREATE TABLE obligations_new (
	id               INTEGER PRIMARY KEY,
	incident_id      INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	pack             TEXT NOT NULL,
	duty             TEXT NOT NULL,
	stage            TEXT NOT NULL,
	round            INTEGER NOT NULL DEFAULT 1 CHECK (round >= 1), -- the request, for a stage asked for more than once
	detail           TEXT NOT NULL, -- JSON: title, stage name, authority, basis, why, content, hints
	clock_start      TEXT NOT NULL,
	due_at           TEXT,
	asap             INTEGER NOT NULL DEFAULT 0 CHECK (asap IN (0, 1)),
	register         INTEGER NOT NULL DEFAULT 0 CHECK (register IN (0, 1)),
	voluntary        INTEGER NOT NULL DEFAULT 0 CHECK (voluntary IN (0, 1)),
	status           TEXT NOT NULL,
	submitted_at     TEXT,
	submitted_by     INTEGER REFERENCES users (id),
	submitted_name   TEXT NOT NULL DEFAULT '',
	reference        TEXT NOT NULL DEFAULT '',
	submitted_text   TEXT NOT NULL DEFAULT '',
	late_reason      TEXT NOT NULL DEFAULT '',
	justification    TEXT NOT NULL DEFAULT '',
	withdrawn_reason TEXT NOT NULL DEFAULT '',
	created_at       TEXT NOT NULL,
	updated_at       TEXT NOT NULL,
	version          INTEGER NOT NULL DEFAULT 1,
	UNIQUE (incident_id, pack, duty, stage, round)
);
INSERT INTO obligations_new (id, incident_id, pack, duty, stage, detail, clock_start, due_at, asap, register, status, submitted_at, submitted_by, submitted_name, reference, submitted_text, late_reason, justification, withdrawn_reason, created_at, updated_at, version, round, voluntary)
	SELECT id, incident_id, pack, duty, stage, detail, clock_start, due_at, asap, register, status, submitted_at, submitted_by, submitted_name, reference, submitted_text, late_reason, justification, withdrawn_reason, created_at, updated_at, version, 1, 0 FROM obligations;
DROP TABLE obligations;
ALTER TABLE obligations_new RENAME TO obligations;
-- Duties due soon, across incidents.
CREATE INDEX obligations_due ON obligations (due_at) WHERE status = 'pending';

-- +goose Down
-- The later requests and the voluntary stages go: an older Vigil has one
-- row a stage and owes nothing it may choose not to send.
CREATE TABLE obligations_new (
	id               INTEGER PRIMARY KEY,
	incident_id      INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	pack             TEXT NOT NULL,
	duty             TEXT NOT NULL,
	stage            TEXT NOT NULL,
	detail           TEXT NOT NULL, -- JSON: title, stage name, authority, basis, why, content, hints
	clock_start      TEXT NOT NULL,
	due_at           TEXT,
	asap             INTEGER NOT NULL DEFAULT 0 CHECK (asap IN (0, 1)),
	register         INTEGER NOT NULL DEFAULT 0 CHECK (register IN (0, 1)),
	status           TEXT NOT NULL,
	submitted_at     TEXT,
	submitted_by     INTEGER REFERENCES users (id),
	submitted_name   TEXT NOT NULL DEFAULT '',
	reference        TEXT NOT NULL DEFAULT '',
	submitted_text   TEXT NOT NULL DEFAULT '',
	late_reason      TEXT NOT NULL DEFAULT '',
	justification    TEXT NOT NULL DEFAULT '',
	withdrawn_reason TEXT NOT NULL DEFAULT '',
	created_at       TEXT NOT NULL,
	updated_at       TEXT NOT NULL,
	version          INTEGER NOT NULL DEFAULT 1,
	UNIQUE (incident_id, pack, duty, stage)
);
INSERT INTO obligations_new (id, incident_id, pack, duty, stage, detail, clock_start, due_at, asap, register, status, submitted_at, submitted_by, submitted_name, reference, submitted_text, late_reason, justification, withdrawn_reason, created_at, updated_at, version)
	SELECT id, incident_id, pack, duty, stage, detail, clock_start, due_at, asap, register, status, submitted_at, submitted_by, submitted_name, reference, submitted_text, late_reason, justification, withdrawn_reason, created_at, updated_at, version FROM obligations WHERE round = 1 AND NOT voluntary;
DROP TABLE obligations;
ALTER TABLE obligations_new RENAME TO obligations;
CREATE INDEX obligations_due ON obligations (due_at) WHERE status = 'pending';
ALTER TABLE incidents DROP COLUMN significant_cyber_threat;
