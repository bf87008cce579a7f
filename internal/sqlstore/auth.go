package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
)

// AuthService implements vigil.AuthService.
type AuthService struct{ db *DB }

// touchEvery limits how often a session's or token's last-use time is
// written: a write per request would make every read a write.
const touchEvery = time.Minute

var errBadLogin = vigil.Errorf(vigil.EUNAUTHORIZED, "Wrong username or password.")

// throttleKeys are the keys of login_throttle for a sign-in to username
// from addr: the account's, and the account's from that address.
func throttleKeys(username, addr string) (account, pair string) {
	return vigil.HashSecret("login\x00" + username), vigil.HashSecret("login\x00" + username + "\x00" + addr)
}

// throttleWait returns how long a sign-in to username from addr must wait
// (0: it may go ahead), the same whether the account exists or not.
func (db *DB) throttleWait(ctx context.Context, username, addr string) (time.Duration, error) {
	account, pair := throttleKeys(username, addr)
	rows, err := db.Read.QueryContext(ctx, db.rebind(`SELECT locked_until FROM login_throttle WHERE key IN (?, ?) AND locked_until IS NOT NULL`), account, pair)
	if err != nil {
		return 0, db.formatError(fmt.Errorf("read throttle: %w", err))
	}
	defer rows.Close()
	now := db.Now()
	var wait time.Duration
	for rows.Next() {
		var until time.Time
		if err := rows.Scan(scanTime(&until)); err != nil {
			return 0, db.formatError(err)
		}
		wait = max(wait, until.Sub(now))
	}
	return wait, db.formatError(rows.Err())
}

// errThrottled is the answer while a sign-in must wait: the same for any
// username, and it does not say whether the account or the address is
// the cause.
func errThrottled(wait time.Duration) error {
	return vigil.Errorf(vigil.ETOOMANY, "Too many failed sign-ins. Try again in %d seconds.", int(math.Ceil(wait.Seconds())))
}

// throttleFail counts a failed sign-in (a password or a second factor) to
// username from addr and sets the waits that follow (vigil.LockoutFor,
// vigil.AccountBackoffFor).
func (tx *Tx) throttleFail(username, addr string) error {
	account, pair := throttleKeys(username, addr)
	for _, k := range []struct {
		key  string
		wait func(int) time.Duration
	}{{account, vigil.AccountBackoffFor}, {pair, vigil.LockoutFor}} {
		var failures int
		if err := tx.queryRow(`INSERT INTO login_throttle (key, failures, updated_at) VALUES (?, 1, ?)
			ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, updated_at = excluded.updated_at
			RETURNING failures`, k.key, tx.now).Scan(&failures); err != nil {
			return fmt.Errorf("count failure: %w", err)
		}
		if d := k.wait(failures); d > 0 {
			if _, err := tx.exec(`UPDATE login_throttle SET locked_until = ? WHERE key = ?`, tx.now.Add(d), k.key); err != nil {
				return err
			}
		}
	}
	return nil
}

// throttleClear forgets the failures of a sign-in that succeeded, and
// rows idle for a day.
func (tx *Tx) throttleClear(username, addr string) error {
	account, pair := throttleKeys(username, addr)
	_, err := tx.exec(`DELETE FROM login_throttle WHERE key IN (?, ?) OR updated_at < ?`, account, pair, tx.now.Add(-24*time.Hour))
	return err
}

// Login checks the password outside any transaction (argon2 is slow by
// design, and SQLite has one writer), then records the outcome. Failures
// are throttled by account and by account and address, for unknown
// usernames as for known ones (vigil.LockoutFor).
func (s *AuthService) Login(ctx context.Context, username, password string) (sess *vigil.Session, secret string, err error) {
	defer s.db.op("auth.login")(&err)
	username = strings.ToLower(strings.TrimSpace(username))
	if len(password) > vigil.MaxPasswordLen || len(username) > 64 {
		return nil, "", errBadLogin
	}
	client := vigil.ClientFromContext(ctx)
	if wait, err := s.db.throttleWait(ctx, username, client.Addr); err != nil {
		return nil, "", err
	} else if wait > 0 {
		return nil, "", errThrottled(wait)
	}
	var id int64
	var hash string
	var disabled bool
	err = s.db.Read.QueryRowContext(ctx, s.db.rebind(`SELECT id, password_hash, disabled FROM users WHERE username = ?`), username).
		Scan(&id, &hash, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		vigil.CheckDummyPassword(password)
	} else if err != nil {
		return nil, "", s.db.formatError(fmt.Errorf("find user: %w", err))
	}
	if id == 0 || !vigil.CheckPassword(hash, password) || disabled {
		// Count the failure, by account and address, whether the account
		// exists or not.
		werr := s.db.write(ctx, func(tx *Tx) error {
			if err := tx.throttleFail(username, client.Addr); err != nil {
				return err
			}
			if id != 0 {
				tx.audit("auth.login_failed", "user", id, nil, map[string]any{"username": username, "address": client.Addr})
			}
			return nil
		})
		if werr != nil {
			return nil, "", werr
		}
		return nil, "", errBadLogin
	}
	if err := s.passwordAllowed(ctx, id); err != nil {
		return nil, "", err
	}
	return startSession(ctx, s.db, id, map[string]any{"username": username}, nil)
}

