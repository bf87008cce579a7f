package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-ir/vigil"
)

// OIDCService implements vigil.OIDCService.
type OIDCService struct{ db *DB }

// The sealed columns of single sign-on (see db_secrets.go).
const (
	colOIDCSecret  = "oidc_providers.client_secret"
	colOIDCIDToken = "oidc_sessions.id_token"
)

const oidcColumns = `p.id, p.slug, p.name, p.issuer, p.client_id, p.client_secret, p.scopes, p.username_claim, p.groups_claim,
	p.create_users, p.exclusive, p.enabled, p.created_at, p.updated_at, p.version`

func scanOIDCProvider(r rowScanner) (*vigil.OIDCProvider, error) {
	var p vigil.OIDCProvider
	var scopes string
	err := r.Scan(&p.ID, &p.Slug, &p.Name, &p.Issuer, &p.ClientID, &p.ClientSecret, &scopes, &p.UsernameClaim, &p.GroupsClaim,
		&p.CreateUsers, &p.Exclusive, &p.Enabled, scanTime(&p.CreatedAt), scanTime(&p.UpdatedAt), &p.Version)
	p.Scopes = strings.Fields(scopes)
	p.HasSecret = p.ClientSecret != ""
	return &p, err
}

// loadProvider reads a provider and its mappings; with secret, its
// client secret opened, else none.
func (tx *Tx) loadProvider(where string, arg any, secret bool) (*vigil.OIDCProvider, error) {
	p, err := scanOIDCProvider(tx.queryRow(`SELECT `+oidcColumns+` FROM oidc_providers p WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "No such sign-in provider.")
	} else if err != nil {
		return nil, err
	}
	if secret {
		if p.ClientSecret, err = tx.db.Secrets.open(colOIDCSecret, p.ClientSecret); err != nil {
			return nil, err
		}
	} else {
		p.ClientSecret = ""
	}
	p.Mappings, err = queryAll(tx, func(r rowScanner) (vigil.OIDCMapping, error) {
		var m vigil.OIDCMapping
		return m, r.Scan(&m.Group, &m.Organisation, &m.Role)
	}, `SELECT m.grp, o.slug, m.role FROM oidc_mappings m JOIN organisations o ON o.id = m.organisation_id
		WHERE m.provider_id = ? ORDER BY o.slug, m.grp`, p.ID)
	return p, err
}

// FindProviders lists the providers, without their secrets.
func (s *OIDCService) FindProviders(ctx context.Context) (out []*vigil.OIDCProvider, err error) {
	defer s.db.op("oidc.list")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermUserAdmin); err != nil {
			return err
		}
		ids, err := queryAll(tx, func(r rowScanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		}, `SELECT id FROM oidc_providers ORDER BY name, id`)
		if err != nil {
			return err
		}
		out = []*vigil.OIDCProvider{}
		for _, id := range ids {
			p, err := tx.loadProvider("p.id = ?", id, false)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// FindProvider returns one provider, without its secret.
func (s *OIDCService) FindProvider(ctx context.Context, id int64) (p *vigil.OIDCProvider, err error) {
	defer s.db.op("oidc.get")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermUserAdmin); err != nil {
			return err
		}
		p, err = tx.loadProvider("p.id = ?", id, false)
		return err
	})
	return p, err
}

// checkProvider normalises and validates p, and checks its issuer
// against the outbound allow-list and its mappings' organisations.
func (tx *Tx) checkProvider(p *vigil.OIDCProvider) (orgs map[string]int64, err error) {
	p.Normalize()
	var pr vigil.Problems
	if err := p.Validate(); err != nil {
		var ve *vigil.Error
		if !errors.As(err, &ve) {
			return nil, err
		}
		pr = ve.Fields
	}
	if msg := tx.db.OutboundAllow.CheckURL(p.Issuer); msg != "" && !slices.ContainsFunc(pr, func(f vigil.FieldError) bool { return f.Field == "issuer" }) {
		pr.Add("issuer", "%s", msg)
	}
	orgs = map[string]int64{}
	for _, m := range p.Mappings {
		if _, ok := orgs[m.Organisation]; ok {
			continue
		}
		var id int64
		err := tx.queryRow(`SELECT id FROM organisations WHERE slug = ?`, m.Organisation).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			pr.Add("mappings", "No organisation %q.", m.Organisation)
			continue
		} else if err != nil {
			return nil, err
		}
		orgs[m.Organisation] = id
	}
	return orgs, pr.Err()
}

func (tx *Tx) saveMappings(p *vigil.OIDCProvider, orgs map[string]int64) error {
	if _, err := tx.exec(`DELETE FROM oidc_mappings WHERE provider_id = ?`, p.ID); err != nil {
		return err
	}
	for _, m := range p.Mappings {
		if _, err := tx.exec(`INSERT INTO oidc_mappings (provider_id, grp, organisation_id, role) VALUES (?, ?, ?, ?)`,
			p.ID, m.Group, orgs[m.Organisation], m.Role); err != nil {
			return err
		}
	}
	return nil
}

// slugTaken is the answer for a second provider of the same slug.
var slugTaken = &vigil.Error{Code: vigil.ECONFLICT, Message: "Another provider has that slug.",
	Fields: []vigil.FieldError{{Field: "slug", Message: "Another provider has that slug."}}}

// CreateProvider adds a provider.
func (s *OIDCService) CreateProvider(ctx context.Context, p *vigil.OIDCProvider) (err error) {
	out := p
	defer s.db.op("oidc.create")(&err)
	// The write may run more than once (a group commit's retry): it
	// works on a copy of what was given.
	in := *p
	in.Mappings = slices.Clone(p.Mappings)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermUserAdmin); err != nil {
			return err
		}
		p := new(vigil.OIDCProvider)
		*p = in
		p.Mappings = slices.Clone(in.Mappings)
		orgs, err := tx.checkProvider(p)
		if err != nil {
			return err
		}
		p.CreatedAt, p.UpdatedAt, p.Version = tx.now, tx.now, 1
		p.ID, err = tx.insert(`INSERT INTO oidc_providers (slug, name, issuer, client_id, client_secret, scopes, username_claim, groups_claim,
			create_users, exclusive, enabled, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Slug, p.Name, p.Issuer, p.ClientID, tx.db.Secrets.seal(colOIDCSecret, p.ClientSecret), strings.Join(p.Scopes, " "),
			p.UsernameClaim, p.GroupsClaim, p.CreateUsers, p.Exclusive, p.Enabled, p.CreatedAt, p.UpdatedAt, p.Version)
		if isConflict(tx.db.formatError(err)) {
			return slugTaken
		} else if err != nil {
			return fmt.Errorf("insert provider: %w", err)
		}
		if err := tx.saveMappings(p, orgs); err != nil {
			return err
		}
		p.HasSecret, p.ClientSecret = p.ClientSecret != "", ""
		tx.audit("oidc.create_provider", "oidc_provider", p.ID, nil, p)
		*out = *p
		return nil
	})
}

