package vigil_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ir/vigil"
)

func TestMappedRoles(t *testing.T) {
	ms := []vigil.OIDCMapping{
		{Group: "soc", Organisation: "default", Role: vigil.RoleResponder},
		{Group: "soc-leads", Organisation: "default", Role: vigil.RoleManager},
		{Group: "north-soc", Organisation: "north", Role: vigil.RoleResponder},
		{Group: "*", Organisation: "south", Role: vigil.RoleViewer},
	}
	for _, c := range []struct {
		groups []string
		want   map[string]vigil.Role
	}{
		// The most powerful role wins; every organisation named is in the
		// answer, "" where no group gives a role (a membership to remove).
		{[]string{"soc", "soc-leads"}, map[string]vigil.Role{"default": vigil.RoleManager, "north": "", "south": vigil.RoleViewer}},
		{[]string{"north-soc", "marketing"}, map[string]vigil.Role{"default": "", "north": vigil.RoleResponder, "south": vigil.RoleViewer}},
		{nil, map[string]vigil.Role{"default": "", "north": "", "south": vigil.RoleViewer}},
		// Group names are matched exactly.
		{[]string{"SOC", "soc "}, map[string]vigil.Role{"default": "", "north": "", "south": vigil.RoleViewer}},
	} {
		if diff := cmp.Diff(c.want, vigil.MappedRoles(ms, c.groups)); diff != "" {
			t.Errorf("groups %q (-want +got):\n%s", c.groups, diff)
		}
	}
}

func TestOIDCUsername(t *testing.T) {
	for in, want := range map[string]string{
		"nina":               "nina",
		"Nina@Contoso.com":   "nina.contoso.com",
		"  leo.smith ":       "leo.smith",
		"DOMAIN\\jo":         "domain.jo",
		"@weird":             "weird",
		"":                   "",
		"...":                "",
		"élodie@example.org": "lodie.example.org",
	} {
		if got := vigil.OIDCUsername(in); got != want {
			t.Errorf("OIDCUsername(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOIDCProviderValidate(t *testing.T) {
	p := &vigil.OIDCProvider{Slug: " Entra ", Name: "Entra ID", Issuer: "https://login.microsoftonline.com/t/v2.0", ClientID: "c",
		Scopes: []string{"openid profile", "email", "email"}, Mappings: []vigil.OIDCMapping{{Group: "g", Role: vigil.RoleViewer}}}
	p.Normalize()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Slug != "entra" || p.UsernameClaim != vigil.DefaultUsernameClaim || !cmp.Equal(p.Scopes, []string{"profile", "email"}) ||
		p.Mappings[0].Organisation != vigil.DefaultOrganisationSlug {
		t.Errorf("normalised: %+v", p)
	}
	p.Mappings = append(p.Mappings, vigil.OIDCMapping{Group: "g", Organisation: "default", Role: vigil.RoleAdmin})
	p.Issuer = "https://idp.example/?x=1"
	err := p.Validate()
	for _, f := range []string{"mappings", "issuer"} {
		found := false
		for _, fe := range vigil.ErrorFields(err) {
			found = found || fe.Field == f
		}
		if !found {
			t.Errorf("no problem with %s: %v", f, err)
		}
	}
}