// startSession starts a session for user id, as the password login and
// a single sign-on do: it clears the user's failed logins, notes the
// login, sweeps expired sessions and audits "auth.login" with details
// (and the session's ID). then, if not nil, runs in the same
// transaction (to note which provider started the session).
func startSession(ctx context.Context, db *DB, id int64, details map[string]any, then func(tx *Tx, sess *vigil.Session) error) (*vigil.Session, string, error) {
	secret, err := vigil.NewSecret()
	if err != nil {
		return nil, "", err
	}
	csrf, err := vigil.NewSecret()
	if err != nil {
		return nil, "", err
	}
	client := vigil.ClientFromContext(ctx)
	username, _ := details["username"].(string)
	sess, err := writeV(ctx, db, func(tx *Tx) (*vigil.Session, error) {
		if err := tx.throttleClear(username, client.Addr); err != nil {
			return nil, err
		}
		if _, err := tx.exec(`UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ?`, tx.now, id); err != nil {
			return nil, err
		}
		// A provider's sign-in is complete: second factors are the
		// provider's business (docs/identity.md); the local policy and
		// factors apply to password sign-ins.
		stage := vigil.StageSignedIn
		if _, sso := details["provider"]; !sso {
			var err error
			if stage, err = tx.signInStage(id); err != nil {
				return nil, err
			}
		}
		sess := &vigil.Session{UserID: id, CSRFToken: csrf, CreatedAt: tx.now, ExpiresAt: tx.now.Add(vigil.SessionLifetime),
			LastSeenAt: tx.now, UserAgent: clip(client.UserAgent, 300), Address: client.Addr, Stage: stage}
		sess.ID, err = tx.insert(`INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at, user_agent, address, stage)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, vigil.HashSecret(secret), id, csrf, sess.CreatedAt, sess.ExpiresAt, tx.now, sess.UserAgent, sess.Address, stage)
		if err != nil {
			return nil, fmt.Errorf("insert session: %w", err)
		}
		// Expired sessions are swept at each login; no job needed.
		if _, err := tx.exec(`DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?`, tx.now, tx.now.Add(-vigil.SessionIdle)); err != nil {
			return nil, err
		}
		if then != nil {
			if err := then(tx, sess); err != nil {
				return nil, err
			}
		}
		details["session_id"] = sess.ID
		details["address"] = client.Addr
		tx.audit("auth.login", "user", id, nil, details)
		// The one logging in is who they have just proved to be, not
		// the anonymous request that asked.
		ev := tx.audits[len(tx.audits)-1]
		ev.ActorID, ev.ActorName = &id, username
		return sess, nil
	})
	if err != nil {
		return nil, "", err
	}
	return sess, secret, nil
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// AuthenticateSession resolves a session cookie.
func (s *AuthService) AuthenticateSession(ctx context.Context, secret string) (a *vigil.Actor, sess *vigil.Session, err error) {
	defer s.db.op("auth.session")(&err)
	var lastSeen time.Time
	var u vigil.User
	sess = &vigil.Session{}
	err = s.db.Read.QueryRowContext(ctx, s.db.rebind(`SELECT s.id, s.user_id, s.csrf_token, s.created_at, s.expires_at, s.last_seen_at, s.stage,
		u.username, u.name, u.disabled, u.must_change_password FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`), vigil.HashSecret(secret)).
		Scan(&sess.ID, &sess.UserID, &sess.CSRFToken, scanTime(&sess.CreatedAt), scanTime(&sess.ExpiresAt), scanTime(&lastSeen), &sess.Stage,
			&u.Username, &u.Name, &u.Disabled, &u.MustChangePassword)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, vigil.Errorf(vigil.EUNAUTHORIZED, "Your session has ended. Log in again.")
	} else if err != nil {
		return nil, nil, s.db.formatError(fmt.Errorf("find session: %w", err))
	}
	now := s.db.Now()
	if u.Disabled || now.After(sess.ExpiresAt) || now.Sub(lastSeen) > vigil.SessionIdle {
		return nil, nil, vigil.Errorf(vigil.EUNAUTHORIZED, "Your session has ended. Log in again.")
	}
	if now.Sub(lastSeen) > touchEvery {
		if err := s.db.write(ctx, func(tx *Tx) error {
			_, err := tx.exec(`UPDATE sessions SET last_seen_at = ? WHERE id = ?`, now, sess.ID)
			return err
		}); err != nil && !writesDown(err) {
			return nil, nil, fmt.Errorf("touch session: %w", err)
		}
	}
	if sess.Stage == vigil.StageMFA {
		return nil, sess, nil // nobody yet: the second factor is to come
	}
	a = &vigil.Actor{UserID: sess.UserID, Username: u.Username, Name: u.Name, MustChangePassword: u.MustChangePassword, SessionID: sess.ID,
		MustEnrol: sess.Stage == vigil.StageEnrol}
	if err := loadMemberships(ctx, s.db, a, 0); err != nil {
		return nil, nil, err
	}
	return a, sess, nil
}

// writesDown reports whether err says that writes fail for now (the disk
// is full, the database is unavailable). Noting when a session or a token
// was last used is bookkeeping: it must not stop someone from reading
// while writes fail, so such a failure is let go.
func writesDown(err error) bool {
	c := vigil.ErrorCode(err)
	return c == vigil.ESTORAGEFULL || c == vigil.EUNAVAILABLE
}

// Logout deletes the session.
func (s *AuthService) Logout(ctx context.Context, secret string) (err error) {
	defer s.db.op("auth.logout")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		var id, userID int64
		err := tx.queryRow(`DELETE FROM sessions WHERE token_hash = ? RETURNING id, user_id`, vigil.HashSecret(secret)).Scan(&id, &userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // already gone: logging out twice is fine
		} else if err != nil {
			return err
		}
		tx.audit("auth.logout", "user", userID, nil, map[string]any{"session_id": id})
		return nil
	})
}

const tokenColumns = `t.id, t.user_id, t.name, t.prefix, t.scopes, t.expires_at, t.last_used_at, t.revoked_at, t.created_at,
	coalesce((SELECT o.slug FROM organisations o WHERE o.id = t.organisation_id), '')`

func scanToken(r rowScanner, extra ...any) (*vigil.Token, error) {
	var t vigil.Token
	var scopes string
	if err := r.Scan(append([]any{&t.ID, &t.UserID, &t.Name, &t.Prefix, &scopes, scanNullTime(&t.ExpiresAt),
		scanNullTime(&t.LastUsedAt), scanNullTime(&t.RevokedAt), scanTime(&t.CreatedAt), &t.Organisation}, extra...)...); err != nil {
		return nil, err
	}
	for _, s := range strings.Split(scopes, ",") {
		if s != "" {
			t.Scopes = append(t.Scopes, vigil.Scope(s))
		}
	}
	return &t, nil
}

// AuthenticateToken resolves an API token.
func (s *AuthService) AuthenticateToken(ctx context.Context, secret string) (a *vigil.Actor, err error) {
	defer s.db.op("auth.token")(&err)
	bad := vigil.Errorf(vigil.EUNAUTHORIZED, "The API token is not valid, has expired or was revoked.")
	if !strings.HasPrefix(secret, vigil.TokenPrefix) || len(secret) > 200 {
		return nil, bad
	}
	var u vigil.User
	var bound sql.NullInt64
	t, err := scanToken(s.db.Read.QueryRowContext(ctx, s.db.rebind(`SELECT `+tokenColumns+`, t.organisation_id, u.username, u.name, u.disabled, u.must_change_password
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`), vigil.HashSecret(secret)),
		&bound, &u.Username, &u.Name, &u.Disabled, &u.MustChangePassword)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bad
	} else if err != nil {
		return nil, s.db.formatError(fmt.Errorf("find token: %w", err))
	}
	now := s.db.Now()
	if u.Disabled || t.RevokedAt != nil || (t.ExpiresAt != nil && now.After(*t.ExpiresAt)) {
		return nil, bad
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > touchEvery {
		if err := s.db.write(ctx, func(tx *Tx) error {
			_, err := tx.exec(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now, t.ID)
			return err
		}); err != nil && !writesDown(err) {
			return nil, fmt.Errorf("touch token: %w", err)
		}
	}
	a = &vigil.Actor{UserID: t.UserID, Username: u.Username, Name: u.Name, TokenID: t.ID, Scopes: t.Scopes,
		MustChangePassword: u.MustChangePassword}
	if err := loadMemberships(ctx, s.db, a, bound.Int64); err != nil {
		return nil, err
	}
	return a, nil
}

// MaxTokensPerUser bounds live tokens per user.
const MaxTokensPerUser = 50

// CreateToken creates an API token and returns its secret.
func (s *AuthService) CreateToken(ctx context.Context, userID int64, t *vigil.Token) (secret string, err error) {
	defer s.db.op("auth.create_token")(&err)
	secret, err = writeV(ctx, s.db, func(tx *Tx) (string, error) {
		var secret string
		if err := tx.require(vigil.PermTokenOwn); err != nil {
			return secret, err
		}
		if userID == 0 {
			userID = tx.actor.UserID
		}
		if userID != tx.actor.UserID {
			if err := tx.require(vigil.PermTokenAdmin); err != nil {
				return secret, err
			}
		}
		u, err := tx.findUser("u.id = ?", userID)
		if err != nil {
			return secret, err
		}
		if u.Disabled {
			return secret, vigil.Errorf(vigil.EINVALID, "That user is disabled.")
		}
		if err := t.Validate(tx.now); err != nil {
			return secret, err
		}
		var bound *int64
		if t.Organisation != "" {
			o, err := tx.findOrg(t.Organisation)
			var n int
			if err == nil {
				err = tx.queryRow(`SELECT count(*) FROM memberships WHERE organisation_id = ? AND user_id = ?`, o.ID, userID).Scan(&n)
			}
			if vigil.ErrorCode(err) == vigil.ENOTFOUND || (err == nil && n == 0) {
				return secret, vigil.Invalid("organisation", "%s does not belong to an organisation %q.", u.Username, t.Organisation)
			} else if err != nil {
				return secret, err
			}
			t.Organisation, bound = o.Slug, &o.ID
		}
		if slices.Contains(t.Scopes, vigil.ScopeAdmin) {
			// An administrator of the install, or of an organisation (for
			// its members), and of the one the token is bound to if it is.
			var n int
			q := `SELECT count(*) FROM memberships WHERE user_id = ? AND role = 'admin'`
			args := []any{userID}
			if bound != nil {
				q, args = q+` AND organisation_id = ?`, append(args, *bound)
			}
			if err := tx.queryRow(q, args...).Scan(&n); err != nil {
				return secret, err
			}
			if n == 0 {
				return secret, vigil.Invalid("scopes", "Only administrators' tokens can have the admin scope.")
			}
		}
		var live int
		if err := tx.queryRow(`SELECT count(*) FROM api_tokens WHERE user_id = ? AND revoked_at IS NULL`, userID).Scan(&live); err != nil {
			return secret, err
		}
		if live >= MaxTokensPerUser {
			return secret, vigil.Errorf(vigil.EINVALID, "A user can have at most %d live tokens; revoke some first.", MaxTokensPerUser)
		}
		raw, err := vigil.NewSecret()
		if err != nil {
			return secret, err
		}
		secret = vigil.TokenPrefix + raw
		slices.Sort(t.Scopes)
		t.Scopes = slices.Compact(t.Scopes)
		t.UserID, t.Prefix, t.CreatedAt = userID, secret[:len(vigil.TokenPrefix)+6], tx.now
		if t.ExpiresAt != nil {
			e := vigil.TruncateTime(*t.ExpiresAt)
			t.ExpiresAt = &e
		}
		scopes := make([]string, len(t.Scopes))
		for i, sc := range t.Scopes {
			scopes[i] = string(sc)
		}
		t.ID, err = tx.insert(`INSERT INTO api_tokens (user_id, name, prefix, token_hash, scopes, expires_at, created_at, organisation_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.UserID, t.Name, t.Prefix, vigil.HashSecret(secret), strings.Join(scopes, ","), t.ExpiresAt, t.CreatedAt, bound)
		if err != nil {
			return secret, fmt.Errorf("insert token: %w", err)
		}
		tx.audit("token.create", "token", t.ID, nil, t)
		return secret, nil
	})
	return secret, err
}

// FindTokens lists a user's tokens, newest first.
func (s *AuthService) FindTokens(ctx context.Context, userID int64) (tokens []*vigil.Token, err error) {
	defer s.db.op("auth.find_tokens")(&err)
	tokens = []*vigil.Token{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if tx.actor == nil {
			return vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
		}
		if userID == 0 {
			userID = tx.actor.UserID
		}
		if userID != tx.actor.UserID {
			if err := tx.require(vigil.PermTokenAdmin); err != nil {
				return err
			}
		}
		tokens, err = queryAll(tx, noExtra(scanToken), `SELECT `+tokenColumns+` FROM api_tokens t WHERE t.user_id = ? ORDER BY t.id DESC`, userID)
		return err
	})
	return tokens, err
}