// UpdateProvider replaces a provider's settings; its slug stays, and an
// empty client secret keeps the stored one.
func (s *OIDCService) UpdateProvider(ctx context.Context, p *vigil.OIDCProvider) (err error) {
	defer s.db.op("oidc.update")(&err)
	out := p
	in := *p
	in.Mappings = slices.Clone(p.Mappings)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermUserAdmin); err != nil {
			return err
		}
		p := new(vigil.OIDCProvider)
		*p = in
		p.Mappings = slices.Clone(in.Mappings)
		old, err := tx.loadProvider("p.id = ?", p.ID, false)
		if err != nil {
			return err
		}
		if p.Version != old.Version {
			return staleVersion(old.Version)
		}
		p.Slug = old.Slug
		orgs, err := tx.checkProvider(p)
		if err != nil {
			return err
		}
		secret := "keep"
		if p.ClientSecret != "" {
			secret = tx.db.Secrets.seal(colOIDCSecret, p.ClientSecret)
		}
		p.CreatedAt, p.UpdatedAt, p.Version = old.CreatedAt, tx.now, old.Version+1
		if _, err := tx.exec(`UPDATE oidc_providers SET name = ?, issuer = ?, client_id = ?,
			client_secret = CASE WHEN ? = 'keep' THEN client_secret ELSE ? END, scopes = ?, username_claim = ?, groups_claim = ?,
			create_users = ?, exclusive = ?, enabled = ?, updated_at = ?, version = ? WHERE id = ?`,
			p.Name, p.Issuer, p.ClientID, secret, secret, strings.Join(p.Scopes, " "), p.UsernameClaim, p.GroupsClaim,
			p.CreateUsers, p.Exclusive, p.Enabled, p.UpdatedAt, p.Version, p.ID); err != nil {
			return err
		}
		if err := tx.saveMappings(p, orgs); err != nil {
			return err
		}
		p.HasSecret, p.ClientSecret = old.HasSecret || p.ClientSecret != "", ""
		tx.audit("oidc.update_provider", "oidc_provider", p.ID, old, p)
		*out = *p
		return nil
	})
}

