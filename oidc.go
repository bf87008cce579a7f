package vigil

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Single sign-on with OpenID Connect (docs/identity.md). An administrator
// registers Vigil with an identity provider (Microsoft Entra ID, Google,
// Okta, Keycloak, …) and gives Vigil the provider's issuer URL, the client
// ID and secret it was given there, and how to read the ID token: which
// claim is the username and which holds the user's groups. The login page
// then offers "Sign in with <Name>". Groups map to roles in organisations
// (OIDCMapping); a user's memberships in the organisations the mappings
// name are set again from their groups at each sign-in.

// OIDCProvider is an identity provider Vigil accepts sign-ins from.
type OIDCProvider struct {
	ID int64 `json:"id"`
	// Slug names the provider in URLs (/login/oidc/{slug}); it never changes.
	Slug string `json:"slug"`
	// Name is shown on the login page: "Sign in with <Name>".
	Name string `json:"name"`
	// Issuer is the provider's issuer URL; Vigil reads
	// {issuer}/.well-known/openid-configuration.
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret is write-only: stored sealed, never returned. On an
	// update "" keeps the stored one.
	ClientSecret string `json:"client_secret,omitempty"`
	// HasSecret says whether a client secret is stored.
	HasSecret bool `json:"has_secret"`
	// Scopes are asked for besides openid (default: profile, email).
	Scopes []string `json:"scopes"`
	// UsernameClaim is the ID-token claim that becomes the Vigil username
	// (default preferred_username).
	UsernameClaim string `json:"username_claim"`
	// GroupsClaim is the ID-token claim that lists the user's groups
	// (default groups); "" reads none.
	GroupsClaim string `json:"groups_claim"`
	// CreateUsers creates a Vigil user at a first sign-in; otherwise only
	// users that already exist (by username) may sign in this way.
	CreateUsers bool `json:"create_users"`
	// Exclusive makes this provider the only way in for users who are not
	// administrators of the install: their passwords are refused.
	Exclusive bool `json:"exclusive"`
	Enabled   bool `json:"enabled"`
	// Mappings give roles in organisations to the provider's groups.
	Mappings  []OIDCMapping `json:"mappings"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
	Version   int           `json:"version"`
}

// OIDCMapping gives the members of a provider's group a role in an
// organisation. Group "*" is every user the provider signs in.
type OIDCMapping struct {
	Group string `json:"group"`
	// Organisation is the organisation's slug; "" is the default one.
	Organisation string `json:"organisation"`
	Role         Role   `json:"role"`
}

// OIDCEveryone is the group every user of a provider is in.
const OIDCEveryone = "*"

// The defaults of a provider's claims and scopes.
const (
	DefaultUsernameClaim = "preferred_username"
	DefaultGroupsClaim   = "groups"
)

// DefaultOIDCScopes are asked for besides openid unless the provider says.
var DefaultOIDCScopes = []string{"profile", "email"}

// Normalize trims the fields and fills in the defaults.
func (p *OIDCProvider) Normalize() {
	p.Slug = strings.ToLower(strings.TrimSpace(p.Slug))
	p.Name = strings.TrimSpace(p.Name)
	p.Issuer = strings.TrimSpace(p.Issuer)
	p.ClientID = strings.TrimSpace(p.ClientID)
	p.UsernameClaim = strings.TrimSpace(p.UsernameClaim)
	p.GroupsClaim = strings.TrimSpace(p.GroupsClaim)
	if p.UsernameClaim == "" {
		p.UsernameClaim = DefaultUsernameClaim
	}
	scopes := []string{}
	for _, s := range p.Scopes {
		for _, f := range strings.Fields(s) {
			if f != "openid" && !slices.Contains(scopes, f) {
				scopes = append(scopes, f)
			}
		}
	}
	if p.Scopes == nil {
		scopes = slices.Clone(DefaultOIDCScopes)
	}
	p.Scopes = scopes
	if p.Mappings == nil {
		p.Mappings = []OIDCMapping{}
	}
	for i := range p.Mappings {
		m := &p.Mappings[i]
		m.Group = strings.TrimSpace(m.Group)
		m.Organisation = strings.ToLower(strings.TrimSpace(m.Organisation))
		if m.Organisation == "" {
			m.Organisation = DefaultOrganisationSlug
		}
	}
}

// Validate checks a provider's fields (not that the issuer answers:
// Vigil reads its discovery document at the first sign-in).
func (p *OIDCProvider) Validate() error {
	var pr Problems
	if !slugRE.MatchString(p.Slug) {
		pr.Add("slug", "Slug must be 1 to 50 lower-case letters, digits or dashes, such as entra.")
	}
	if p.Name == "" || utf8.RuneCountInString(p.Name) > 100 {
		pr.Add("name", "Name must be 1 to 100 characters; the login page shows \"Sign in with\" it.")
	}
	if u, err := url.Parse(p.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" || len(p.Issuer) > 500 {
		pr.Add("issuer", "Give the provider's issuer URL, such as https://login.microsoftonline.com/<tenant>/v2.0.")
	}
	if p.ClientID == "" || len(p.ClientID) > 500 {
		pr.Add("client_id", "Give the client ID the provider gave Vigil.")
	}
	if len(p.ClientSecret) > 2000 {
		pr.Add("client_secret", "The client secret must be at most 2000 bytes.")
	}
	for _, s := range p.Scopes {
		if len(s) > 200 || strings.ContainsAny(s, "\"\\") {
			pr.Add("scopes", "Scope %q is not valid.", s)
		}
	}
	if len(p.UsernameClaim) > 100 || len(p.GroupsClaim) > 100 {
		pr.Add("username_claim", "A claim's name must be at most 100 characters.")
	}
	if len(p.Mappings) > 500 {
		pr.Add("mappings", "At most 500 mappings.")
	}
	seen := map[[2]string]bool{}
	for _, m := range p.Mappings {
		switch {
		case m.Group == "" || utf8.RuneCountInString(m.Group) > 300:
			pr.Add("mappings", "Each mapping needs a group, at most 300 characters (or * for everyone).")
		case !m.Role.Valid():
			pr.Add("mappings", "Unknown role %q for group %q.", m.Role, m.Group)
		case seen[[2]string{m.Group, m.Organisation}]:
			pr.Add("mappings", "Group %q is mapped twice in organisation %q.", m.Group, m.Organisation)
		}
		seen[[2]string{m.Group, m.Organisation}] = true
	}
	return pr.Err()
}

// roleRank orders the roles, most powerful first.
func roleRank(r Role) int {
	if i := slices.Index(Roles, r); i >= 0 {
		return i
	}
	return len(Roles)
}

// MappedRoles returns, for each organisation the mappings name, the most
// powerful role the groups give there, or "" where they give none: the
// memberships a sign-in sets (an organisation no mapping names is left
// as it is).
func MappedRoles(mappings []OIDCMapping, groups []string) map[string]Role {
	out := map[string]Role{}
	for _, m := range mappings {
		if _, ok := out[m.Organisation]; !ok {
			out[m.Organisation] = ""
		}
		if m.Group != OIDCEveryone && !slices.Contains(groups, m.Group) {
			continue
		}
		if cur := out[m.Organisation]; cur == "" || roleRank(m.Role) < roleRank(cur) {
			out[m.Organisation] = m.Role
		}
	}
	return out
}

// OIDCIdentity is who a provider says signed in, from a validated ID token.
type OIDCIdentity struct {
	Subject  string   // the provider's stable ID for the user (sub)
	Username string   // from the username claim, as Vigil spells usernames
	Name     string   // name
	Email    string   // email
	Groups   []string // from the groups claim
}

// OIDCUsername turns a claim's value into a Vigil username: lower-case,
// with each character a username may not hold (such as @ in an e-mail
// address) made a dot, cut to 64 characters. "" if nothing is left.
func OIDCUsername(claim string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(claim)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune('.')
		}
	}
	s := strings.TrimLeft(b.String(), "._-")
	if len(s) > 64 {
		s = s[:64]
	}
	if !usernameRE.MatchString(s) {
		return ""
	}
	return s
}

// OIDCLogin is a sign-in under way: what Vigil sent the provider, kept
// until the browser comes back with the answer, and used once.
type OIDCLogin struct {
	State      string // sent in the request; only its hash is stored
	ProviderID int64
	Nonce      string // must come back in the ID token
	Verifier   string // the PKCE code verifier
	Next       string // the page to go to afterwards
	ExpiresAt  time.Time
}

// OIDCLoginLifetime bounds the time between leaving for the provider and
// coming back.
const OIDCLoginLifetime = 10 * time.Minute

// OIDCButton is a provider as the login page shows it.
type OIDCButton struct {
	Slug string
	Name string
}

// OIDCService keeps the identity providers and signs users in with them.
// The methods without an administrator's actor (SignInProviders,
// ProviderForSignIn, BeginSignIn, TakeSignIn, SignIn, SignedInWith) serve
// the login; the rest need PermUserAdmin.
type OIDCService interface {
	FindProviders(ctx context.Context) ([]*OIDCProvider, error)
	FindProvider(ctx context.Context, id int64) (*OIDCProvider, error)
	CreateProvider(ctx context.Context, p *OIDCProvider) error
	// UpdateProvider replaces a provider's settings (p.ID, p.Version).
	UpdateProvider(ctx context.Context, p *OIDCProvider) error
	DeleteProvider(ctx context.Context, id int64) error

	// SignInProviders lists the enabled providers for the login page.
	SignInProviders(ctx context.Context) ([]OIDCButton, error)
	// ProviderForSignIn returns an enabled provider with its client secret.
	ProviderForSignIn(ctx context.Context, slug string) (*OIDCProvider, error)
	// BeginSignIn keeps l until TakeSignIn or its expiry.
	BeginSignIn(ctx context.Context, l *OIDCLogin) error
	// TakeSignIn returns and forgets the sign-in started with state:
	// EUNAUTHORIZED when there is none (never started, used already or
	// expired).
	TakeSignIn(ctx context.Context, state string) (*OIDCLogin, error)
	// SignIn finds (or, if the provider allows, creates) the user the
	// provider vouched for, sets their memberships from their groups and
	// starts a session as a password login does. idToken is kept for
	// the provider's logout.
	SignIn(ctx context.Context, providerID int64, id *OIDCIdentity, idToken string) (*Session, string, error)
	// SignedInWith returns the provider and ID token a session was
	// started with, or nil for a password login.
	SignedInWith(ctx context.Context, sessionID int64) (*OIDCProvider, string, error)
}
