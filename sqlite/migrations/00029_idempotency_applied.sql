-- What a key says when its request was applied but its answer is not
-- kept. Each write a request makes under its reservation marks the key in
-- the write's own transaction: state 'done' with status 0 (no answer yet),
-- expiring a day later, so that a write whose COMMIT's answer was lost is
-- never run again by a retry with the key (sqlstore's
-- markIdempotencyKey). lease_until is how long the request that applied
-- it still holds it (a retry meanwhile waits; after it, the retry is told
-- the request was applied); request_id is that request's, for the person
-- who must find what it did; grants are what its actor was allowed
-- (vigil.IdempotencyGrants), which a replay requires still.

-- +goose Up
ALTER TABLE idempotency_keys ADD COLUMN lease_until TEXT;
ALTER TABLE idempotency_keys ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN grants TEXT NOT NULL DEFAULT ''; -- space-separated

-- +goose Down
-- Before this migration a 'done' row must hold an answer: an applied key
-- without one goes back to a reservation, which holds the key (409) until
-- it expires instead of letting a retry run it again.
UPDATE idempotency_keys SET state = 'running' WHERE state = 'done' AND status = 0;
ALTER TABLE idempotency_keys DROP COLUMN grants;
ALTER TABLE idempotency_keys DROP COLUMN request_id;
ALTER TABLE idempotency_keys DROP COLUMN lease_until;
