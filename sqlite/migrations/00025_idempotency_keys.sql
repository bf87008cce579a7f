-- The answers to requests sent with an Idempotency-Key, kept for their
-- retries (sqlstore's IdempotencyService). A row is first a reservation
-- (state 'running', expiring with its lease, renewed while its request
-- runs), then the answer (state 'done', expiring a day after it was
-- recorded). The id is the SHA-256 of the actor's scope, the method and
-- path, and the key: the index holds fixed-width values whatever the path,
-- and the key itself is not kept (the public report form's keys are what
-- decrypts its answers). Expired rows are replaced by the next request with
-- their key and pruned by the worker's schedule.

-- +goose Up
CREATE TABLE idempotency_keys (
	id           TEXT PRIMARY KEY,
	token        TEXT NOT NULL, -- the reservation's: only its request completes or releases it
	state        TEXT NOT NULL CHECK (state IN ('running', 'done')),
	fingerprint  TEXT NOT NULL DEFAULT '',
	request_size INTEGER NOT NULL DEFAULT 0,
	status       INTEGER NOT NULL DEFAULT 0,
	header       TEXT NOT NULL DEFAULT '{}', -- JSON: name to value
	body         BLOB,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
