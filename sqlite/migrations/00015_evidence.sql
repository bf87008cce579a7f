-- Evidence: files kept content-addressed (the blob store holds the bytes,
-- by SHA-256), each with a hash-chained chain-of-custody log.

-- +goose Up
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
CREATE INDEX evidence_incident ON evidence (incident_id, id);
CREATE INDEX evidence_sha256 ON evidence (sha256);

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

-- +goose Down
DROP TABLE custody;
DROP TABLE evidence;
