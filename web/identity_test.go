package web_test

import (
	"context"
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
