package storetest

import (
	"context"
	"testing"

	"github.com/vigil-ir/vigil"
)

// testSessions: one's sessions, listed and ended one by one or all at
// once; a password change ends the others, an admin's reset all of them
// and, if asked, the user's API tokens (issue 21).
func testSessions(t *testing.T, open Opener) {
	signIn := func(t *testing.T, s *Store, u *vigil.User, addr, ua string) (context.Context, string) {
		t.Helper()
		ctx := vigil.NewContextWithClient(context.Background(), vigil.Client{Addr: addr, UserAgent: ua})
		_, secret, err := s.Auth.Login(ctx, u.Username, "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		a, _, err := s.Auth.AuthenticateSession(context.Background(), secret)
		if err != nil {
			t.Fatal(err)
		}
		return vigil.NewContextWithActor(context.Background(), a), secret
	}
	alive := func(s *Store, secret string) bool {
		_, _, err := s.Auth.AuthenticateSession(context.Background(), secret)
		return err == nil
	}
	audited := func(t *testing.T, s *Store, action string) int {
		t.Helper()
		evs, err := s.Audit.FindAuditEvents(SystemContext(t), vigil.AuditFilter{Action: action, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}

	t.Run("ListAndRevoke", func(t *testing.T) {
		s := open(t)
		_, u := MustCreateUser(t, s, vigil.RoleResponder)
		_, other := MustCreateUser(t, s, vigil.RoleResponder)
		laptop, laptopSecret := signIn(t, s, u, "192.0.2.1", "Firefox on Linux")
		_, phoneSecret := signIn(t, s, u, "198.51.100.2", "Safari on iPhone")
		otherCtx, _ := signIn(t, s, other, "192.0.2.9", "Chrome")
		list, err := s.Auth.FindSessions(laptop, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("%d sessions, want 2", len(list))
		}
		var phoneID int64
		for _, x := range list {
			if x.UserAgent == "Safari on iPhone" {
				phoneID = x.ID
				if x.Current || x.Address != "198.51.100.2" || x.LastSeenAt.IsZero() || x.CreatedAt.IsZero() {
					t.Errorf("the phone's session: %+v", x)
				}
			} else if !x.Current || x.Address != "192.0.2.1" {
				t.Errorf("the laptop's session (the current one): %+v", x)
			}
		}
		// Someone else's session is not found, and they see none of u's.
		wantCode(t, s.Auth.RevokeSession(otherCtx, phoneID), vigil.ENOTFOUND)
		_, err = s.Auth.FindSessions(otherCtx, u.ID)
		wantCode(t, err, vigil.EFORBIDDEN)
		if err := s.Auth.RevokeSession(laptop, phoneID); err != nil {
			t.Fatal(err)
		}
		if alive(s, phoneSecret) || !alive(s, laptopSecret) {
			t.Error("revoking the phone's session ended the wrong one")
		}
		if audited(t, s, "session.revoke") != 1 {
			t.Error("the revoke was not audited")
		}
		// Ending the others keeps the current one.
		_, phoneSecret = signIn(t, s, u, "198.51.100.2", "Safari on iPhone")
		if n, err := s.Auth.EndSessions(laptop, 0); err != nil || n != 1 {
			t.Fatalf("EndSessions = %d, %v", n, err)
		}
		if alive(s, phoneSecret) || !alive(s, laptopSecret) {
			t.Error("ending the other sessions ended the wrong ones")
		}
	})
	t.Run("AdminEndsAll", func(t *testing.T) {
		s := open(t)
		admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
		_, u := MustCreateUser(t, s, vigil.RoleResponder)
		_, a := signIn(t, s, u, "192.0.2.1", "Firefox")
		_, b := signIn(t, s, u, "192.0.2.2", "Chrome")
		list, err := s.Auth.FindSessions(admin, u.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("the admin sees %d sessions, %v", len(list), err)
		}
		if n, err := s.Auth.EndSessions(admin, u.ID); err != nil || n != 2 {
			t.Fatalf("EndSessions = %d, %v", n, err)
		}
		if alive(s, a) || alive(s, b) {
			t.Error("a session outlived the admin's end of all")
		}
		if audited(t, s, "session.end_all") != 1 {
			t.Error("not audited")
		}
	})
	t.Run("PasswordChangeEndsOthers", func(t *testing.T) {
		s := open(t)
		admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
		_, u := MustCreateUser(t, s, vigil.RoleResponder)
		here, hereSecret := signIn(t, s, u, "192.0.2.1", "Firefox")
		_, thereSecret := signIn(t, s, u, "192.0.2.2", "Chrome")
		if err := s.Users.SetPassword(here, u.ID, "correct horse battery staple", "tangerine lamp quarry"); err != nil {
			t.Fatal(err)
		}
		if alive(s, thereSecret) || !alive(s, hereSecret) {
			t.Error("a password change must end the other sessions and keep this one")
		}
		token, err := s.Auth.CreateToken(here, 0, &vigil.Token{Name: "script", Scopes: []vigil.Scope{vigil.ScopeRead}})
		if err != nil {
			t.Fatal(err)
		}
		// The admin's reset without revoking tokens keeps them.
		if err := s.Users.ResetPassword(admin, u.ID, "reset one for you", false); err != nil {
			t.Fatal(err)
		}
		if alive(s, hereSecret) {
			t.Error("an admin's reset must end every session")
		}
		if _, err := s.Auth.AuthenticateToken(context.Background(), token); err != nil {
			t.Errorf("a reset without revoking tokens revoked one: %v", err)
		}
		if err := s.Users.ResetPassword(admin, u.ID, "reset two for you", true); err != nil {
			t.Fatal(err)
		}
		_, err = s.Auth.AuthenticateToken(context.Background(), token)
		wantCode(t, err, vigil.EUNAUTHORIZED)
		peer, _ := MustCreateUser(t, s, vigil.RoleManager)
		wantCode(t, s.Users.ResetPassword(peer, u.ID, "not allowed at all", true), vigil.EFORBIDDEN)
	})
}