// DeleteProvider removes a provider; the users it created stay (with no
// password, they can come back only through another provider or a
// password an administrator sets).
func (s *OIDCService) DeleteProvider(ctx context.Context, id int64) (err error) {
	defer s.db.op("oidc.delete")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermUserAdmin); err != nil {
			return err
		}
		old, err := tx.loadProvider("p.id = ?", id, false)
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM oidc_sessions WHERE provider_id = ?`, `DELETE FROM oidc_logins WHERE provider_id = ?`,
			`DELETE FROM oidc_identities WHERE provider_id = ?`, `DELETE FROM oidc_mappings WHERE provider_id = ?`, `DELETE FROM oidc_providers WHERE id = ?`} {
			if _, err := tx.exec(q, id); err != nil {
				return err
			}
		}
		tx.audit("oidc.delete_provider", "oidc_provider", id, old, nil)
		return nil
	})
}

// SignInProviders lists the enabled providers for the login page.
func (s *OIDCService) SignInProviders(ctx context.Context) (out []vigil.OIDCButton, err error) {
	defer s.db.op("oidc.buttons")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		out, err = queryAll(tx, func(r rowScanner) (vigil.OIDCButton, error) {
			var b vigil.OIDCButton
			return b, r.Scan(&b.Slug, &b.Name)
		}, `SELECT slug, name FROM oidc_providers WHERE enabled = TRUE ORDER BY name, id`)
		return err
	})
	return out, err
}

// ProviderForSignIn returns an enabled provider with its secret.
func (s *OIDCService) ProviderForSignIn(ctx context.Context, slug string) (p *vigil.OIDCProvider, err error) {
	defer s.db.op("oidc.provider")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		p, err = tx.loadProvider("p.slug = ? AND p.enabled = TRUE", strings.ToLower(slug), true)
		return err
	})
	return p, err
}

// BeginSignIn keeps a sign-in under way; expired ones are swept here.
func (s *OIDCService) BeginSignIn(ctx context.Context, l *vigil.OIDCLogin) (err error) {
	defer s.db.op("oidc.begin")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`DELETE FROM oidc_logins WHERE expires_at < ?`, tx.now); err != nil {
			return err
		}
		l.ExpiresAt = tx.now.Add(vigil.OIDCLoginLifetime)
		_, err := tx.exec(`INSERT INTO oidc_logins (state_hash, provider_id, nonce, verifier, next, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			vigil.HashSecret(l.State), l.ProviderID, l.Nonce, l.Verifier, l.Next, l.ExpiresAt)
		return err
	})
}

var errNoSignIn = vigil.Errorf(vigil.EUNAUTHORIZED, "This sign-in was not started in this browser, was used already or took too long. Try again.")

// TakeSignIn returns and forgets a sign-in under way: a state is good once.
func (s *OIDCService) TakeSignIn(ctx context.Context, state string) (l *vigil.OIDCLogin, err error) {
	defer s.db.op("oidc.take")(&err)
	if state == "" || len(state) > 200 {
		return nil, errNoSignIn
	}
	return writeV(ctx, s.db, func(tx *Tx) (*vigil.OIDCLogin, error) {
		l := &vigil.OIDCLogin{State: state}
		err := tx.queryRow(`DELETE FROM oidc_logins WHERE state_hash = ? RETURNING provider_id, nonce, verifier, next, expires_at`, vigil.HashSecret(state)).
			Scan(&l.ProviderID, &l.Nonce, &l.Verifier, &l.Next, scanTime(&l.ExpiresAt))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNoSignIn
		} else if err != nil {
			return nil, err
		}
		if tx.now.After(l.ExpiresAt) {
			return nil, errNoSignIn
		}
		return l, nil
	})
}

// noPassword is the password hash of a user made by a sign-in: no
// password matches it.
const noPassword = "!oidc"

