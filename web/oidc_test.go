package web_test

import (
	"context"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/sso"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// The single sign-on tests run a real OpenID provider on loopback:
// zitadel/oidc's provider package (pkg/op) with its example storage and
// login page, wrapped by idpStorage below to add a groups claim and, for
// the bad cases, to make the provider answer as a broken or hostile one
// would (an ID token for another audience, an expired one, another nonce).

// idpUser is an account at the test provider.
type idpUser struct {
	ID, Username, Name string
	Groups             []string
}

type idpUsers struct{ users map[string]*storage.User }

func (s idpUsers) GetUserByID(id string) *storage.User { return s.users[id] }
func (s idpUsers) GetUserByUsername(name string) *storage.User {
	for _, u := range s.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}
func (s idpUsers) ExampleClientID() string { return "service" }

// idpStorage is the example storage with the user's groups and
// preferred_username in the ID token, and switches for the bad cases.
type idpStorage struct {
	*storage.Storage
	groups  map[string][]string
	logout  []string
	mu      sync.Mutex
	aud     []string      // if set, the ID token's audience
	nonce   string        // if set, the ID token's nonce
	life    time.Duration // if set, the ID token's lifetime (negative: expired)
	userIDs map[string]string
	names   map[string]string
	ended   []string // the users whose sessions were ended (RP-initiated logout)
}

func (s *idpStorage) TerminateSession(ctx context.Context, userID, clientID string) error {
	s.mu.Lock()
	s.ended = append(s.ended, userID+"@"+clientID)
	s.mu.Unlock()
	return s.Storage.TerminateSession(ctx, userID, clientID)
}

func (s *idpStorage) set(fn func(*idpStorage)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *idpStorage) SetUserinfoFromRequest(ctx context.Context, ui *zoidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, token, scopes); err != nil {
		return err
	}
	ui.PreferredUsername = s.userIDs[token.GetSubject()]
	ui.Name, ui.Email = s.names[token.GetSubject()], ui.PreferredUsername+"@example.org"
	ui.AppendClaims("groups", s.groups[token.GetSubject()])
	return nil
}

type idpAuthRequest struct {
	op.AuthRequest
	s *idpStorage
}

func (a idpAuthRequest) GetAudience() []string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if a.s.aud != nil {
		return a.s.aud
	}
	return a.AuthRequest.GetAudience()
}

func (a idpAuthRequest) GetNonce() string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if a.s.nonce != "" {
		return a.s.nonce
	}
	return a.AuthRequest.GetNonce()
}

func (s *idpStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	return idpAuthRequest{AuthRequest: r, s: s}, nil
}

type idpClient struct {
	op.Client
	s *idpStorage
}

func (c idpClient) IDTokenLifetime() time.Duration {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.life != 0 {
		return c.s.life
	}
	return c.Client.IDTokenLifetime()
}

func (c idpClient) PostLogoutRedirectURIs() []string { return c.s.logout }

func (s *idpStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return idpClient{Client: c, s: s}, nil
}

// idp is a running provider.
type idp struct {
	URL   string
	store *idpStorage
}

// newIDP starts a provider on loopback that knows client "vigil" (secret
// "vigil-secret") with vigilURL's callback for slug, and the users.
func newIDP(t *testing.T, vigilURL, slug string, users ...idpUser) *idp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	us := idpUsers{users: map[string]*storage.User{}}
	st := &idpStorage{groups: map[string][]string{}, userIDs: map[string]string{}, names: map[string]string{}, logout: []string{vigilURL + "/login"}}
	for _, u := range users {
		us.users[u.ID] = &storage.User{ID: u.ID, Username: u.Username, Password: "idp password", FirstName: u.Name, LastName: "Test",
			Email: u.Username + "@example.org", EmailVerified: true}
		st.groups[u.ID], st.userIDs[u.ID], st.names[u.ID] = u.Groups, u.Username, u.Name
	}
	clients := map[string]*storage.Client{"vigil": storage.WebClient("vigil", "vigil-secret", vigilURL+"/login/oidc/"+slug+"/callback"),
		// Another application the same provider signs people in to.
		"other-app": storage.WebClient("other-app", "other-secret", otherApp)}
	st.Storage = storage.NewStorageWithClients(us, clients)
	srv.Config.Handler = exampleop.SetupServer(issuer, st, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return &idp{URL: issuer, store: st}
}

