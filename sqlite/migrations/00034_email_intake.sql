-- E-mail intake (docs/email-intake.md).
--
-- Evidence may belong to an alert before any incident: a reported message
-- and its attachments, kept with their chain of custody from the moment
-- they arrive. SQLite cannot drop NOT NULL from a column, so evidence and
-- custody are rebuilt (renamed, copied, dropped; the rename moves the
-- custody table's reference, and the implicit delete of DROP TABLE fires
-- no trigger).
--
-- A grouping rule that matches on any one of its keys (an e-mail campaign:
-- same sender domain, link, attachment or subject) keeps every key of a
-- group in alert_group_keys.

-- +goose Up
ALTER TABLE custody RENAME TO custody_old;
ALTER TABLE evidence RENAME TO evidence_old;
CREATE TABLE evidence (
	id             INTEGER PRIMARY KEY,
	incident_id    INTEGER REFERENCES incidents (id) ON DELETE RESTRICT,
	name           TEXT NOT NULL,
	media_type     TEXT NOT NULL,
	description    TEXT NOT NULL DEFAULT '',
	size           INTEGER NOT NULL,
	sha256         TEXT NOT NULL,
	sha1           TEXT NOT NULL,
	md5            TEXT NOT NULL,
	collected_by   TEXT NOT NULL DEFAULT '',
	collected_at   TEXT,
	collected_from TEXT NOT NULL DEFAULT '',
	method         TEXT NOT NULL DEFAULT '',
	added_by       INTEGER REFERENCES users (id),
	added_by_name  TEXT NOT NULL,
	added_at       TEXT NOT NULL,
	legal_hold     INTEGER NOT NULL DEFAULT 0 CHECK (legal_hold IN (0, 1)),
	hold_reason    TEXT NOT NULL DEFAULT '',
	deleted_at     TEXT,
	integrity      TEXT NOT NULL DEFAULT 'unverified',
	verified_at    TEXT,
	custody_count  INTEGER NOT NULL DEFAULT 0,
	custody_head   TEXT NOT NULL DEFAULT '',
	version        INTEGER NOT NULL DEFAULT 1,
	alert_id       INTEGER REFERENCES alerts (id) CHECK (incident_id IS NOT NULL OR alert_id IS NOT NULL)
);
INSERT INTO evidence (id, incident_id, name, media_type, description, size, sha256, sha1, md5, collected_by, collected_at, collected_from, method, added_by, added_by_name, added_at, legal_hold, hold_reason, deleted_at, integrity, verified_at, custody_count, custody_head, version, alert_id)
	SELECT id, incident_id, name, media_type, description, size, sha256, sha1, md5, collected_by, collected_at, collected_from, method, added_by, added_by_name, added_at, legal_hold, hold_reason, deleted_at, integrity, verified_at, custody_count, custody_head, version, NULL FROM evidence_old;