// SignIn finds or creates the user, sets the memberships the provider's
// mappings govern, and starts a session.
func (s *OIDCService) SignIn(ctx context.Context, providerID int64, id *vigil.OIDCIdentity, idToken string) (sess *vigil.Session, secret string, err error) {
	defer s.db.op("oidc.sign_in")(&err)
	var userID int64
	var p *vigil.OIDCProvider
	// refuse is the answer to a sign-in refused after what it changed
	// (memberships taken away, the refusal audited) is committed.
	var refuse error
	// The user and their memberships first, then the session in the
	// same way as a password login's.
	err = s.db.write(ctx, func(tx *Tx) error {
		var err error
		refuse = nil
		if p, err = tx.loadProvider("p.id = ? AND p.enabled = TRUE", providerID, false); err != nil {
			return err
		}
		roles := vigil.MappedRoles(p.Mappings, id.Groups)
		var disabled bool
		err = tx.queryRow(`SELECT u.id, u.disabled FROM oidc_identities i JOIN users u ON u.id = i.user_id WHERE i.provider_id = ? AND i.subject = ?`,
			p.ID, id.Subject).Scan(&userID, &disabled)
		if errors.Is(err, sql.ErrNoRows) && id.Username != "" {
			// Not seen before: the user of that username, if any.
			err = tx.queryRow(`SELECT id, disabled FROM users WHERE username = ?`, id.Username).Scan(&userID, &disabled)
			if err == nil {
				if _, err := tx.exec(`INSERT INTO oidc_identities (provider_id, subject, user_id, created_at) VALUES (?, ?, ?, ?)`, p.ID, id.Subject, userID, tx.now); err != nil {
					return err
				}
				tx.audit("oidc.link_user", "user", userID, nil, map[string]any{"provider": p.Slug, "subject": id.Subject, "username": id.Username})
			}
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			userID = 0
		case err != nil:
			return err
		case disabled:
			tx.audit("auth.login_failed", "user", userID, nil, map[string]any{"provider": p.Slug, "reason": "disabled"})
			refuse = vigil.Errorf(vigil.EFORBIDDEN, "Your Vigil account is disabled. Ask an administrator.")
			return nil
		}
		if userID == 0 {
			if !p.CreateUsers {
				return vigil.Errorf(vigil.EFORBIDDEN, "You have no Vigil account, and %s sign-ins do not create one. Ask an administrator.", p.Name)
			}
			if !anyRole(roles) {
				return noGroup(p)
			}
			if id.Username == "" {
				return vigil.Errorf(vigil.EFORBIDDEN, "%s did not say who you are (its %s claim is empty or unusable). Ask an administrator.", p.Name, p.UsernameClaim)
			}
			u := &vigil.User{Username: id.Username, Name: id.Name, Email: id.Email}
			if u.Validate() != nil {
				u.Email = "" // an address Vigil cannot use is left out
			}
			u.CreatedAt, u.UpdatedAt, u.Version = tx.now, tx.now, 1
			userID, err = tx.insert(`INSERT INTO users (username, name, email, disabled, password_hash, failed_logins, must_change_password, created_at, updated_at, version)
				VALUES (?, ?, ?, FALSE, ?, 0, FALSE, ?, ?, 1)`, u.Username, u.Name, u.Email, noPassword, tx.now, tx.now)
			if isConflict(tx.db.formatError(err)) {
				return vigil.Errorf(vigil.ECONFLICT, "A Vigil user named %s already exists and another %s account is linked to it. Ask an administrator.", u.Username, p.Name)
			} else if err != nil {
				return fmt.Errorf("insert user: %w", err)
			}
			u.ID = userID
			if _, err := tx.exec(`INSERT INTO oidc_identities (provider_id, subject, user_id, created_at) VALUES (?, ?, ?, ?)`, p.ID, id.Subject, userID, tx.now); err != nil {
				return err
			}
			tx.audit("user.create", "user", userID, nil, map[string]any{"user": u, "provider": p.Slug, "subject": id.Subject})
		}
		if err := tx.applyMappings(p, userID, roles); err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM memberships WHERE user_id = ?`, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			tx.audit("auth.login_failed", "user", userID, nil, map[string]any{"provider": p.Slug, "reason": "no group gives a role"})
			refuse = noGroup(p)
		}
		return nil
	})
	if err == nil {
		err = refuse
	}
	if err != nil {
		return nil, "", err
	}
	return startSession(ctx, s.db, userID, map[string]any{"username": id.Username, "provider": p.Slug},
		func(tx *Tx, sess *vigil.Session) error {
			_, err := tx.exec(`INSERT INTO oidc_sessions (session_id, provider_id, id_token) VALUES (?, ?, ?)`,
				sess.ID, p.ID, tx.db.Secrets.seal(colOIDCIDToken, idToken))
			return err
		})
}

func anyRole(roles map[string]vigil.Role) bool {
	for _, r := range roles {
		if r != "" {
			return true
		}
	}
	return false
}

func noGroup(p *vigil.OIDCProvider) error {
	return vigil.Errorf(vigil.EFORBIDDEN, "Your %s account is in no group that gives access to Vigil. Ask an administrator to add you to one.", p.Name)
}

// applyMappings sets user's role in each organisation the mappings name
// (adding, changing and removing memberships), audited; the default
// organisation's last active administrator is kept.
func (tx *Tx) applyMappings(p *vigil.OIDCProvider, userID int64, roles map[string]vigil.Role) error {
	slugs := make([]string, 0, len(roles))
	for slug := range roles {
		slugs = append(slugs, slug)
	}
	slices.Sort(slugs)
	for _, slug := range slugs {
		role := roles[slug]
		var orgID int64
		if err := tx.queryRow(`SELECT id FROM organisations WHERE slug = ?`, slug).Scan(&orgID); err != nil {
			return err
		}
		var cur vigil.Role
		err := tx.queryRow(`SELECT role FROM memberships WHERE organisation_id = ? AND user_id = ?`, orgID, userID).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur == role {
			continue
		}
		if cur == vigil.RoleAdmin && orgID == vigil.DefaultOrganisationID {
			if n, err := tx.activeAdmins(); err != nil {
				return err
			} else if n <= 1 {
				continue // the last administrator stays one
			}
		}
		before := map[string]any{"organisation": slug, "role": cur, "provider": p.Slug}
		after := map[string]any{"organisation": slug, "role": role, "provider": p.Slug}
		switch {
		case role == "":
			if _, err := tx.exec(`DELETE FROM memberships WHERE organisation_id = ? AND user_id = ?`, orgID, userID); err != nil {
				return err
			}
			tx.audit("organisation.remove_member", "user", userID, before, nil)
		case cur == "":
			if _, err := tx.exec(`INSERT INTO memberships (organisation_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`, orgID, userID, role, tx.now); err != nil {
				return err
			}
			tx.audit("organisation.add_member", "user", userID, nil, after)
		default:
			if _, err := tx.exec(`UPDATE memberships SET role = ? WHERE organisation_id = ? AND user_id = ?`, role, orgID, userID); err != nil {
				return err
			}
			tx.audit("organisation.set_member_role", "user", userID, before, after)
		}
	}
	return nil
}

// SignedInWith returns the provider and ID token of an OIDC session.
func (s *OIDCService) SignedInWith(ctx context.Context, sessionID int64) (p *vigil.OIDCProvider, idToken string, err error) {
	defer s.db.op("oidc.session")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		var pid int64
		err := tx.queryRow(`SELECT provider_id, id_token FROM oidc_sessions WHERE session_id = ?`, sessionID).Scan(&pid, &idToken)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if idToken, err = tx.db.Secrets.open(colOIDCIDToken, idToken); err != nil {
			return err
		}
		p, err = tx.loadProvider("p.id = ?", pid, true)
		return err
	})
	return p, idToken, err
}

// passwordAllowed refuses a password login to a user who is not an
// administrator of the install while a provider is the only way in.
func (s *AuthService) passwordAllowed(ctx context.Context, userID int64) error {
	var name string
	err := s.db.Read.QueryRowContext(ctx, s.db.rebind(`SELECT p.name FROM oidc_providers p WHERE p.enabled = TRUE AND p.exclusive = TRUE
		AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = ? AND m.organisation_id = 1 AND m.role = 'admin')
		ORDER BY p.id LIMIT 1`), userID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return s.db.formatError(fmt.Errorf("sign-in providers: %w", err))
	}
	return vigil.Errorf(vigil.EUNAUTHORIZED, "Your account signs in with %s only: use \"Sign in with %s\".", name, name)
}
