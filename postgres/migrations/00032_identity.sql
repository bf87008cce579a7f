-- Identity (docs/identity.md, issue 21): sign-in throttling by account and
-- address, what tells a person's sessions apart, and their second factors.

-- +goose Up
-- Failed sign-ins, by a SHA-256 of "account" or "account and address":
-- kept for any username typed, existing or not (so the answers do not
-- tell which exist), and hashed because people type passwords into the
-- username field.
CREATE TABLE login_throttle (
	key          text PRIMARY KEY,
	failures     integer NOT NULL,
	locked_until timestamptz,
	updated_at   timestamptz NOT NULL
);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);

ALTER TABLE sessions ADD COLUMN user_agent text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN address text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sessions DROP COLUMN address;
ALTER TABLE sessions DROP COLUMN user_agent;
DROP TABLE login_throttle;
