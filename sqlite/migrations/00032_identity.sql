-- Identity (docs/identity.md, issue 21): sign-in throttling by account and
-- address, what tells a person's sessions apart, and their second factors.

-- +goose Up
-- Failed sign-ins, by a SHA-256 of "account" or "account and address":
-- kept for any username typed, existing or not (so the answers do not
-- tell which exist), and hashed because people type passwords into the
-- username field.
CREATE TABLE login_throttle (
	key          TEXT PRIMARY KEY,
	failures     INTEGER NOT NULL,
	locked_until TEXT,
	updated_at   TEXT NOT NULL
);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);

ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';

-- A session's stage: '' signed in, 'mfa' past the password and waiting
-- for the second factor, 'enrol' made to enrol one first.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT '';

-- Second factors: a TOTP secret (sealed like channels' secrets), not
-- yet confirmed while confirmed_at is NULL; last_step is the last time
-- step used, so that a code works once.
CREATE TABLE user_factors (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind         TEXT NOT NULL CHECK (kind IN ('totp')),
	secret       TEXT NOT NULL,
	last_step    INTEGER NOT NULL DEFAULT 0,
	confirmed_at TEXT,
	created_at   TEXT NOT NULL
);
CREATE INDEX user_factors_user ON user_factors (user_id);

-- One-time recovery codes, by SHA-256 (80 random bits each).
CREATE TABLE recovery_codes (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash  TEXT NOT NULL UNIQUE,
	used_at    TEXT,
	created_at TEXT NOT NULL
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Whose sign-in needs a second factor (one row).
CREATE TABLE identity_settings (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	mfa_policy  TEXT NOT NULL DEFAULT 'optional' CHECK (mfa_policy IN ('optional', 'admins', 'all')),
	updated_at  TEXT NOT NULL
);
INSERT INTO identity_settings (id, mfa_policy, updated_at) VALUES (1, 'optional', '2026-01-01T00:00:00.000000000Z');

-- +goose Down
DROP TABLE identity_settings;
DROP TABLE recovery_codes;
DROP TABLE user_factors;
ALTER TABLE sessions DROP COLUMN stage;
ALTER TABLE sessions DROP COLUMN address;
ALTER TABLE sessions DROP COLUMN user_agent;
DROP TABLE login_throttle;
