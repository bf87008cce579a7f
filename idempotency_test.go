package vigil_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

func TestIdempotencyScope(t *testing.T) {
	for _, c := range []struct {
		actor *vigil.Actor
		want  string
	}{
		{nil, "anonymous"},
		{&vigil.Actor{UserID: 7, Username: "ann"}, "user:7"},
		{&vigil.Actor{UserID: 7, Username: "ann", TokenID: 3}, "token:3"}, // not the user's: a script's keys are its own
		{&vigil.Actor{PartnerID: 2, Username: "sector-cert"}, "partner:2"},
		{vigil.SystemActor("cli"), "system:cli"},
	} {
		if got := vigil.IdempotencyScope(c.actor); got != c.want {
			t.Errorf("IdempotencyScope(%+v) = %q, want %q", c.actor, got, c.want)
		}
	}
}

func TestValidIdempotencyKey(t *testing.T) {
	for _, k := range []string{"a", "8e03978e-40d5-43e8-bc93-6894a57f9324", "with space", strings.Repeat("k", vigil.MaxIdempotencyKey), `"!~`} {
		if err := vigil.ValidIdempotencyKey(k); err != nil {
			t.Errorf("ValidIdempotencyKey(%q) = %v, want nil", k, err)
		}
	}
	for _, k := range []string{"", strings.Repeat("k", vigil.MaxIdempotencyKey+1), "tab\there", "new\nline", "café", "\x7f"} {
		err := vigil.ValidIdempotencyKey(k)
		if got := vigil.ErrorCode(err); got != vigil.EINVALID {
			t.Errorf("ValidIdempotencyKey(%q) code = %q, want %q", k, got, vigil.EINVALID)
		} else if f := vigil.ErrorFields(err); len(f) != 1 || f[0].Field != "Idempotency-Key" {
			t.Errorf("ValidIdempotencyKey(%q) fields = %v, want the header named", k, f)
		}
	}
}

func TestIdempotentAnswerReplays(t *testing.T) {
	responder := &vigil.Actor{UserID: 7, Username: "ann", Role: vigil.RoleResponder}
	a := &vigil.IdempotentAnswer{Fingerprint: "application/json sha256:ab", Status: 201, Grants: vigil.IdempotencyGrants(responder)}
	if err := a.Replays(responder, "application/json sha256:ab"); err != nil {
		t.Errorf("Replays(same) = %v, want nil", err)
	}
	err := a.Replays(responder, "application/json sha256:cd")
	if got, want := vigil.ErrorCode(err), vigil.EIDEMPOTENCY; got != want {
		t.Errorf("Replays(other) code = %q, want %q", got, want)
	}
	if got := vigil.HTTPStatus(vigil.ErrorCode(err)); got != 422 {
		t.Errorf("HTTPStatus = %d, want 422", got)
	}

	// Only to an actor who still holds every permission it held then.
	for _, c := range []struct {
		name  string
		actor *vigil.Actor
		want  string
	}{
		{"Promoted", &vigil.Actor{UserID: 7, Username: "ann", Role: vigil.RoleManager}, ""},
		{"Demoted", &vigil.Actor{UserID: 7, Username: "ann", Role: vigil.RoleViewer}, vigil.EFORBIDDEN},
		{"NarrowerToken", &vigil.Actor{UserID: 7, Username: "ann", Role: vigil.RoleResponder, TokenID: 3, Scopes: []vigil.Scope{vigil.ScopeRead}}, vigil.EFORBIDDEN},
		{"NoActor", nil, vigil.EFORBIDDEN},
	} {
		// Refused for its permissions even with another body: it learns nothing more.
		for _, fp := range []string{a.Fingerprint, "application/json sha256:cd"} {
			want := c.want
			if want == "" && fp != a.Fingerprint {
				want = vigil.EIDEMPOTENCY
			}
			if got := vigil.ErrorCode(a.Replays(c.actor, fp)); got != want {
				t.Errorf("%s: Replays(%q) code = %q, want %q", c.name, fp, got, want)
			}
		}
	}
	// Work on incidents is allowed per organisation: demoted in one of
	// two, a user still may create incidents in the other, but is not
	// given the answers they had there.
	const acme = 2
	member := func(inAcme vigil.Role) *vigil.Actor {
		return &vigil.Actor{UserID: 8, Username: "bo", Role: vigil.RoleResponder, Orgs: []vigil.OrgRole{
			{ID: vigil.DefaultOrganisationID, Slug: vigil.DefaultOrganisationSlug, Role: vigil.RoleResponder}, {ID: acme, Slug: "acme", Role: inAcme}}}
	}
	two := &vigil.IdempotentAnswer{Fingerprint: "application/json sha256:ab", Status: 201, Grants: vigil.IdempotencyGrants(member(vigil.RoleResponder))}
	if !slices.Contains(two.Grants, "incident:create@2") || !slices.Contains(two.Grants, "user:read") {
		t.Errorf("IdempotencyGrants = %v, want incident:create@2 and user:read among them", two.Grants)
	}
	if err := two.Replays(member(vigil.RoleManager), two.Fingerprint); err != nil {
		t.Errorf("Replays(promoted in acme) = %v, want nil", err)
	}
	demoted := member(vigil.RoleViewer)
	if !demoted.Can(vigil.PermIncidentCreate) {
		t.Fatal("the user demoted in acme should still create incidents elsewhere")
	}
	if got := vigil.ErrorCode(two.Replays(demoted, two.Fingerprint)); got != vigil.EFORBIDDEN {
		t.Errorf("Replays(demoted in acme) code = %q, want %q", got, vigil.EFORBIDDEN)
	}

	// An answer kept without grants (the public forms', anonymous) replays
	// to anyone with the key.
	anon := &vigil.IdempotentAnswer{Fingerprint: "form sha256:ef", Status: 200}
	if err := anon.Replays(nil, "form sha256:ef"); err != nil {
		t.Errorf("Replays without grants = %v, want nil", err)
	}
}

func TestAnswerLost(t *testing.T) {
	err := vigil.AnswerLost("req-1")
	if got, want := vigil.ErrorCode(err), vigil.EANSWERLOST; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
	if got := vigil.HTTPStatus(vigil.ErrorCode(err)); got != 422 {
		t.Errorf("HTTPStatus = %d, want 422", got)
	}
	if msg := vigil.ErrorMessage(err); !strings.Contains(msg, "req-1") || !strings.Contains(msg, "was applied") {
		t.Errorf("message %q, want the request ID and that it was applied", msg)
	}
}