CREATE TABLE custody (
	evidence_id INTEGER NOT NULL REFERENCES evidence (id) ON DELETE RESTRICT,
	seq         INTEGER NOT NULL,
	at          TEXT NOT NULL,
	actor_id    INTEGER,
	actor_name  TEXT NOT NULL,
	action      TEXT NOT NULL,
	to_whom     TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '',
	result      TEXT NOT NULL DEFAULT '',
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL,
	PRIMARY KEY (evidence_id, seq)
);
INSERT INTO custody SELECT * FROM custody_old WHERE evidence_id IN (SELECT id FROM evidence);
DROP TABLE custody_old;
DROP TABLE evidence_old;
CREATE INDEX evidence_incident ON evidence (incident_id, id);
CREATE INDEX evidence_sha256 ON evidence (sha256);
-- The custody log is append-only; someone with write access to the file
-- can still drop these, which vigil evidence verify then finds.
-- +goose StatementBegin
CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody BEGIN
	SELECT RAISE(ABORT, 'custody is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody BEGIN
	SELECT RAISE(ABORT, 'custody is append-only');
END;
-- +goose StatementEnd

CREATE INDEX evidence_alert ON evidence (alert_id, id) WHERE alert_id IS NOT NULL;

CREATE TABLE alert_group_keys (
	group_key TEXT NOT NULL,
	group_id  INTEGER NOT NULL REFERENCES alert_groups (id),
	PRIMARY KEY (group_key, group_id)
);
CREATE INDEX alert_group_keys_group ON alert_group_keys (group_id);

-- Mailboxes polled for reported e-mail (IMAP), the password sealed; the
-- poll's state (UIDVALIDITY, last UID, health) and the messages whose
-- processing failed, retried with backoff.
CREATE TABLE mailboxes (
	id               INTEGER PRIMARY KEY,
	name             TEXT NOT NULL UNIQUE,
	integration_id   INTEGER NOT NULL REFERENCES integrations (id),
	host             TEXT NOT NULL,
	port             INTEGER NOT NULL,
	security         TEXT NOT NULL,
	username         TEXT NOT NULL,
	password         TEXT NOT NULL DEFAULT '',
	folder           TEXT NOT NULL,
	processed        TEXT NOT NULL,
	processed_folder TEXT NOT NULL DEFAULT '',
	interval_seconds INTEGER NOT NULL,
	disabled         INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	uid_validity     INTEGER NOT NULL DEFAULT 0,
	last_uid         INTEGER NOT NULL DEFAULT 0,
	health           TEXT NOT NULL DEFAULT 'unknown',
	last_error       TEXT NOT NULL DEFAULT '',
	last_polled_at   TEXT,
	next_poll_at     TEXT NOT NULL,
	created_at       TEXT NOT NULL
);

CREATE TABLE mailbox_failures (
	mailbox_id   INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
	uid_validity INTEGER NOT NULL,
	uid          INTEGER NOT NULL,
	error        TEXT NOT NULL,
	attempts     INTEGER NOT NULL,
	first_at     TEXT NOT NULL,
	next_at      TEXT NOT NULL,
	PRIMARY KEY (mailbox_id, uid_validity, uid)
);

-- +goose Down
DROP TABLE mailbox_failures;
DROP TABLE mailboxes;
DROP TABLE alert_group_keys;
ALTER TABLE custody RENAME TO custody_old;
ALTER TABLE evidence RENAME TO evidence_old;
CREATE TABLE evidence (
	id             INTEGER PRIMARY KEY,
	incident_id    INTEGER NOT NULL REFERENCES incidents (id) ON DELETE RESTRICT,
	name           TEXT NOT NULL,
	media_type     TEXT NOT NULL,
	description    TEXT NOT NULL DEFAULT '',
	size           INTEGER NOT NULL,
	sha256         TEXT NOT NULL,
	sha1           TEXT NOT NULL,
	md5            TEXT NOT NULL,
	collected_by   TEXT NOT NULL DEFAULT '',
	collected_at   TEXT,
	collected_from TEXT NOT NULL DEFAULT '',
	method         TEXT NOT NULL DEFAULT '',
	added_by       INTEGER REFERENCES users (id),
	added_by_name  TEXT NOT NULL,
	added_at       TEXT NOT NULL,
	legal_hold     INTEGER NOT NULL DEFAULT 0 CHECK (legal_hold IN (0, 1)),
	hold_reason    TEXT NOT NULL DEFAULT '',
	deleted_at     TEXT,
	integrity      TEXT NOT NULL DEFAULT 'unverified',
	verified_at    TEXT,
	custody_count  INTEGER NOT NULL DEFAULT 0,
	custody_head   TEXT NOT NULL DEFAULT '',
	version        INTEGER NOT NULL DEFAULT 1
);
INSERT INTO evidence (id, incident_id, name, media_type, description, size, sha256, sha1, md5, collected_by, collected_at, collected_from, method, added_by, added_by_name, added_at, legal_hold, hold_reason, deleted_at, integrity, verified_at, custody_count, custody_head, version)
	SELECT id, incident_id, name, media_type, description, size, sha256, sha1, md5, collected_by, collected_at, collected_from, method, added_by, added_by_name, added_at, legal_hold, hold_reason, deleted_at, integrity, verified_at, custody_count, custody_head, version FROM evidence_old WHERE incident_id IS NOT NULL;
CREATE TABLE custody (
	evidence_id INTEGER NOT NULL REFERENCES evidence (id) ON DELETE RESTRICT,
	seq         INTEGER NOT NULL,
	at          TEXT NOT NULL,
	actor_id    INTEGER,
	actor_name  TEXT NOT NULL,
	action      TEXT NOT NULL,
	to_whom     TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '',
	result      TEXT NOT NULL DEFAULT '',
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL,
	PRIMARY KEY (evidence_id, seq)
);
INSERT INTO custody SELECT * FROM custody_old WHERE evidence_id IN (SELECT id FROM evidence);
DROP TABLE custody_old;
DROP TABLE evidence_old;
CREATE INDEX evidence_incident ON evidence (incident_id, id);
CREATE INDEX evidence_sha256 ON evidence (sha256);
-- The custody log is append-only; someone with write access to the file
-- can still drop these, which vigil evidence verify then finds.
-- +goose StatementBegin
CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody BEGIN
	SELECT RAISE(ABORT, 'custody is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody BEGIN
	SELECT RAISE(ABORT, 'custody is append-only');
END;
-- +goose StatementEnd