// RevokeToken revokes a token; a second revoke is a no-op.
func (s *AuthService) RevokeToken(ctx context.Context, id int64) (err error) {
	defer s.db.op("auth.revoke_token")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if tx.actor == nil {
			return vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
		}
		t, err := scanToken(tx.queryRow(`SELECT `+tokenColumns+` FROM api_tokens t WHERE t.id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && t.UserID != tx.actor.UserID && !tx.actor.Can(vigil.PermTokenAdmin)) {
			return vigil.Errorf(vigil.ENOTFOUND, "Token not found.")
		} else if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return nil
		}
		if _, err := tx.exec(`UPDATE api_tokens SET revoked_at = ? WHERE id = ?`, tx.now, id); err != nil {
			return err
		}
		before := *t
		t.RevokedAt = &tx.now
		tx.audit("token.revoke", "token", id, &before, t)
		return nil
	})
}

const sessionColumns = `id, user_id, created_at, expires_at, last_seen_at, user_agent, address`

func scanSession(r rowScanner) (*vigil.Session, error) {
	var x vigil.Session
	err := r.Scan(&x.ID, &x.UserID, scanTime(&x.CreatedAt), scanTime(&x.ExpiresAt), scanTime(&x.LastSeenAt), &x.UserAgent, &x.Address)
	return &x, err
}

// sessionsOf resolves the user whose sessions the actor asks for: 0 is
// their own; another's needs PermUserAdmin.
func (tx *Tx) sessionsOf(userID int64) (int64, error) {
	if tx.actor == nil {
		return 0, vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
	}
	if userID == 0 || userID == tx.actor.UserID {
		if tx.actor.TokenID != 0 {
			return 0, vigil.Errorf(vigil.EFORBIDDEN, "API tokens cannot see or end sessions: sign in at a browser.")
		}
		return tx.actor.UserID, nil
	}
	return userID, tx.require(vigil.PermUserAdmin)
}

// FindSessions lists a user's live sessions.
func (s *AuthService) FindSessions(ctx context.Context, userID int64) (out []*vigil.Session, err error) {
	defer s.db.op("auth.find_sessions")(&err)
	out = []*vigil.Session{}
	err = s.db.read(ctx, func(tx *Tx) error {
		uid, err := tx.sessionsOf(userID)
		if err != nil {
			return err
		}
		out, err = queryAll(tx, scanSession, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? AND expires_at > ? AND last_seen_at > ?
			ORDER BY last_seen_at DESC, id DESC`, uid, tx.now, tx.now.Add(-vigil.SessionIdle))
		for _, x := range out {
			x.Current = x.ID == tx.actor.SessionID && tx.actor.SessionID != 0
		}
		return err
	})
	return out, err
}

