package storetest

import (
	"context"
	"testing"

	"github.com/vigil-ir/vigil"
)

func testUser(t *testing.T, open Opener) {
	t.Run("OneTimePassword", func(t *testing.T) {
		s := open(t)
		admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
		u := &vigil.User{Username: "onetime", Role: vigil.RoleResponder, MustChangePassword: true}
		if err := s.Users.CreateUser(SystemContext(t), u, "first password given"); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Users.FindUserByID(admin, u.ID)
		if !got.MustChangePassword {
			t.Fatal("the one-time flag was not kept")
		}
		// An admin setting it again keeps the hold; the user choosing their own ends it.
		if err := s.Users.SetPassword(admin, u.ID, "", "second password given"); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.Users.FindUserByID(admin, u.ID); !got.MustChangePassword {
			t.Error("an admin's reset ended the hold")
		}
		self := ActorContext(u)
		if err := s.Users.SetPassword(self, u.ID, "second password given", "my own good password"); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.Users.FindUserByID(admin, u.ID); got.MustChangePassword {
			t.Error("the user's own password did not end the hold")
		}
		if _, _, err := s.Auth.Login(context.Background(), "onetime", "my own good password"); err != nil {
			t.Fatal(err)
		}
	})
	// Issue 21: the printed one-time password could be "changed" to itself.
	t.Run("NewPasswordMustDiffer", func(t *testing.T) {
		s := open(t)
		u := &vigil.User{Username: "reuser", Role: vigil.RoleAdmin, MustChangePassword: true}
		if err := s.Users.CreateUser(SystemContext(t), u, "printed one-time password"); err != nil {
			t.Fatal(err)
		}
		self := ActorContext(u)
		wantField(t, s.Users.SetPassword(self, u.ID, "printed one-time password", "printed one-time password"), "new_password")
		if got, _ := s.Users.FindUserByID(SystemContext(t), u.ID); !got.MustChangePassword {
			t.Error("the refused change ended the one-time hold")
		}
		if err := s.Users.SetPassword(self, u.ID, "printed one-time password", "a password of my own"); err != nil {
			t.Fatal(err)
		}
	})
	// Issue 21: users an administrator made with a password, or whose
	// password an administrator set, must choose their own.
	t.Run("AdminChosenPasswordMustChange", func(t *testing.T) {
		s := open(t)
		admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
		u := &vigil.User{Username: "newbie", Role: vigil.RoleResponder}
		if err := s.Users.CreateUser(admin, u, "initial password given"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Users.FindUserByID(admin, u.ID); !got.MustChangePassword {
			t.Fatal("a user an admin created with a password need not change it")
		}
		if err := s.Users.SetPassword(ActorContext(u), u.ID, "initial password given", "a password all mine"); err != nil {
			t.Fatal(err)
		}
		if err := s.Users.SetPassword(admin, u.ID, "", "reset by the admin"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Users.FindUserByID(admin, u.ID); !got.MustChangePassword {
			t.Error("a password an admin reset need not be changed")
		}
	})
	t.Run("CreateAndFind", func(t *testing.T) {
		s := open(t)
		sys := SystemContext(t)
		u := &vigil.User{Username: " Alice.Smith ", Name: "Alice Smith", Email: "alice@example.org", Role: vigil.RoleManager}
		if err := s.Users.CreateUser(sys, u, "a long enough passphrase"); err != nil {
			t.Fatal(err)
		}
		if u.Username != "alice.smith" {
			t.Errorf("Username = %q, want lower-cased and trimmed", u.Username)
		}
		got, err := s.Users.FindUserByUsername(sys, "ALICE.SMITH")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.Role != vigil.RoleManager {
			t.Errorf("found %+v", got)
		}
		err = s.Users.CreateUser(sys, &vigil.User{Username: "alice.smith", Role: vigil.RoleViewer}, "another long passphrase")
		wantCode(t, err, vigil.ECONFLICT)
		wantField(t, s.Users.CreateUser(sys, &vigil.User{Username: "bob", Role: vigil.RoleViewer}, "short"), "password")
		wantField(t, s.Users.CreateUser(sys, &vigil.User{Username: "Bad Name!", Role: "overlord"}, "a long enough passphrase"), "role")
		users, n, err := s.Users.FindUsers(sys, vigil.UserFilter{Query: "ali"})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || users[0].ID != u.ID {
			t.Errorf("FindUsers(ali) = %d users", n)
		}
	})

	t.Run("OnlyAdminsAdminister", func(t *testing.T) {
		s := open(t)
		mctx, m := MustCreateUser(t, s, vigil.RoleManager)
		wantCode(t, s.Users.CreateUser(mctx, &vigil.User{Username: "x", Role: vigil.RoleAdmin}, "a long enough passphrase"), vigil.EFORBIDDEN)
		_, err := s.Users.UpdateUser(mctx, m.ID, vigil.UserUpdate{Role: ptr(vigil.RoleAdmin), Version: m.Version})
		wantCode(t, err, vigil.EFORBIDDEN)
		rctx, _ := MustCreateUser(t, s, vigil.RoleReporter)
		_, _, err = s.Users.FindUsers(rctx, vigil.UserFilter{})
		wantCode(t, err, vigil.EFORBIDDEN)
		// Everyone may read their own record.
		if _, err := s.Users.FindUserByID(mctx, m.ID); err != nil {
			t.Errorf("FindUserByID(self): %v", err)
		}
	})

	t.Run("LastAdminStays", func(t *testing.T) {
		s := open(t)
		actx, admin := MustCreateUser(t, s, vigil.RoleAdmin)
		_, err := s.Users.UpdateUser(actx, admin.ID, vigil.UserUpdate{Disabled: ptr(true), Version: admin.Version})
		wantCode(t, err, vigil.EINVALID)
		_, err = s.Users.UpdateUser(actx, admin.ID, vigil.UserUpdate{Role: ptr(vigil.RoleViewer), Version: admin.Version})
		wantCode(t, err, vigil.EINVALID)
		_, other := MustCreateUser(t, s, vigil.RoleAdmin)
		up, err := s.Users.UpdateUser(actx, other.ID, vigil.UserUpdate{Disabled: ptr(true), Version: other.Version})
		if err != nil {
			t.Fatal(err)
		}
		if !up.Disabled || up.Version != 2 {
			t.Errorf("updated = %+v", up)
		}
		_, err = s.Users.UpdateUser(actx, other.ID, vigil.UserUpdate{Disabled: ptr(false), Version: 1})
		wantCode(t, err, vigil.ECONFLICT)
	})

	t.Run("SetPassword", func(t *testing.T) {
		s := open(t)
		ctx, u := MustCreateUser(t, s, vigil.RoleResponder)
		err := s.Users.SetPassword(ctx, u.ID, "wrong current password", "a brand new passphrase")
		wantField(t, err, "current_password")
		err = s.Users.SetPassword(ctx, u.ID, "correct horse battery staple", "tiny")
		wantField(t, err, "new_password")
		if err := s.Users.SetPassword(ctx, u.ID, "correct horse battery staple", "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Auth.Login(t.Context(), u.Username, "a brand new passphrase"); err != nil {
			t.Errorf("Login with the new password: %v", err)
		}
		_, other := MustCreateUser(t, s, vigil.RoleResponder)
		wantCode(t, s.Users.SetPassword(ctx, other.ID, "", "a brand new passphrase"), vigil.EFORBIDDEN)
		if err := s.Users.SetPassword(SystemContext(t), other.ID, "", "reset by the admin team"); err != nil {
			t.Errorf("admin reset: %v", err)
		}
	})
}
