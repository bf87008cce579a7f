package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/vigil-ir/vigil"
)

// onSite reports whether a Location stays on this site: a path, with no
// second slash or backslash after the first and nothing a browser strips,
// however often it is decoded.
func onSite(loc string) bool {
	for i := 0; i < 4; i++ {
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") ||
			strings.ContainsFunc(loc, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\' }) {
			return false
		}
		d, err := url.PathUnescape(loc)
		if err != nil {
			return false
		}
		loc = d
	}
	return true
}

// TestLoginNextStaysOnSite is the open redirect of issue 21: next=/%09/evil.example
// was followed to "/\t/evil.example", which browsers read as //evil.example.
// Neither the login page (for someone logged in) nor the login form's post
// may answer with a Location off the site.
func TestLoginNextStaysOnSite(t *testing.T) {
	e := newEnv(t)
	e.user("alice", vigil.RoleResponder)
	bad := []string{"/%09/evil.example", "/\t/evil.example", "/%0a/evil.example", "/%0d%0a/evil.example", "//evil.example",
		"/\\evil.example", "/%5cevil.example", "/%2f/evil.example", "/%252f%252fevil.example", "/ /evil.example",
		"/%20/evil.example", "/\u00a0/evil.example", "/%e2%80%83/evil.example", "https://evil.example/", "evil.example",
		"/%00/evil.example", "/%ff", "/\x7f/evil.example"}
	in := e.login("alice")
	now := time.Now()
	e.ui.Now = func() time.Time { return now }
	for _, next := range bad {
		now = now.Add(time.Minute) // past the per-address limit of logins

		resp, body := in.get("/login?next=" + url.QueryEscape(next))
		wantStatus(t, resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("GET /login?next=%q: Location %q, want /", next, loc)
		}
		// The same raw, as an attacker's link would carry it.
		req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/login", nil)
		req.URL.RawQuery = "next=" + strings.NewReplacer("\t", "%09", "\x7f", "%7f", " ", "%20", "\u00a0", "%c2%a0").Replace(next)
		resp, body = in.do(req)
		if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusSeeOther && !onSite(loc) {
			t.Errorf("GET /login?%s: Location %q leaves the site", req.URL.RawQuery, loc)
		}
		_ = body

		b := e.browser()
		resp, body = b.post("/login", url.Values{"username": {"alice"}, "password": {testPassword}, "next": {next}})
		wantStatus(t, resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("POST /login next=%q: Location %q, want /", next, loc)
		}
	}
	for _, next := range []string{"/incidents?status=triage", "/incidents/7", "/admin/users?q=al"} {
		resp, body := in.get("/login?next=" + url.QueryEscape(next))
		wantStatus(t, resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != next {
			t.Errorf("GET /login?next=%q: Location %q, want it kept", next, loc)
		}
	}
}

// ownPassword makes password the user's own choice, as if they had
// changed the one an administrator gave them (which they must, issue 21),
// so that a test may go on signing in with it.
func (e *env) ownPassword(username, password string) {
	e.t.Helper()
	u, err := e.svc.Users.FindUserByUsername(system(), username)
	if err != nil {
		e.t.Fatal(err)
	}
	self := vigil.NewContextWithActor(context.Background(), &vigil.Actor{UserID: u.ID, Username: u.Username})
	for _, step := range [][2]string{{password, password + " #2"}, {password + " #2", password}} {
		if err := e.svc.Users.SetPassword(self, u.ID, step[0], step[1]); err != nil {
			e.t.Fatal(err)
		}
	}
}

// TestSessionsPages: one's sessions, with the device and address, ended
// one by one; a password change ends the others and keeps this one; an
// admin ends all of a user's sessions, and resets a password revoking the
// user's tokens (issue 21).
func TestSessionsPages(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	alice := e.user("alice", vigil.RoleResponder)
	withUA := func(b *browser, ua string) *browser {
		b.c.Transport = uaTransport{ua}
		return b
	}
	laptop := withUA(e.browser(), "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	resp, body := laptop.post("/login", url.Values{"username": {"alice"}, "password": {testPassword}, "next": {"/account/sessions"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	phone := withUA(e.browser(), "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1")
	resp, body = phone.post("/login", url.Values{"username": {"alice"}, "password": {testPassword}, "next": {"/"}})
	wantStatus(t, resp, body, http.StatusSeeOther)

	resp, body = laptop.get("/account/sessions")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Firefox on Linux") || !strings.Contains(body, "Safari on iPhone") || strings.Count(body, "This session") != 1 ||
		!strings.Contains(body, "127.0.0.1") {
		t.Fatalf("sessions page:\n%s", excerpt(body))
	}
	list, _ := e.svc.Auth.FindSessions(system(), alice.ID)
	var phoneID int64
	for _, s := range list {
		if strings.Contains(s.UserAgent, "iPhone") {
			phoneID = s.ID
		}
	}
	resp, body = laptop.post(fmt.Sprintf("/account/sessions/%d/revoke", phoneID), url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if resp, _ := phone.get("/"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("the ended session still works: %d", resp.StatusCode)
	}

	// A password change: this session goes on, the other ends.
	phone = withUA(e.browser(), "Mozilla/5.0 (iPhone) Safari/604.1")
	phone.post("/login", url.Values{"username": {"alice"}, "password": {testPassword}, "next": {"/"}})
	laptop.get("/account")
	resp, body = laptop.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"tangerine lamp quarry"}, "confirm_password": {"tangerine lamp quarry"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if resp, body := laptop.get("/account"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Your other sessions have ended") {
		t.Errorf("after changing the password here: %d\n%s", resp.StatusCode, excerpt(body))
	}
	if resp, _ := phone.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the other session outlived the password change: %d", resp.StatusCode)
	}

	// The admin: sees the sessions, ends them all, resets with tokens revoked.
	token, err := e.svc.Auth.CreateToken(system(), alice.ID, &vigil.Token{Name: "script", Scopes: []vigil.Scope{vigil.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	ada := e.login("ada")
	path := fmt.Sprintf("/admin/users/%d/tokens", alice.ID)
	resp, body = ada.get(path)
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Firefox on Linux") || !strings.Contains(body, "Also revoke all of their API tokens") {
		t.Fatalf("the admin's page:\n%s", excerpt(body))
	}
	resp, body = ada.post(path[:len(path)-len("/tokens")]+"/password", url.Values{"new_password": {"password1234"}, "revoke_tokens": {"on"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, `id="rp-new-err"`) || !strings.Contains(body, "most common") {
		t.Errorf("a common password is refused beside the field:\n%s", excerpt(body))
	}
	resp, body = ada.post(path[:len(path)-len("/tokens")]+"/sessions/end", url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if resp, _ := laptop.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a session outlived the admin's end of all: %d", resp.StatusCode)
	}
	resp, body = ada.post(path[:len(path)-len("/tokens")]+"/password", url.Values{"new_password": {"a reset by ada today"}, "revoke_tokens": {"on"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if _, err := e.svc.Auth.AuthenticateToken(context.Background(), token); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
		t.Errorf("the token outlived a reset that revoked tokens: %v", err)
	}
	evs, _ := e.svc.Audit.FindAuditEvents(system(), vigil.AuditFilter{Action: "session.end_all", Limit: 10})
	if len(evs) != 1 {
		t.Errorf("%d session.end_all events", len(evs))
	}
}

// uaTransport sets a User-Agent on every request.
type uaTransport struct{ ua string }

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return http.DefaultTransport.RoundTrip(r)
}

// TestMFAPolicyPages: an admin requires a second factor of admins on the
// users page; an admin without one is sent to enrolment after the
// password and can reach nothing else, pages or API, until enrolled; an
// admin resets another's factors (issue 21).
func TestMFAPolicyPages(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	e.user("bob", vigil.RoleAdmin)
	rita := e.user("rita", vigil.RoleResponder)
	ada := e.login("ada")
	resp, body := ada.get("/admin/users")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, `id="mfa-policy"`) {
		t.Fatalf("no policy on the users page:\n%s", excerpt(body))
	}
	resp, body = ada.post("/admin/mfa-policy", url.Values{"mfa_policy": {"admins"}})
	wantStatus(t, resp, body, http.StatusSeeOther)

	bob := e.browser()
	resp, body = bob.post("/login", url.Values{"username": {"bob"}, "password": {testPassword}, "next": {"/incidents"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/account/mfa" {
		t.Fatalf("an admin without a factor went to %q", loc)
	}
	for _, p := range []string{"/", "/incidents", "/admin/users", "/account/sessions"} {
		if resp, _ := bob.get(p); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/mfa" {
			t.Errorf("%s before enrolling: %d to %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, body = bob.get("/account/mfa")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "requires a second factor") {
		t.Errorf("the enrolment page does not say why:\n%s", excerpt(body))
	}
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/api/v1/incidents", nil)
	if resp, body := bob.do(req); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "second factor") {
		t.Errorf("the API before enrolling: %d %s", resp.StatusCode, body)
	}
	// A responder is not covered by the admins policy.
	b := e.login("rita")
	if resp, _ := b.get("/incidents"); resp.StatusCode != http.StatusOK {
		t.Errorf("a responder under the admins policy: %d", resp.StatusCode)
	}
	// The admin's reset of someone's factors ends their sessions.
	resp, body = ada.post(fmt.Sprintf("/admin/users/%d/mfa/reset", rita.ID), url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if resp, _ := b.get("/incidents"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a session outlived the reset of the factors: %d", resp.StatusCode)
	}
	evs, _ := e.svc.Audit.FindAuditEvents(system(), vigil.AuditFilter{Action: "mfa.policy", Limit: 5})
	if len(evs) != 1 {
		t.Errorf("%d mfa.policy events", len(evs))
	}
}