// RevokeSession ends one session.
func (s *AuthService) RevokeSession(ctx context.Context, id int64) (err error) {
	defer s.db.op("auth.revoke_session")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if tx.actor == nil {
			return vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
		}
		if tx.actor.TokenID != 0 && !tx.actor.Can(vigil.PermUserAdmin) {
			return vigil.Errorf(vigil.EFORBIDDEN, "API tokens cannot see or end sessions: sign in at a browser.")
		}
		x, err := scanSession(tx.queryRow(`SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && x.UserID != tx.actor.UserID && !tx.actor.Can(vigil.PermUserAdmin)) {
			return vigil.Errorf(vigil.ENOTFOUND, "Session not found.")
		} else if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM sessions WHERE id = ?`, id); err != nil {
			return err
		}
		tx.audit("session.revoke", "user", x.UserID, nil, map[string]any{"session_id": id, "address": x.Address, "user_agent": x.UserAgent})
		return nil
	})
}

// EndSessions ends a user's sessions (one's own: all but the current one).
func (s *AuthService) EndSessions(ctx context.Context, userID int64) (n int, err error) {
	defer s.db.op("auth.end_sessions")(&err)
	n, err = writeV(ctx, s.db, func(tx *Tx) (int, error) {
		uid, err := tx.sessionsOf(userID)
		if err != nil {
			return 0, err
		}
		keep := int64(0)
		if uid == tx.actor.UserID {
			keep = tx.actor.SessionID
		}
		res, err := tx.exec(`DELETE FROM sessions WHERE user_id = ? AND id <> ?`, uid, keep)
		if err != nil {
			return 0, err
		}
		ended, _ := res.RowsAffected()
		tx.audit("session.end_all", "user", uid, nil, map[string]any{"ended": ended, "kept_current": keep != 0})
		return int(ended), nil
	})
	return n, err
}
