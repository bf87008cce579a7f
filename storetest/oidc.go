package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// testOIDC: single sign-on's store side. Providers are for admins, their
// client secrets sealed at rest and never read back; a sign-in under way
// is taken once; a sign-in creates a user only if the provider allows,
// sets the memberships its mappings govern at each sign-in (adding and
// removing, audited), refuses disabled users and users no group admits,
// starts a session as a password login does, and a provider that is the
// only way in refuses non-admins' passwords.
func testOIDC(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	responder, _ := MustCreateUser(t, s, vigil.RoleResponder)
	mustCreateOrg(t, s, "north", "North Trust")

	p := &vigil.OIDCProvider{Slug: "idp", Name: "Corp IdP", Issuer: "https://idp.example.org/realms/corp", ClientID: "vigil",
		ClientSecret: "client-secret-789", CreateUsers: true, Enabled: true, GroupsClaim: "groups",
		Mappings: []vigil.OIDCMapping{
			{Group: "soc", Role: vigil.RoleResponder},
			{Group: "soc-leads", Role: vigil.RoleManager},
			{Group: "north-soc", Organisation: "north", Role: vigil.RoleResponder},
		}}

	t.Run("admins only, fields checked", func(t *testing.T) {
		wantCode(t, s.OIDC.CreateProvider(responder, &vigil.OIDCProvider{Slug: "x", Name: "X", Issuer: "https://x.example", ClientID: "c"}), vigil.EFORBIDDEN)
		_, err := s.OIDC.FindProviders(responder)
		wantCode(t, err, vigil.EFORBIDDEN)
		err = s.OIDC.CreateProvider(admin, &vigil.OIDCProvider{Slug: "Bad Slug", Name: "", Issuer: "ftp://x", ClientID: ""})
		for _, f := range []string{"slug", "name", "issuer", "client_id"} {
			wantField(t, err, f)
		}
		err = s.OIDC.CreateProvider(admin, &vigil.OIDCProvider{Slug: "local", Name: "Local", Issuer: "http://127.0.0.1:8080", ClientID: "c"})
		wantField(t, err, "issuer") // an internal address, not on the allow-list
		err = s.OIDC.CreateProvider(admin, &vigil.OIDCProvider{Slug: "m", Name: "M", Issuer: "https://m.example", ClientID: "c",
			Mappings: []vigil.OIDCMapping{{Group: "g", Organisation: "nowhere", Role: vigil.RoleViewer}, {Group: "h", Role: "boss"}}})
		wantField(t, err, "mappings")
	})

	if err := s.OIDC.CreateProvider(admin, p); err != nil {
		t.Fatal(err)
	}
	t.Run("secret sealed, never read back", func(t *testing.T) {
		if p.ClientSecret != "" || !p.HasSecret {
			t.Errorf("after create: secret %q, has %v", p.ClientSecret, p.HasSecret)
		}
		var stored string
		if err := s.QueryRow(ctx, `SELECT client_secret FROM oidc_providers WHERE id = ?`, p.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, "client-secret-789") || !strings.HasPrefix(stored, "vgs1:") {
			t.Errorf("stored secret %q", stored)
		}
		got, err := s.OIDC.FindProvider(admin, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ClientSecret != "" || !got.HasSecret || len(got.Mappings) != 3 {
			t.Errorf("read back: %+v", got)
		}
		full, err := s.OIDC.ProviderForSignIn(ctx, "idp")
		if err != nil || full.ClientSecret != "client-secret-789" {
			t.Errorf("for sign-in: %v %q", err, full.ClientSecret)
		}
		// An update without a secret keeps it; the version guards.
		got.Name = "Corp"
		if err := s.OIDC.UpdateProvider(admin, got); err != nil {
			t.Fatal(err)
		}
		if full, _ := s.OIDC.ProviderForSignIn(ctx, "idp"); full.ClientSecret != "client-secret-789" || full.Name != "Corp" {
			t.Errorf("after update: %q %q", full.Name, full.ClientSecret)
		}
		got.Version = 1
		wantCode(t, s.OIDC.UpdateProvider(admin, got), vigil.ECONFLICT)
	})

	t.Run("a sign-in under way is taken once", func(t *testing.T) {
		l := &vigil.OIDCLogin{State: "state-1", ProviderID: p.ID, Nonce: "n", Verifier: "v", Next: "/incidents"}
		if err := s.OIDC.BeginSignIn(ctx, l); err != nil {
			t.Fatal(err)
		}
		got, err := s.OIDC.TakeSignIn(ctx, "state-1")
		if err != nil || got.Nonce != "n" || got.Verifier != "v" || got.Next != "/incidents" || got.ProviderID != p.ID {
			t.Fatalf("take: %+v %v", got, err)
		}
		_, err = s.OIDC.TakeSignIn(ctx, "state-1")
		wantCode(t, err, vigil.EUNAUTHORIZED)
		_, err = s.OIDC.TakeSignIn(ctx, "never-started")
		wantCode(t, err, vigil.EUNAUTHORIZED)
	})

	t.Run("first sign-in creates the user with the mapped roles", func(t *testing.T) {
		sess, secret, err := s.OIDC.SignIn(ctx, p.ID, &vigil.OIDCIdentity{Subject: "sub-ann", Username: "ann", Name: "Ann", Email: "ann@example.org",
			Groups: []string{"soc", "north-soc", "unmapped"}}, "id-token-1")
		if err != nil {
			t.Fatal(err)
		}
		a, got, err := s.Auth.AuthenticateSession(ctx, secret)
		if err != nil || got.ID != sess.ID {
			t.Fatalf("session: %v", err)
		}
		roles := map[string]vigil.Role{}
		for _, m := range a.Memberships() {
			roles[m.Slug] = m.Role
		}
		if roles["default"] != vigil.RoleResponder || roles["north"] != vigil.RoleResponder || len(roles) != 2 {
			t.Errorf("memberships %v", roles)
		}
		prov, tok, err := s.OIDC.SignedInWith(ctx, sess.ID)
		if err != nil || prov == nil || prov.ID != p.ID || tok != "id-token-1" {
			t.Errorf("signed in with %v %q %v", prov, tok, err)
		}
		var stored string
		if err := s.QueryRow(ctx, `SELECT id_token FROM oidc_sessions WHERE session_id = ?`, sess.ID).Scan(&stored); err != nil || strings.Contains(stored, "id-token-1") {
			t.Errorf("stored ID token %q %v", stored, err)
		}
		// A password login never works for a user made this way.
		_, _, err = s.Auth.Login(ctx, "ann", "")
		wantCode(t, err, vigil.EUNAUTHORIZED)
	})

	t.Run("memberships re-evaluated at each sign-in", func(t *testing.T) {
		_, secret, err := s.OIDC.SignIn(ctx, p.ID, &vigil.OIDCIdentity{Subject: "sub-ann", Username: "ann", Groups: []string{"soc-leads"}}, "t")
		if err != nil {
			t.Fatal(err)
		}
		a, _, err := s.Auth.AuthenticateSession(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := a.RoleIn(vigil.DefaultOrganisationID); r != vigil.RoleManager || len(a.Memberships()) != 1 {
			t.Errorf("after the groups changed: %+v", a.Memberships())
		}
		events, err := s.Audit.FindAuditEvents(SystemContext(t), vigil.AuditFilter{Action: "organisation.remove_member", Limit: 10})
		if err != nil || len(events) == 0 {
			t.Errorf("the removal is not audited: %v %d", err, len(events))
		}
	})

	t.Run("no group gives a role: no user, no session", func(t *testing.T) {
		_, _, err := s.OIDC.SignIn(ctx, p.ID, &vigil.OIDCIdentity{Subject: "sub-bob", Username: "bob", Groups: []string{"marketing"}}, "t")
		wantCode(t, err, vigil.EFORBIDDEN)
		if !strings.Contains(vigil.ErrorMessage(err), "no group") {
			t.Errorf("message %q", vigil.ErrorMessage(err))
		}
		_, err = s.Users.FindUserByUsername(SystemContext(t), "bob")
		wantCode(t, err, vigil.ENOTFOUND)
		// An existing user who lost every mapped group keeps no membership
		// and gets no session.
		_, _, err = s.OIDC.SignIn(ctx, p.ID, &vigil.OIDCIdentity{Subject: "sub-ann", Username: "ann", Groups: nil}, "t")
		wantCode(t, err, vigil.EFORBIDDEN)
		u, _ := s.Users.FindUserByUsername(SystemContext(t), "ann")
		if u.Role != "" {
			t.Errorf("ann still has role %q", u.Role)
		}
	})

	t.Run("disabled users refused", func(t *testing.T) {
		u, _ := s.Users.FindUserByUsername(SystemContext(t), "ann")
		if _, err := s.Users.UpdateUser(admin, u.ID, vigil.UserUpdate{Disabled: ptr(true), Version: u.Version}); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.OIDC.SignIn(ctx, p.ID, &vigil.OIDCIdentity{Subject: "sub-ann", Username: "ann", Groups: []string{"soc"}}, "t")
		wantCode(t, err, vigil.EFORBIDDEN)
		if !strings.Contains(vigil.ErrorMessage(err), "disabled") {
			t.Errorf("message %q", vigil.ErrorMessage(err))
		}
	})

	t.Run("an existing user is linked by username; no creation unless allowed", func(t *testing.T) {
		r := vigil.ActorFromContext(responder)
		_, _, err := s.OIDC.SignIn(ctx, p.ID, &vigil.OIDCIdentity{Subject: "sub-r", Username: r.Username, Groups: []string{"soc"}}, "t")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.OIDC.FindProvider(admin, p.ID)
		got.CreateUsers = false
		if err := s.OIDC.UpdateProvider(admin, got); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.OIDC.SignIn(ctx, p.ID, &vigil.OIDCIdentity{Subject: "sub-carl", Username: "carl", Groups: []string{"soc"}}, "t")
		wantCode(t, err, vigil.EFORBIDDEN)
	})

	t.Run("the only way in for non-admins", func(t *testing.T) {
		r := vigil.ActorFromContext(responder)
		if _, _, err := s.Auth.Login(ctx, r.Username, "correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
		got, _ := s.OIDC.FindProvider(admin, p.ID)
		got.Exclusive = true
		if err := s.OIDC.UpdateProvider(admin, got); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.Auth.Login(ctx, r.Username, "correct horse battery staple")
		wantCode(t, err, vigil.EUNAUTHORIZED)
		if !strings.Contains(vigil.ErrorMessage(err), "Sign in with Corp") {
			t.Errorf("message %q", vigil.ErrorMessage(err))
		}
		a := vigil.ActorFromContext(admin)
		if _, _, err := s.Auth.Login(ctx, a.Username, "correct horse battery staple"); err != nil {
			t.Errorf("an admin's password: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := s.OIDC.DeleteProvider(admin, p.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.OIDC.ProviderForSignIn(ctx, "idp")
		wantCode(t, err, vigil.ENOTFOUND)
		r := vigil.ActorFromContext(responder)
		if _, _, err := s.Auth.Login(ctx, r.Username, "correct horse battery staple"); err != nil {
			t.Errorf("passwords work again: %v", err)
		}
	})
}
