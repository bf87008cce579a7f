-- Single sign-on with OpenID Connect (docs/identity.md): the identity
-- providers an administrator registered, their group mappings, which
-- provider account is which user, the sign-ins under way, and which
-- sessions a provider started (for its logout).

-- +goose Up
CREATE TABLE oidc_providers (
	id             INTEGER PRIMARY KEY,
	slug           TEXT NOT NULL UNIQUE,
	name           TEXT NOT NULL,
	issuer         TEXT NOT NULL,
	client_id      TEXT NOT NULL,
	-- Sealed (vgs1:…) under the server's secret key.
	client_secret  TEXT NOT NULL DEFAULT '',
	scopes         TEXT NOT NULL DEFAULT '',
	username_claim TEXT NOT NULL,
	groups_claim   TEXT NOT NULL DEFAULT '',
	create_users   INTEGER NOT NULL DEFAULT 0 CHECK (create_users IN (0, 1)),
	exclusive      INTEGER NOT NULL DEFAULT 0 CHECK (exclusive IN (0, 1)),
	enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	version        INTEGER NOT NULL DEFAULT 1
);

-- A provider's group gives a role in an organisation.
CREATE TABLE oidc_mappings (
	provider_id     INTEGER NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
	grp             TEXT NOT NULL,
	organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
	role            TEXT NOT NULL,
	PRIMARY KEY (provider_id, grp, organisation_id)
);

-- The provider's subject (sub) that is a Vigil user.
CREATE TABLE oidc_identities (
	provider_id INTEGER NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
	subject     TEXT NOT NULL,
	user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at  TEXT NOT NULL,
	PRIMARY KEY (provider_id, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities (user_id);

-- Sign-ins under way: the state's hash, the nonce and the PKCE verifier,
-- used once.
CREATE TABLE oidc_logins (
	state_hash  TEXT PRIMARY KEY,
	provider_id INTEGER NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
	nonce       TEXT NOT NULL,
	verifier    TEXT NOT NULL,
	next        TEXT NOT NULL,
	expires_at  TEXT NOT NULL
);

-- The sessions a provider started, with the ID token (sealed) for the
-- provider's logout.
CREATE TABLE oidc_sessions (
	session_id  INTEGER PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
	provider_id INTEGER NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
	id_token    TEXT NOT NULL
);

-- +goose Down
DROP TABLE oidc_sessions;
DROP TABLE oidc_logins;
DROP TABLE oidc_identities;
DROP TABLE oidc_mappings;
DROP TABLE oidc_providers;