// otherApp is the other application's redirect URI; nothing listens there
// (the tests stop at the redirect).
const otherApp = "http://127.0.0.1:9/cb"

var loopback = vigil.OutboundAllow{Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// ssoEnv is newEnv whose store and pages may reach loopback (the test
// setting; an operator's is -outbound-allow).
func ssoEnv(t *testing.T) *env {
	e := newEnv(t)
	e.db.OutboundAllow = loopback
	e.ui.SSO = sso.New(loopback)
	return e
}

func (e *env) provider(p *vigil.OIDCProvider) *vigil.OIDCProvider {
	e.t.Helper()
	if err := e.svc.OIDC.CreateProvider(system(), p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

var idpFormID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// ssoClient is a person's browser without a script engine: it follows
// redirects and keeps cookies.
type ssoClient struct {
	t *testing.T
	c *http.Client
	// stopAt, if set, stops following at a redirect to a URL with this
	// prefix (to catch the provider's answer before Vigil takes it).
	stopAt string
}

func newSSOClient(t *testing.T) *ssoClient {
	jar, _ := cookiejar.New(nil)
	sc := &ssoClient{t: t}
	sc.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if sc.stopAt != "" && strings.HasPrefix(req.URL.String(), sc.stopAt) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return sc
}

func (c *ssoClient) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *ssoClient) get(u string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return c.do(req)
}

// signIn starts at Vigil's "Sign in with" link, signs in at the provider
// as username, and returns where it ended: Vigil's page, or (with
// stopAt) the redirect to Vigil's callback.
func (c *ssoClient) signIn(vigilURL, slug, username string) (*http.Response, string) {
	c.t.Helper()
	resp, body := c.get(vigilURL + "/login/oidc/" + slug + "?next=/incidents")
	return c.idpLogin(resp, body, username)
}

// idpLogin fills in the provider's login form that resp holds.
func (c *ssoClient) idpLogin(resp *http.Response, body, username string) (*http.Response, string) {
	c.t.Helper()
	m := idpFormID.FindStringSubmatch(body)
	if m == nil {
		return resp, body // Vigil refused before the provider
	}
	req, _ := http.NewRequest(http.MethodPost, resp.Request.URL.Scheme+"://"+resp.Request.URL.Host+"/login/username",
		strings.NewReader(url.Values{"id": {m[1]}, "username": {username}, "password": {"idp password"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *ssoClient) loggedIn(vigilURL string) bool {
	c.t.Helper()
	resp, err := c.c.Get(vigilURL + "/api/v1/me")
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// loginError is the message the login page shows.
var loginErrorRE = regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)

func loginError(body string) string {
	if m := loginErrorRE.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func TestSingleSignOn(t *testing.T) {
	e := ssoEnv(t)
	e.org("north", "North Trust")
	e.orgIncident("north", "North: ransomware on the file server")
	e.orgIncident(vigil.DefaultOrganisationSlug, "Default: payroll phishing")
	dora := e.user("dora", vigil.RoleResponder)
	yes := true
	if _, err := e.svc.Users.UpdateUser(system(), dora.ID, vigil.UserUpdate{Disabled: &yes, Version: dora.Version}); err != nil {
		t.Fatal(err)
	}
	provider := newIDP(t, e.ts.URL, "corp",
		idpUser{ID: "u-nina", Username: "nina", Name: "Nina", Groups: []string{"north-soc"}},
		idpUser{ID: "u-leo", Username: "leo", Name: "Leo", Groups: []string{"soc", "soc-leads"}},
		idpUser{ID: "u-mark", Username: "mark", Name: "Mark", Groups: []string{"marketing"}},
		idpUser{ID: "u-dora", Username: "dora", Name: "Dora", Groups: []string{"soc"}},
	)
	p := e.provider(&vigil.OIDCProvider{Slug: "corp", Name: "Corp ID", Issuer: provider.URL, ClientID: "vigil", ClientSecret: "vigil-secret",
		GroupsClaim: "groups", CreateUsers: true, Enabled: true, Mappings: []vigil.OIDCMapping{
			{Group: "soc", Role: vigil.RoleResponder}, {Group: "soc-leads", Role: vigil.RoleManager},
			{Group: "north-soc", Organisation: "north", Role: vigil.RoleResponder}}})

	t.Run("login page shows the button", func(t *testing.T) {
		_, body := e.browser().get("/login")
		if !strings.Contains(body, `href="/login/oidc/corp"`) || !strings.Contains(body, "Sign in with Corp ID") {
			t.Errorf("no button:\n%s", body)
		}
	})

	t.Run("group to organisation: responder in north, sees only north", func(t *testing.T) {
		c := newSSOClient(t)
		resp, body := c.signIn(e.ts.URL, "corp", "nina")
		if resp.Request.URL.Path != "/incidents" || !c.loggedIn(e.ts.URL) {
			t.Fatalf("ended at %s (%d): %s", resp.Request.URL, resp.StatusCode, loginError(body))
		}
		if !strings.Contains(body, "North: ransomware") || strings.Contains(body, "Default: payroll") {
			t.Errorf("nina's incident list:\n%s", body)
		}
		u, err := e.svc.Users.FindUserByUsername(system(), "nina")
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != "" || u.Email != "nina@example.org" || u.Name != "Nina" {
			t.Errorf("nina: %+v", u)
		}
		ms, err := e.svc.Orgs.FindMembers(system(), "north")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range ms {
			found = found || (m.Username == "nina" && m.Role == vigil.RoleResponder)
		}
		if !found {
			t.Errorf("nina is not a responder in north: %+v", ms)
		}
	})

	t.Run("group to role, highest wins", func(t *testing.T) {
		c := newSSOClient(t)
		resp, body := c.signIn(e.ts.URL, "corp", "leo")
		if !c.loggedIn(e.ts.URL) {
			t.Fatalf("not logged in (%s): %s", resp.Request.URL, loginError(body))
		}
		u, _ := e.svc.Users.FindUserByUsername(system(), "leo")
		if u.Role != vigil.RoleManager {
			t.Errorf("leo's role %q", u.Role)
		}
	})

	refused := func(t *testing.T, c *ssoClient, resp *http.Response, body, want string) {
		t.Helper()
		if c.loggedIn(e.ts.URL) {
			t.Fatalf("a session was started")
		}
		if resp.Request.URL.Host != strings.TrimPrefix(e.ts.URL, "http://") || !strings.HasPrefix(resp.Request.URL.Path, "/login") {
			t.Fatalf("ended at %s", resp.Request.URL)
		}
		if msg := loginError(body); !strings.Contains(msg, want) {
			t.Errorf("message %q, want %q", msg, want)
		}
		if !strings.Contains(body, "Sign in with Corp ID") {
			t.Errorf("the login page lost its buttons")
		}
	}

	t.Run("unknown group: no membership, no session", func(t *testing.T) {
		c := newSSOClient(t)
		resp, body := c.signIn(e.ts.URL, "corp", "mark")
		refused(t, c, resp, body, "in no group that gives access to Vigil")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d", resp.StatusCode)
		}
		if _, err := e.svc.Users.FindUserByUsername(system(), "mark"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("mark was created: %v", err)
		}
	})

	t.Run("disabled user", func(t *testing.T) {
		c := newSSOClient(t)
		resp, body := c.signIn(e.ts.URL, "corp", "dora")
		refused(t, c, resp, body, "Your Vigil account is disabled")
	})

	t.Run("wrong audience", func(t *testing.T) {
		// A real ID token from the same provider, for the same person, but
		// issued to another application: Vigil must not take it.
		c := newSSOClient(t)
		c.stopAt = otherApp
		conf := &oauth2.Config{ClientID: "other-app", ClientSecret: "other-secret", RedirectURL: otherApp, Scopes: []string{"openid"},
			Endpoint: oauth2.Endpoint{AuthURL: provider.URL + "/auth", TokenURL: provider.URL + "/oauth/token"}}
		resp, body := c.get(conf.AuthCodeURL("st", oauth2.SetAuthURLParam("nonce", "n-1")))
		resp, _ = c.idpLogin(resp, body, "leo")
		answer, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || answer.Query().Get("code") == "" {
			t.Fatalf("the provider answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		tok, err := conf.Exchange(t.Context(), answer.Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		full, err := e.svc.OIDC.ProviderForSignIn(t.Context(), "corp")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = e.ui.SSO.Verify(t.Context(), full, raw, "n-1")
		if err == nil || !strings.Contains(sso.Detail(err), "audience") {
			t.Errorf("another application's ID token: %v (%s)", err, sso.Detail(err))
		}
		// The same provider's token for Vigil, with the nonce sent, passes.
		vigilConf := *conf
		vigilConf.ClientID, vigilConf.ClientSecret, vigilConf.RedirectURL = "vigil", "vigil-secret", e.ts.URL+"/login/oidc/corp/callback"
		c = newSSOClient(t)
		c.stopAt = vigilConf.RedirectURL
		resp, body = c.get(vigilConf.AuthCodeURL("st", oauth2.SetAuthURLParam("nonce", "n-2")))
		resp, _ = c.idpLogin(resp, body, "leo")
		answer, _ = url.Parse(resp.Header.Get("Location"))
		if tok, err = vigilConf.Exchange(t.Context(), answer.Query().Get("code")); err != nil {
			t.Fatal(err)
		}
		raw, _ = tok.Extra("id_token").(string)
		if id, _, err := e.ui.SSO.Verify(t.Context(), full, raw, "n-2"); err != nil || id.Username != "leo" {
			t.Errorf("Vigil's own ID token: %+v %v", id, err)
		}
	})

	t.Run("expired token", func(t *testing.T) {
		provider.store.set(func(s *idpStorage) { s.life = -time.Hour })
		defer provider.store.set(func(s *idpStorage) { s.life = 0 })
		c := newSSOClient(t)
		resp, body := c.signIn(e.ts.URL, "corp", "leo")
		refused(t, c, resp, body, "its answer was not valid")
	})

	t.Run("another nonce", func(t *testing.T) {
		provider.store.set(func(s *idpStorage) { s.nonce = "a-nonce-vigil-never-sent" })
		defer provider.store.set(func(s *idpStorage) { s.nonce = "" })
		c := newSSOClient(t)
		resp, body := c.signIn(e.ts.URL, "corp", "leo")
		refused(t, c, resp, body, "its answer was not valid")
	})

	t.Run("state mismatch and replay", func(t *testing.T) {
		c := newSSOClient(t)
		c.stopAt = e.ts.URL + "/login/oidc/corp/callback"
		resp, _ := c.signIn(e.ts.URL, "corp", "leo")
		answer := resp.Header.Get("Location")
		if !strings.HasPrefix(answer, c.stopAt) {
			t.Fatalf("the provider answered %d %q", resp.StatusCode, answer)
		}
		// Another browser (no state cookie) is refused.
		other := newSSOClient(t)
		resp, body := other.get(answer)
		refused(t, other, resp, body, "was not started in this browser")
		// The same answer with another state is refused.
		forged := regexp.MustCompile(`state=[^&]+`).ReplaceAllString(answer, "state=forged")
		c.stopAt = ""
		resp, body = c.get(forged)
		refused(t, c, resp, body, "was not started in this browser")
		// The browser that asked gets in once...
		state, _ := url.Parse(answer)
		cookie := &http.Cookie{Name: "vigil_oidc", Value: state.Query().Get("state"), Path: "/login/oidc/"}
		base, _ := url.Parse(e.ts.URL)
		c.c.Jar.SetCookies(base.JoinPath("/login/oidc/"), []*http.Cookie{cookie})
		resp, body = c.get(answer)
		if !c.loggedIn(e.ts.URL) || resp.Request.URL.Path != "/incidents" {
			t.Fatalf("the first use was refused (%s): %s", resp.Request.URL, loginError(body))
		}
		// ...and a replay of the same answer, state cookie and all, is refused.
		replay := newSSOClient(t)
		replay.c.Jar.SetCookies(base.JoinPath("/login/oidc/"), []*http.Cookie{cookie})
		resp, body = replay.get(answer)
		refused(t, replay, resp, body, "was used already")
	})

	t.Run("provider down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "http://" + l.Addr().String()
		l.Close() // nothing listens there now
		e.provider(&vigil.OIDCProvider{Slug: "down", Name: "Down ID", Issuer: down, ClientID: "vigil", Enabled: true})
		c := newSSOClient(t)
		resp, body := c.get(e.ts.URL + "/login/oidc/down")
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(loginError(body), "Sign-in with Down ID is not available right now") {
			t.Errorf("%d %q", resp.StatusCode, loginError(body))
		}
	})

	t.Run("only way in for non-admins", func(t *testing.T) {
		e.user("pat", vigil.RoleResponder)
		e.user("ada", vigil.RoleAdmin)
		got, _ := e.svc.OIDC.FindProvider(system(), p.ID)
		got.Exclusive = true
		if err := e.svc.OIDC.UpdateProvider(system(), got); err != nil {
			t.Fatal(err)
		}
		defer func() {
			got, _ := e.svc.OIDC.FindProvider(system(), p.ID)
			got.Exclusive = false
			e.svc.OIDC.UpdateProvider(system(), got)
		}()
		resp, body := e.browser().post("/login", url.Values{"username": {"pat"}, "password": {testPassword}, "next": {"/"}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(loginError(body), "use \"Sign in with Corp ID\"") {
			t.Errorf("pat's password: %d %q", resp.StatusCode, loginError(body))
		}
		e.login("ada") // an administrator's password still works
	})

	t.Run("provider administration needs an admin", func(t *testing.T) {
		e.user("rita", vigil.RoleResponder)
		resp, _ := e.login("rita").get("/admin/sign-in")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a responder gets the admin page: %d", resp.StatusCode)
		}
		b := e.login("ada")
		resp, body := b.post("/admin/sign-in", url.Values{"name": {""}, "slug": {"bad slug!"}, "issuer": {"http://10.1.2.3/"}, "client_id": {"x"},
			"mappings": {"soc, default, boss"}, "enabled": {"1"}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("bad provider: %d", resp.StatusCode)
		}
		for _, want := range []string{"Name must be", "Slug must be", "-outbound-allow", "Unknown role"} {
			if !strings.Contains(html.UnescapeString(body), want) {
				t.Errorf("no %q beside the fields", want)
			}
		}
		resp, _ = b.post("/admin/sign-in", url.Values{"name": {"Okta"}, "slug": {"okta"}, "issuer": {"https://example.okta.com"}, "client_id": {"0oa1"},
			"client_secret": {"okta-secret"}, "scopes": {"profile email groups"}, "username_claim": {"email"}, "groups_claim": {"groups"},
			"mappings": {"Vigil Responders, default, responder\nnorth-soc, north, viewer"}, "enabled": {"1"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add Okta: %d", resp.StatusCode)
		}
		list, _ := e.svc.OIDC.FindProviders(system())
		var okta *vigil.OIDCProvider
		for _, x := range list {
			if x.Slug == "okta" {
				okta = x
			}
		}
		if okta == nil || !okta.HasSecret || len(okta.Mappings) != 2 || okta.UsernameClaim != "email" || okta.Mappings[0].Group != "Vigil Responders" {
			t.Errorf("saved: %+v", okta)
		}
	})
}
