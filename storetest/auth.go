package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func testAuth(t *testing.T, open Opener) {
	t.Run("LoginSessionLogout", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC))
		_, u := MustCreateUser(t, s, vigil.RoleResponder)
		sess, secret, err := s.Auth.Login(t.Context(), strings.ToUpper(u.Username), "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		if sess.UserID != u.ID || sess.CSRFToken == "" || secret == "" {
			t.Fatalf("session = %+v", sess)
		}
		a, got, err := s.Auth.AuthenticateSession(t.Context(), secret)
		if err != nil {
			t.Fatal(err)
		}
		if a.UserID != u.ID || a.Role != vigil.RoleResponder || got.CSRFToken != sess.CSRFToken {
			t.Errorf("actor = %+v", a)
		}
		_, _, err = s.Auth.AuthenticateSession(t.Context(), secret+"x")
		wantCode(t, err, vigil.EUNAUTHORIZED)
		// Idle sessions end.
		c.add(vigil.SessionIdle + time.Minute)
		_, _, err = s.Auth.AuthenticateSession(t.Context(), secret)
		wantCode(t, err, vigil.EUNAUTHORIZED)
		_, secret, err = s.Auth.Login(t.Context(), u.Username, "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Auth.Logout(t.Context(), secret); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.Auth.AuthenticateSession(t.Context(), secret)
		wantCode(t, err, vigil.EUNAUTHORIZED)
	})

	t.Run("WrongPasswordAndLockout", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC))
		_, u := MustCreateUser(t, s, vigil.RoleViewer)
		_, _, err := s.Auth.Login(t.Context(), "nobody", "whatever it is")
		wantCode(t, err, vigil.EUNAUTHORIZED)
		for range vigil.MaxFailedLogins {
			_, _, err := s.Auth.Login(t.Context(), u.Username, "wrong password here")
			wantCode(t, err, vigil.EUNAUTHORIZED)
		}
		// Locked: even the right password is refused until the lock ends.
		_, _, err = s.Auth.Login(t.Context(), u.Username, "correct horse battery staple")
		wantCode(t, err, vigil.ETOOMANY)
		c.add(vigil.BaseLockout + time.Second)
		if _, _, err := s.Auth.Login(t.Context(), u.Username, "correct horse battery staple"); err != nil {
			t.Fatalf("Login after the lock ended: %v", err)
		}
	})

	// Issue 21: an existing account answered 429 after 5 failures while an
	// unknown one answered 401, and anyone could keep an account locked.
	t.Run("ThrottleTellsNoUsernames", func(t *testing.T) {
		s := open(t)
		newClock(s, time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC))
		_, u := MustCreateUser(t, s, vigil.RoleViewer)
		from := vigil.NewContextWithClient(t.Context(), vigil.Client{Addr: "198.51.100.7"})
		answers := map[string][]string{}
		for _, name := range []string{u.Username, "nosuchuser"} {
			for range vigil.MaxFailedLogins + 2 {
				_, _, err := s.Auth.Login(from, name, "wrong password here")
				answers[name] = append(answers[name], string(vigil.ErrorCode(err))+": "+vigil.ErrorMessage(err))
			}
		}
		if a, b := strings.Join(answers[u.Username], "\n"), strings.Join(answers["nosuchuser"], "\n"); a != b {
			t.Errorf("a known and an unknown username answer differently:\n%s\n---\n%s", a, b)
		}
		if last := answers["nosuchuser"][vigil.MaxFailedLogins]; !strings.HasPrefix(last, string(vigil.ETOOMANY)) {
			t.Errorf("an unknown username is not throttled: %q", last)
		}
	})
	t.Run("RightPasswordFromElsewhere", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC))
		_, u := MustCreateUser(t, s, vigil.RoleViewer)
		attacker := vigil.NewContextWithClient(t.Context(), vigil.Client{Addr: "203.0.113.66"})
		owner := vigil.NewContextWithClient(t.Context(), vigil.Client{Addr: "192.0.2.10", UserAgent: "Firefox"})
		// Someone guesses for an hour from one address, as fast as allowed.
		for range 40 {
			_, _, err := s.Auth.Login(attacker, u.Username, "wrong password here")
			if c := vigil.ErrorCode(err); c != vigil.EUNAUTHORIZED && c != vigil.ETOOMANY {
				t.Fatal(err)
			}
			c.add(vigil.MaxAccountBackoff + time.Second)
		}
		// Their address stays refused, the right password too.
		_, _, err := s.Auth.Login(attacker, u.Username, "correct horse battery staple")
		wantCode(t, err, vigil.ETOOMANY)
		// The owner elsewhere waits at most the short back-off.
		s.Auth.Login(attacker, u.Username, "wrong password here")
		c.add(vigil.MaxAccountBackoff)
		sess, _, err := s.Auth.Login(owner, u.Username, "correct horse battery staple")
		if err != nil {
			t.Fatalf("the owner from another address, after %v: %v", vigil.MaxAccountBackoff, err)
		}
		if sess.Address != "192.0.2.10" || sess.UserAgent != "Firefox" {
			t.Errorf("session from %q by %q", sess.Address, sess.UserAgent)
		}
	})

	t.Run("DisabledUser", func(t *testing.T) {
		s := open(t)
		_, u := MustCreateUser(t, s, vigil.RoleResponder)
		_, secret, err := s.Auth.Login(t.Context(), u.Username, "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		actx, _ := MustCreateUser(t, s, vigil.RoleAdmin)
		tokSecret, err := s.Auth.CreateToken(actx, u.ID, &vigil.Token{Name: "ci", Scopes: []vigil.Scope{vigil.ScopeRead}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Users.UpdateUser(actx, u.ID, vigil.UserUpdate{Disabled: ptr(true), Version: u.Version}); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.Auth.AuthenticateSession(t.Context(), secret)
		wantCode(t, err, vigil.EUNAUTHORIZED)
		_, _, err = s.Auth.Login(t.Context(), u.Username, "correct horse battery staple")
		wantCode(t, err, vigil.EUNAUTHORIZED)
		_, err = s.Auth.AuthenticateToken(t.Context(), tokSecret)
		wantCode(t, err, vigil.EUNAUTHORIZED)
	})

	t.Run("Tokens", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC))
		ctx, u := MustCreateUser(t, s, vigil.RoleResponder)
		expires := c.now().Add(24 * time.Hour)
		tok := &vigil.Token{Name: "SIEM", Scopes: []vigil.Scope{vigil.ScopeWrite, vigil.ScopeRead}, ExpiresAt: &expires}
		secret, err := s.Auth.CreateToken(ctx, 0, tok)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, vigil.TokenPrefix) || !strings.HasPrefix(secret, tok.Prefix) || tok.UserID != u.ID {
			t.Errorf("token = %+v, secret %q", tok, secret[:8])
		}
		a, err := s.Auth.AuthenticateToken(t.Context(), secret)
		if err != nil {
			t.Fatal(err)
		}
		if a.UserID != u.ID || a.TokenID != tok.ID || len(a.Scopes) != 2 {
			t.Errorf("actor = %+v", a)
		}
		// A token acts with its user's role, narrowed by its scopes.
		readOnly, err := s.Auth.CreateToken(ctx, 0, &vigil.Token{Name: "dashboards", Scopes: []vigil.Scope{vigil.ScopeRead}})
		if err != nil {
			t.Fatal(err)
		}
		ra, err := s.Auth.AuthenticateToken(t.Context(), readOnly)
		if err != nil {
			t.Fatal(err)
		}
		rctx := vigil.NewContextWithActor(t.Context(), ra)
		wantCode(t, s.Incidents.CreateIncident(rctx, &vigil.Incident{Title: "x"}), vigil.EFORBIDDEN)
		if _, err := s.Incidents.FindIncidents(rctx, vigil.IncidentFilter{}); err != nil {
			t.Errorf("a read token cannot read: %v", err)
		}
		// Tokens cannot mint tokens.
		_, err = s.Auth.CreateToken(vigil.NewContextWithActor(t.Context(), a), 0, &vigil.Token{Name: "child", Scopes: []vigil.Scope{vigil.ScopeRead}})
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Auth.CreateToken(ctx, 0, &vigil.Token{Name: "root", Scopes: []vigil.Scope{vigil.ScopeAdmin}})
		wantField(t, err, "scopes")
		_, err = s.Auth.CreateToken(ctx, 0, &vigil.Token{Name: "", Scopes: nil})
		wantField(t, err, "name")

		tokens, err := s.Auth.FindTokens(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(tokens) != 2 {
			t.Errorf("FindTokens = %d, want 2", len(tokens))
		}
		otherCtx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		wantCode(t, s.Auth.RevokeToken(otherCtx, tok.ID), vigil.ENOTFOUND)
		_, err = s.Auth.FindTokens(otherCtx, u.ID)
		wantCode(t, err, vigil.EFORBIDDEN)

		c.add(25 * time.Hour)
		_, err = s.Auth.AuthenticateToken(t.Context(), secret)
		wantCode(t, err, vigil.EUNAUTHORIZED) // expired
		if err := s.Auth.RevokeToken(ctx, tokens[0].ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Auth.AuthenticateToken(t.Context(), readOnly)
		wantCode(t, err, vigil.EUNAUTHORIZED) // revoked
		_, err = s.Auth.AuthenticateToken(t.Context(), "vgl_nonsense")
		wantCode(t, err, vigil.EUNAUTHORIZED)
	})
}
